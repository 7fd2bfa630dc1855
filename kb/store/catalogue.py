"""The catalogue, the knowledge base's source of truth.

Documents, the paths they were found at, pages, passages (with their embeddings,
so the vector index can be rebuilt without re-embedding), entities, ingest
failures and reviewers' verdicts on theme tags, plus an FTS5 index over passage
text. Each document is written in one transaction, so a crash leaves it wholly
present or wholly absent.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from kb.store.documents import DocumentRows
from kb.store.failures import FailureRows
from kb.store.pack_rows import PackRows
from kb.store.passages import PassageRows
from kb.store.research_rows import ResearchRows
from kb.store.reviews import ReviewRows
from kb.store.schema import SCHEMA, SCHEMA_VERSION
from kb.store.sqlite_file import SQLiteFile
from kb.store.tags import ThemeRows


class Catalogue(DocumentRows, PassageRows, ThemeRows, FailureRows, ResearchRows, PackRows, ReviewRows, SQLiteFile):
    """SQLite access for the knowledge base, one module per kind of record; one connection per thread."""

    PRAGMAS = ("synchronous=NORMAL", "foreign_keys=ON")

    def __init__(self, path: Path):
        super().__init__(path)
        self.db.executescript(SCHEMA)  # idempotent, and commits on its own
        self.db.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
        self._add_redacted_pages_column()
        self._add_provenance_column()

    def _add_redacted_pages_column(self) -> None:
        """Give a store made before the failed-redaction check its column."""
        if "redacted_pages" in {r["name"] for r in self.db.execute("PRAGMA table_info(documents)")}:
            return
        try:
            self.db.execute("ALTER TABLE documents ADD COLUMN redacted_pages TEXT NOT NULL DEFAULT '[]'")
        except sqlite3.OperationalError:  # another process added it first
            pass

    def _add_provenance_column(self) -> None:
        """Give a store made before `scrkb fetch` recorded where files came from its column."""
        if "provenance" in {r["name"] for r in self.db.execute("PRAGMA table_info(documents)")}:
            return
        try:
            self.db.execute("ALTER TABLE documents ADD COLUMN provenance TEXT")
        except sqlite3.OperationalError:  # another process added it first
            pass
