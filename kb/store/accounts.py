"""Accounts, roles, login throttling and the audit log, in their own SQLite file in the store home.

Kept apart from the catalogue so that rebuilding or copying a store of reports never
carries anyone's password hash with it. Login failures are counted in this database,
not in process memory, so the limit holds across every server worker.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from werkzeug.security import check_password_hash, generate_password_hash

from kb.csv_safe import write_csv
from kb.store.sqlite_file import SQLiteFile

ROLES = ("reader", "trainer", "researcher", "admin")
# What each role may do beyond reading ("review": confirm, reject or add theme tags); admin may do everything.
PERMISSIONS = {
    "reader": frozenset({"read"}),
    "trainer": frozenset({"read", "packs"}),
    "researcher": frozenset({"read", "research", "review"}),
    "admin": frozenset({"read", "packs", "research", "review", "admin"}),
}
USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")
PASSWORD_MIN, PASSWORD_MAX = 12, 1024  # the maximum stops a megabyte password costing a megabyte of hashing
# Failed logins allowed per window, per username and per address (a shared office has one address).
WINDOW_SECONDS, FAILURES_PER_USER, FAILURES_PER_ADDRESS = 15 * 60, 5, 30
AUDIT_COLUMNS = ["at", "username", "action", "target", "detail", "address"]
# Checked when the username is unknown, so a wrong name takes as long as a wrong password.
_DUMMY_HASH = generate_password_hash("not a password anyone has")

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    user_id INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused, so an old session cannot name a new user
    username TEXT NOT NULL UNIQUE COLLATE NOCASE,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    generation INTEGER NOT NULL DEFAULT 1,
    created TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS login_failures (
    username TEXT NOT NULL COLLATE NOCASE,
    address TEXT NOT NULL,
    at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS login_failures_at ON login_failures (at);
CREATE TABLE IF NOT EXISTS audit (
    event_id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    username TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    detail TEXT NOT NULL,
    address TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_username ON audit (username);
"""


class AccountError(ValueError):
    """A refused change: an unknown user, a bad role, a weak password."""


class Throttled(Exception):
    """Too many failed logins for this name or address; try again later."""


@dataclass(frozen=True)
class User:
    user_id: int
    username: str
    role: str
    generation: int  # bumped when the password changes, ending the user's sessions
    created: str

    def can(self, permission: str) -> bool:
        return permission in PERMISSIONS[self.role]


@dataclass(frozen=True)
class AuditEvent:
    event_id: int
    at: str
    username: str
    action: str
    target: str
    detail: dict
    address: str


def _user(row: sqlite3.Row) -> User:
    return User(row["user_id"], row["username"], row["role"], row["generation"], row["created"])


