"""One writer at a time: an operating-system file lock (flock) on `write.lock` in the store home.

Ingest, retag, reindex, migrate and restore each hold it for their whole run, so
two of them never interleave documents or race for the vector index. The kernel
releases the lock when its holder exits, however it exits (a crash or a kill),
so a stale lock cannot outlive its process and nothing depends on timing.
Readers (search, the web app, backup) never take it: SQLite's WAL lets them read
while one writer writes.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from kb.store.errors import StoreBusy, unavailable

LOCK_NAME = "write.lock"


@contextmanager
def write_lock(home: Path, what: str, wait: bool = True,
               on_wait: Callable[[str], None] | None = None) -> Iterator[None]:
    """Hold the store's write lock for the block, as `what` (e.g. "scrkb ingest").

    When another process holds it: with `wait`, call `on_wait(holder)` once and wait
    for it to finish; without, raise StoreBusy naming the holder.
    """
    path = Path(home) / LOCK_NAME
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise (unavailable(path, exc) or exc) from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(fd)
            if not wait:
                raise StoreBusy(f"{holder} is writing to the store at {home}; try again when it has finished.") from None
            if on_wait:
                on_wait(holder)
            fcntl.flock(fd, fcntl.LOCK_EX)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{what} (process {os.getpid()})\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # releases the lock


def _holder(fd: int) -> str:
    """Who holds the lock, as its holder wrote it ("scrkb ingest (process 123)")."""
    text = os.pread(fd, 200, 0).decode("utf-8", "replace").strip()
    return text or "another scrkb process"
