"""Parse PDFs in a child process, so that a hostile file can take down only the child.

pdfium, pdfminer and Tesseract run on bytes from anywhere: a crafted or broken
file can crash the C library, recurse until the stack runs out, inflate one
stream to many gigabytes, or loop. So the parent, which holds the spaCy and
embedding models and the open store, never parses: it hands one path at a time
to a worker process and waits for the ExtractedDocument to come back.

The worker is started with the 'spawn' context, a fresh interpreter: a fork of
a parent that has loaded torch would copy its threads' locks in whatever state
they were. It lives across files and is started again after it dies or is
killed. Its address space is capped (RLIMIT_AS), and the wait for it is a
deadline that starts again at every page it finishes, so a long report is not
cut short but a page that never ends is.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import resource
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from ingest.extract import extract_pdf
from kb.models import ExtractedDocument, FailureReason
from kb.pdf import PdfError
from kb.settings import Settings

_SPAWN = multiprocessing.get_context("spawn")
# A new worker imports numpy and the PDF libraries before it says it is ready.
START_TIMEOUT = 120.0
STOP_TIMEOUT = 5.0
# How often the parent looks at the worker's memory while it waits.
SAMPLE_EVERY = 0.05
# A worker killed by a signal after using this share of its memory cap ran out
# of memory: pdfium aborts when an allocation fails instead of raising.
OOM_SHARE = 0.5
_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


@dataclass(frozen=True)
class Limits:
    page_timeout: float = 120.0  # seconds to open the file, and for each page
    memory_mb: int = 1536  # the worker's address space
    max_pages: int = 2000

    @classmethod
    def from_settings(cls, settings: Settings) -> "Limits":
        return cls(settings.parse_timeout, settings.parse_memory_mb, settings.max_pages)


class ParseWorker:
    """A child process that extracts PDFs one at a time; use as a context manager."""

    def __init__(self, limits: Limits | None = None):
        self.limits = limits or Limits()
        self._process = None
        self._conn = None

    def __enter__(self) -> "ParseWorker":
        return self

    def __exit__(self, kind, value, traceback) -> None:
        if kind is None:
            self.close()
        else:  # interrupted (Ctrl-C, say): do not wait for the file in hand
            self._kill()

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None and self._process.is_alive() else None

    def extract(self, path: Path, sha256: str) -> ExtractedDocument:
        """Extract one PDF in the worker; raise PdfError with the reason when it cannot be used."""
        self._start()
        try:
            self._conn.send((str(path), sha256))
        except OSError:  # the worker died between files
            self._stop()
            self._start()
            self._conn.send((str(path), sha256))
        return self._wait()

    def close(self) -> None:
        self._stop()

    # --- the parent's side ---------------------------------------------------

    def _start(self) -> None:
        if self._process is not None and self._process.is_alive():
            return
        self._stop()
        parent_end, child_end = _SPAWN.Pipe()
        process = _SPAWN.Process(target=_serve, args=(child_end, self.limits, os.getpid()), name="scrkb-parse", daemon=True)
        with _main_module_hidden():
            process.start()
        child_end.close()  # else the parent would never see the pipe close when the child dies
        self._process, self._conn = process, parent_end
        if not parent_end.poll(START_TIMEOUT):
            self._kill()
            raise RuntimeError(f"the PDF parsing process did not start within {START_TIMEOUT:g} s")
        try:
            parent_end.recv()
        except (EOFError, OSError):
            code = self._reap()
            raise RuntimeError(f"the PDF parsing process exited while starting (exit code {code})") from None

    def _wait(self) -> ExtractedDocument:
        timeout = self.limits.page_timeout
        done, total, peak = 0, None, 0
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self._kill()
                raise PdfError(FailureReason.TIMEOUT, f"{_where(done, total)} took more than {timeout:g} s (SCRKB_PARSE_TIMEOUT)")
            if not self._conn.poll(min(remaining, SAMPLE_EVERY)):
                peak = max(peak, self._memory())
                continue
            try:
                message = self._conn.recv()
            except (EOFError, OSError):
                raise self._died(done, total, peak) from None
            kind = message[0]
            if kind == "page":
                done, total = message[1], message[2]
                deadline = time.monotonic() + timeout
            elif kind == "done":
                return message[1]
            else:
                reason = FailureReason(message[1])
                if reason is FailureReason.OUT_OF_MEMORY:
                    self._stop()  # the worker exits after a MemoryError; the next file gets a fresh one
                raise PdfError(reason, message[2])

    def _died(self, done: int, total: int | None, peak: int) -> PdfError:
        code = self._reap()
        where = _where(done, total)
        cap = self.limits.memory_mb
        killed_by = -code if code is not None and code < 0 else None
        # SIGKILL that the parent did not send comes from the kernel's out-of-memory killer.
        if peak >= OOM_SHARE * cap * 2**20 or killed_by == signal.SIGKILL:
            return PdfError(
                FailureReason.OUT_OF_MEMORY,
                f"the parser ran out of its {cap} MB (SCRKB_PARSE_MEMORY_MB) while reading {where}",
            )
        how = f"was killed by {signal.Signals(killed_by).name}" if killed_by else f"exited with status {code}"
        return PdfError(FailureReason.CRASHED, f"the parser {how} while reading {where}")

    def _memory(self) -> int:
        """The worker's address space in bytes (0 where /proc cannot tell)."""
        try:
            with open(f"/proc/{self._process.pid}/statm") as fh:
                return int(fh.read().split()[0]) * _PAGE_SIZE
        except (OSError, ValueError, IndexError):
            return 0

    def _kill(self) -> None:
        if self._process is None:
            return
        try:  # the worker leads its own process group, which holds any Tesseract it started
            os.killpg(self._process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self._reap()

    def _reap(self) -> int | None:
        process, conn = self._process, self._conn
        self._process = self._conn = None
        if conn is not None:
            conn.close()
        if process is None:
            return None
        process.join(STOP_TIMEOUT)
        if process.exitcode is None:
            process.kill()
            process.join()
        code = process.exitcode
        process.close()
        return code

    def _stop(self) -> None:
        if self._process is None:
            return
        try:
            self._conn.send(None)
        except OSError:
            pass
        self._process.join(STOP_TIMEOUT)
        if self._process.is_alive():
            self._kill()
        else:
            self._reap()


@contextlib.contextmanager
def _main_module_hidden():
    """Start the worker without running the parent's __main__ again in it.

    'spawn' re-imports the main script in the child, which fails for a script
    without an `if __name__ == "__main__":` guard or one read from stdin, and
    would load whatever the script imports (torch, say) into the worker. The
    worker needs only this module, so the main module is hidden while it starts.
    """
    main = sys.modules.get("__main__")
    if main is None:
        yield
        return
    spec = main.__dict__.get("__spec__")
    hidden = {name: main.__dict__.pop(name) for name in ("__file__",) if name in main.__dict__}
    main.__spec__ = None
    try:
        yield
    finally:
        main.__spec__ = spec
        main.__dict__.update(hidden)


def _where(done: int, total: int | None) -> str:
    if total is None:
        return "opening the file"
    if done >= total:
        return f"the document after its {total} pages"
    return f"page {done + 1} of {total}"


# --- the worker's side ---------------------------------------------------------


def _serve(conn, limits: Limits, parent: int) -> None:
    """The worker's loop: (path, sha256) in; progress, then the document or the failure, out."""
    # Ctrl-C is for the parent, which then stops the worker; a group of its own
    # lets the parent kill the worker together with a Tesseract it is waiting on.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.setpgid(0, 0)
    _die_with_parent(parent)
    _cap_memory(limits.memory_mb)
    conn.send(("ready",))
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        if job is None:
            return
        result = _extract(conn, limits, *job)
        try:
            conn.send(result)
        except MemoryError:
            conn.send(("failed", FailureReason.OUT_OF_MEMORY.value, _oom_detail(limits)))
            return
        if result[0] == "failed" and result[1] == FailureReason.OUT_OF_MEMORY.value:
            return  # the heap may be in pieces; a fresh worker takes the next file


def _extract(conn, limits: Limits, path: str, sha256: str) -> tuple:
    try:
        document = extract_pdf(
            Path(path), sha256, max_pages=limits.max_pages,
            on_page=lambda done, total: conn.send(("page", done, total)),
        )
    except PdfError as exc:
        return ("failed", exc.reason.value, exc.detail)
    except MemoryError:
        return ("failed", FailureReason.OUT_OF_MEMORY.value, _oom_detail(limits))
    except RecursionError:
        return ("failed", FailureReason.MALFORMED.value, "objects nested too deeply")
    except OSError as exc:
        return ("failed", FailureReason.UNREADABLE.value, exc.strerror or str(exc))
    except Exception as exc:  # a bug or a parser surprise: this file fails, the batch goes on
        return ("failed", FailureReason.MALFORMED.value, f"{type(exc).__name__}: {exc}")
    return ("done", document)


def _oom_detail(limits: Limits) -> str:
    return f"the parser ran out of its {limits.memory_mb} MB (SCRKB_PARSE_MEMORY_MB)"


def _cap_memory(megabytes: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = megabytes * 2**20
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    # A worker that dies on a hostile file must not leave a core file the size of its memory.
    resource.setrlimit(resource.RLIMIT_CORE, (0, resource.getrlimit(resource.RLIMIT_CORE)[1]))


def _die_with_parent(parent: int) -> None:
    """Have Linux kill the worker when the parent dies, however it dies (a SIGKILL included)."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        PR_SET_PDEATHSIG = 1
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass  # elsewhere the worker still exits when its pipe closes, after the file in hand
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(0)
