"""Files that could not be ingested, with their reason, kept until their content changes."""

from __future__ import annotations

import sqlite3

from kb.models import Failure
from kb.store.rows import now


class FailureRows:
    db: sqlite3.Connection

    def record_failure(self, failure: Failure, sha256: str | None) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO failures VALUES (?, ?, ?, ?, ?)",
            (failure.path, sha256, failure.reason.value, failure.detail, now()),
        )

    def failure_sha(self, path: str) -> str | None:
        row = self.db.execute("SELECT sha256 FROM failures WHERE path = ?", (path,)).fetchone()
        return row["sha256"] if row else None

    def failures(self) -> list[dict]:
        rows = self.db.execute("SELECT * FROM failures ORDER BY path").fetchall()
        return [dict(r) for r in rows]