class Accounts(SQLiteFile):
    """The accounts database."""

    def __init__(self, path: Path):
        super().__init__(path)
        # Password hashes and who read what: for this user only. Made 0600 before SQLite opens it,
        # since SQLite gives the -wal and -shm files the database file's mode. An existing file is
        # never opened outside SQLite: closing any descriptor of it would drop the SQLite locks this
        # process holds on it, and another process closing the database would then delete its WAL.
        try:
            os.close(os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        except FileExistsError:
            pass
        self.path.chmod(0o600)
        self.db.executescript(SCHEMA)

    # --- users -----------------------------------------------------------------------------------

    def add(self, username: str, password: str, role: str) -> User:
        username = _checked_username(username)
        hashed = generate_password_hash(_checked_password(password))
        try:
            self.db.execute(
                "INSERT INTO users (username, password_hash, role, created) VALUES (?, ?, ?, ?)",
                (username, hashed, _checked_role(role), _now()),
            )
        except sqlite3.IntegrityError:
            raise AccountError(f"There is already a user called {username!r}.") from None
        return self.by_name(username)

    def remove(self, username: str) -> None:
        if self.db.execute("DELETE FROM users WHERE username = ?", (username,)).rowcount == 0:
            raise AccountError(f"There is no user called {username!r}.")

    def set_role(self, username: str, role: str) -> User:
        self._update(username, "role = ?", _checked_role(role))
        return self.by_name(username)

    def set_password(self, username: str, password: str) -> None:
        hashed = generate_password_hash(_checked_password(password))
        self._update(username, "password_hash = ?, generation = generation + 1", hashed)

    def _update(self, username: str, assignment: str, value: str) -> None:
        if self.db.execute(f"UPDATE users SET {assignment} WHERE username = ?", (value, username)).rowcount == 0:
            raise AccountError(f"There is no user called {username!r}.")

    def list(self) -> list[User]:
        return [_user(r) for r in self.db.execute("SELECT * FROM users ORDER BY username")]

    def by_name(self, username: str) -> User | None:
        row = self.db.execute("SELECT * FROM users WHERE username = ?", (username,)).fetchone()
        return _user(row) if row else None

    def get(self, user_id: int, generation: int) -> User | None:
        """The user behind a session, if the session is still current."""
        row = self.db.execute("SELECT * FROM users WHERE user_id = ? AND generation = ?",
                              (user_id, generation)).fetchone()
        return _user(row) if row else None

    # --- logging in ------------------------------------------------------------------------------

    def authenticate(self, username: str, password: str, address: str) -> User | None:
        """The user these credentials name, or None; raises Throttled after too many failures."""
        username, password = username[:100], password[:PASSWORD_MAX]
        since = time.time() - WINDOW_SECONDS
        with self.transaction() as db:
            db.execute("DELETE FROM login_failures WHERE at < ?", (since,))
            by_user = db.execute("SELECT count(*) FROM login_failures WHERE username = ?", (username,)).fetchone()[0]
            by_address = db.execute("SELECT count(*) FROM login_failures WHERE address = ?", (address,)).fetchone()[0]
        if by_user >= FAILURES_PER_USER or by_address >= FAILURES_PER_ADDRESS:
            raise Throttled()
        row = self.db.execute("SELECT * FROM users WHERE username = ?", (username,)).fetchone()
        if check_password_hash(row["password_hash"] if row else _DUMMY_HASH, password) and row:
            self.db.execute("DELETE FROM login_failures WHERE username = ?", (username,))
            return _user(row)
        self.db.execute("INSERT INTO login_failures VALUES (?, ?, ?)", (username, address, time.time()))
        return None

    # --- the audit log ---------------------------------------------------------------------------

    def record(self, username: str, action: str, target: str = "", detail: dict | None = None,
               address: str = "") -> None:
        self.db.execute(
            "INSERT INTO audit (at, username, action, target, detail, address) VALUES (?, ?, ?, ?, ?, ?)",
            (_now(), username, action, target, json.dumps(detail or {}, sort_keys=True), address),
        )

    def events(self, username: str | None = None, action: str | None = None, limit: int = 200,
               offset: int = 0) -> list[AuditEvent]:
        """Audit events, newest first, optionally for one user or one action."""
        where, args = _event_filter(username, action)
        rows = self.db.execute(f"SELECT * FROM audit {where} ORDER BY event_id DESC LIMIT ? OFFSET ?",
                               (*args, limit, offset))
        return [AuditEvent(r["event_id"], r["at"], r["username"], r["action"], r["target"],
                           json.loads(r["detail"]), r["address"]) for r in rows]

    def count_events(self, username: str | None = None, action: str | None = None) -> int:
        where, args = _event_filter(username, action)
        return self.db.execute(f"SELECT count(*) FROM audit {where}", args).fetchone()[0]

    def prune(self, days: int, actor: str) -> tuple[int, str]:
        """Delete audit events older than `days` days and record that as an event of its own.

        Returns how many went and the cut-off (UTC). The record is written in the same
        transaction, so no pruning ever goes unaudited.
        """
        if days < 1:
            raise AccountError("Keep at least one day of audit events.")
        cutoff = (datetime.now(timezone.utc) - timedelta(days=days)).isoformat(timespec="seconds")
        with self.transaction() as db:
            deleted = db.execute("DELETE FROM audit WHERE at < ?", (cutoff,)).rowcount
            db.execute(
                "INSERT INTO audit (at, username, action, target, detail, address) VALUES (?, ?, ?, ?, ?, ?)",
                (_now(), actor, "audit_prune", "", json.dumps({"days": days, "before": cutoff, "deleted": deleted},
                                                             sort_keys=True), ""),
            )
        return deleted, cutoff


def audit_csv(events: list[AuditEvent]) -> bytes:
    """Audit events as CSV; names and targets come from users and PDFs, so formula cells are neutralised."""
    rows = [[e.at, e.username, e.action, e.target, json.dumps(e.detail, sort_keys=True), e.address] for e in events]
    return write_csv(AUDIT_COLUMNS, rows)


def _event_filter(username: str | None, action: str | None) -> tuple[str, tuple]:
    clauses = [(c, v) for c, v in (("username = ?", username), ("action = ?", action)) if v]
    return ("WHERE " + " AND ".join(c for c, _ in clauses) if clauses else ""), tuple(v for _, v in clauses)


def _checked_username(username: str) -> str:
    if not USERNAME.fullmatch(username or ""):
        raise AccountError("A username is 1 to 64 letters, digits, '.', '_', '@' or '-', starting with a letter "
                           "or digit.")
    return username


def _checked_password(password: str) -> str:
    if not PASSWORD_MIN <= len(password or "") <= PASSWORD_MAX:
        raise AccountError(f"A password must be {PASSWORD_MIN} to {PASSWORD_MAX} characters long.")
    return password


def _checked_role(role: str) -> str:
    if role not in ROLES:
        raise AccountError(f"The role must be one of {', '.join(ROLES)}.")
    return role


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
