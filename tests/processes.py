"""Real `scrkb` processes for tests: an ingest that halts at a named checkpoint, and waiting on events, not time."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

# A hang, not a slow machine: a run takes well under a minute even on a busy one.
HANG = 900


def scrkb() -> str:
    return shutil.which("scrkb", path=os.path.dirname(sys.executable)) or "scrkb"


def start_ingest(folder, home: Path, halt_at: str | None = None, env: dict | None = None, **popen) -> subprocess.Popen:
    """Start `scrkb ingest FOLDER --json` in a process of its own; with `halt_at` ("STAGE:N"), it halts there."""
    full_env = {**os.environ, "SCRKB_HOME": str(home), **(env or {})}
    if halt_at:
        full_env.update(SCRKB_HALT_AT=halt_at, SCRKB_HALT_FILE=str(home / "halted"))
        (home / "halted").unlink(missing_ok=True)
    popen.setdefault("stdout", subprocess.DEVNULL)
    popen.setdefault("stderr", subprocess.DEVNULL)
    return subprocess.Popen([scrkb(), "ingest", str(folder), "--json"], env=full_env, **popen)


def wait_until_halted(process: subprocess.Popen, home: Path) -> None:
    """Wait for the event of the ingest reaching its checkpoint; it must not end on its own first."""
    deadline = time.monotonic() + HANG
    while not (home / "halted").exists():
        assert process.poll() is None, "the ingest ended before reaching its checkpoint"
        assert time.monotonic() < deadline, "the ingest never reached its checkpoint"
        time.sleep(0.05)


def kill(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait()
