"""The store's errors as data: each says, in one sentence, which file or store and why.

SQLite, Chroma and the operating system each report a full disk, a read-only
folder or a damaged file in their own words ("disk I/O error", "(code: 13)",
ENOSPC); these classes put them in the user's, naming the file, so the command
line and the web app can stop with that sentence instead of a traceback.
"""

from __future__ import annotations

import errno
import os
import re
import tempfile
from pathlib import Path

# SQLite's primary result codes that are about the file and the disk, not the statement.
_SQLITE_CAUSES = {
    3: "permission denied",                                               # SQLITE_PERM
    8: "the file or its folder is read-only for this user",               # SQLITE_READONLY
    10: "a disk I/O error: the disk is full, a file-size limit was reached, or the disk is failing",  # SQLITE_IOERR
    11: "the file is damaged",                                            # SQLITE_CORRUPT
    13: "the disk is full",                                               # SQLITE_FULL
    14: "the file cannot be opened: its folder is missing or read-only for this user",  # SQLITE_CANTOPEN
    26: "the file is not an SQLite database",                             # SQLITE_NOTADB
}
_OS_CAUSES = {
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is used up",
    errno.EFBIG: "the file reached the size limit for this process",
    errno.EROFS: "the file system is mounted read-only",
    errno.EACCES: "the file or its folder is read-only for this user",
    errno.EPERM: "the file or its folder may not be changed (permissions, or an immutable file)",
    errno.EIO: "a disk I/O error",
}
# How Chroma's own SQLite and its Rust index files word the same causes.
_CHROMA_CAUSES = [
    (re.compile(r"disk is full|No space left|os error 28"), "the disk is full"),
    (re.compile(r"File too large|os error 27"), "the file reached the size limit for this process"),
    (re.compile(r"readonly|read-only|Read-only file system|os error 30"), "the folder is read-only for this user"),
    (re.compile(r"Permission denied|os error 13|unable to open database file"),
     "the folder is read-only for this user, or missing"),
    (re.compile(r"disk I/O error|Input/output error|os error 5"),
     "a disk I/O error: the disk is full, a file-size limit was reached, or the disk is failing"),
]


# Less free space than this on the store's disk, after a write failed for a reason its library did not
# name, is taken as the reason: Chroma reports ENOSPC as "Error in compaction: Failed to apply logs".
LOW_SPACE = 32 * 2**20


class StoreError(RuntimeError):
    """The store cannot be used as asked; str() is one sentence for the user."""


class StoreUnavailable(StoreError):
    """A file of the store could not be written or read: a full disk, a read-only folder, a damaged file."""

    def __init__(self, path: Path | str, cause: str):
        super().__init__(f"Cannot write or read {path}: {cause}.")
        self.path = str(path)
        self.cause = cause


class SchemaError(StoreError):
    """The catalogue's schema is newer than this scrkb, or cannot be migrated to it."""


class StoreBusy(StoreError):
    """Another process holds the store's write lock."""


def sqlite_cause(exc: Exception) -> str | None:
    """What an SQLite error says about the disk or the file, or None when it is about the statement."""
    code = getattr(exc, "sqlite_errorcode", None)
    if code is None:
        return None
    return _SQLITE_CAUSES.get(code & 0xFF)


def os_cause(exc: OSError) -> str | None:
    """What an OSError says about the disk or the folder, or None for any other failure."""
    return _OS_CAUSES.get(exc.errno)


def chroma_cause(message: str) -> str | None:
    """What a Chroma error's text says about the disk or the folder, or None."""
    for pattern, cause in _CHROMA_CAUSES:
        if pattern.search(message):
            return cause
    return None


def unavailable(path: Path | str, exc: BaseException) -> StoreUnavailable | None:
    """A StoreUnavailable naming `path` when `exc` is about the disk or the file; None otherwise."""
    if isinstance(exc, StoreUnavailable):
        return exc
    cause = os_cause(exc) if isinstance(exc, OSError) else sqlite_cause(exc)
    if cause is None:
        return None
    if isinstance(exc, OSError) and exc.filename:
        path = exc.filename
    return StoreUnavailable(path, cause)


def disk_problem(folder: Path | str) -> str | None:
    """Why nothing can be written in `folder` just now (a nearly full disk, a read-only folder), or None.

    For a write that failed with a message that does not say why: the folder itself is looked at.
    """
    try:
        stat = os.statvfs(folder)
    except OSError:
        return None
    free = stat.f_bavail * stat.f_frsize
    if free < LOW_SPACE:
        return f"the disk is full ({free // 1024} kB left)"
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        return os_cause(exc)
    return None
