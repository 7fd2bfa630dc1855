"""Real servers for tests: a Chroma server (`chroma run`) and `scrkb serve`, each on a free port of 127.0.0.1."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_answering(url: str, process: subprocess.Popen, timeout: float = 180) -> None:
    """Poll `url` until it answers 200; fail at once if the process exits first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the server exited with status {process.returncode} before answering {url}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"nothing answered {url} within {timeout:.0f}s")


def stop(process: subprocess.Popen, timeout: float = 60) -> int:
    """Ask a server to stop (SIGTERM) and wait; kill it if it does not. Returns its exit status."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode


@contextmanager
def chroma_run(path: Path):
    """A Chroma server persisting to `path`, for the length of the block; yields its base URL."""
    chroma = shutil.which("chroma", path=os.path.dirname(sys.executable)) or "chroma"
    port = free_port()
    log = open(path.parent / f"{path.name}-chroma.log", "wb")
    process = subprocess.Popen(
        [chroma, "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
        stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        wait_until_answering(f"http://127.0.0.1:{port}/api/v2/heartbeat", process, timeout=60)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(process)
        log.close()


@contextmanager
def silent_server():
    """A TCP server on 127.0.0.1 that accepts every connection and never answers (a hung server); yields its URL."""
    listener = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    stopping = threading.Event()

    def accept() -> None:
        while not stopping.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            held.append(conn)  # kept open, unread and unanswered

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stopping.set()
        try:
            listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() waiting in the thread
        except OSError:
            pass
        listener.close()
        for conn in held:
            conn.close()
        thread.join(timeout=10)
