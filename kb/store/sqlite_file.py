"""An SQLite file in WAL mode, opened once per thread: the catalogue and the accounts both sit on one."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from kb.store.errors import unavailable


class _Connection(sqlite3.Connection):
    """A connection whose disk and file errors name its file (a full disk, a read-only folder).

    SQLite says "disk I/O error" or "attempt to write a readonly database" without
    saying which database; every statement goes through here, so each such error
    becomes one StoreUnavailable naming the file. Errors about the statement
    itself (a constraint, a syntax error) pass through unchanged.
    """

    path: Path

    def execute(self, *args):
        try:
            return super().execute(*args)
        except sqlite3.Error as exc:
            raise (unavailable(self.path, exc) or exc) from exc

    def executemany(self, *args):
        try:
            return super().executemany(*args)
        except sqlite3.Error as exc:
            raise (unavailable(self.path, exc) or exc) from exc

    def executescript(self, *args):
        try:
            return super().executescript(*args)
        except sqlite3.Error as exc:
            raise (unavailable(self.path, exc) or exc) from exc


class SQLiteFile:
    # Extra PRAGMAs a subclass runs on each new connection.
    PRAGMAS: tuple[str, ...] = ()

    def __init__(self, path: Path):
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise (unavailable(self.path.parent, exc) or exc) from None
        self._local = threading.local()

    @property
    def db(self) -> sqlite3.Connection:
        """This thread's connection: sqlite3 connections may not be shared between threads."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            try:
                conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, factory=_Connection)
            except sqlite3.Error as exc:
                raise (unavailable(self.path, exc) or exc) from None
            conn.path = self.path
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            for pragma in self.PRAGMAS:
                conn.execute(f"PRAGMA {pragma}")
            self._local.conn = conn
        return conn

    def close(self) -> None:
        """Close this thread's connection (before a fork, which no connection may cross)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction that takes the write lock at once, so it never fails half-way for it."""
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            if db.in_transaction:  # SQLite rolls back by itself after some errors (a full disk)
                db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def copy_to(self, target: Path) -> None:
        """Write a consistent copy of the database to `target` with SQLite's online backup API.

        Read through a connection of its own, in one step: one read transaction, so the copy
        is the database as one moment saw it while other processes go on reading and writing.
        (A backup through a connection that holds a write transaction would wait for itself.)
        """
        source = self._reader()
        try:
            with sqlite3.connect(target) as copy:
                source.backup(copy)
            copy.close()
        except sqlite3.Error as exc:
            Path(target).unlink(missing_ok=True)  # never leave half a copy that looks like a backup
            raise (unavailable(target, exc) or exc) from exc
        finally:
            source.close()

    def _reader(self) -> sqlite3.Connection:
        """A connection for reading the whole file; a store in a read-only folder is read as immutable."""
        conn = sqlite3.connect(self.path, timeout=30)
        try:
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
            return conn
        except sqlite3.Error as exc:
            conn.close()
            # WAL needs its -shm file beside the database; in a read-only folder without one the
            # store was closed cleanly (nothing left in a WAL) and nobody can be writing it.
            if not self.path.exists() or Path(f"{self.path}-wal").exists():
                raise (unavailable(self.path, exc) or exc) from None
            try:
                conn = sqlite3.connect(f"{self.path.resolve().as_uri()}?immutable=1", uri=True)
                conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
                return conn
            except sqlite3.Error:
                raise (unavailable(self.path, exc) or exc) from None
