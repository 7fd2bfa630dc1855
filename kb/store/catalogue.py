"""The catalogue, the knowledge base's source of truth.

Documents, the paths they were found at, pages, passages (with their embeddings,
so the vector index can be rebuilt without re-embedding), entities, ingest
failures and reviewers' verdicts on theme tags, plus an FTS5 index over passage
text. Each document is written in one transaction, so a crash leaves it wholly
present or wholly absent.
"""

from __future__ import annotations

from pathlib import Path

from kb.store.documents import DocumentRows
from kb.store.failures import FailureRows
from kb.store.migrations import Migrated, open_schema
from kb.store.pack_rows import PackRows
from kb.store.passages import PassageRows
from kb.store.research_rows import ResearchRows
from kb.store.reviews import ReviewRows
from kb.store.sqlite_file import SQLiteFile
from kb.store.tags import ThemeRows


class Catalogue(DocumentRows, PassageRows, ThemeRows, FailureRows, ResearchRows, PackRows, ReviewRows, SQLiteFile):
    """SQLite access for the knowledge base, one module per kind of record; one connection per thread."""

    PRAGMAS = ("synchronous=NORMAL", "foreign_keys=ON")

    def __init__(self, path: Path):
        super().__init__(path)
        # A store made by an older scrkb is migrated here (after a copy is taken), or refused.
        self.migrated: Migrated | None = open_schema(self)
