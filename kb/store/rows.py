"""Helpers shared by the catalogue's record modules: rows to records, vector packing, generation."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from dataclasses import fields
from datetime import datetime, timezone

import numpy as np

from kb.models import Document, DocumentMeta, Passage, Provenance
from kb.store.schema import META_FIELDS


PROVENANCE_FIELDS = {f.name for f in fields(Provenance)}


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def bump_generation(db: sqlite3.Connection) -> None:
    """Change the number that tells every reader passages were added, removed or re-tagged."""
    db.execute(
        "INSERT INTO meta VALUES ('generation', '1') "
        "ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1"
    )


def stored_embedding_backends(db: sqlite3.Connection) -> list[str]:
    row = db.execute("SELECT value FROM meta WHERE key = 'embedding_backends'").fetchone()
    if row:
        return json.loads(row["value"])
    # Stores from before the backend was recorded were all embedded with torch.
    return ["torch"] if db.execute("SELECT 1 FROM passages LIMIT 1").fetchone() else []


def quantise(vector: np.ndarray) -> bytes:
    """Store a unit vector as int8: a quarter of the space, cosine error under 0.01."""
    return np.clip(np.round(np.asarray(vector) * 127), -127, 127).astype(np.int8).tobytes()


def dequantise(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, dtype=np.int8).astype(np.float32) / 127.0


def chunks(items: list, size: int) -> Iterator[list]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def rows_where_in(db: sqlite3.Connection, sql: str, keys: list) -> Iterator[sqlite3.Row]:
    """The rows of `sql`, whose `{marks}` is an IN list, for all `keys`: asked 500 at a time, under
    SQLite's limit on bound parameters."""
    for chunk in chunks(keys, 500):
        yield from db.execute(sql.format(marks=",".join("?" * len(chunk))), chunk)


def document_from_row(row: sqlite3.Row) -> Document:
    meta = DocumentMeta(**{name: row[column] for name, column in META_FIELDS.items()})
    return Document(
        doc_id=row["doc_id"], sha256=row["sha256"], source_path=row["source_path"], size=row["size"],
        page_count=row["page_count"], meta=meta, pdf_metadata=json.loads(row["pdf_metadata"]),
        redacted_pages=json.loads(row["redacted_pages"]),
        provenance=_provenance(row["provenance"]),
    )


def _provenance(stored: str | None) -> Provenance | None:
    if not stored:
        return None
    record = json.loads(stored)
    return Provenance(**{k: v for k, v in record.items() if k in PROVENANCE_FIELDS})


def passage_from_row(row: sqlite3.Row) -> Passage:
    return Passage(
        passage_id=row["passage_id"], doc_id=row["doc_id"], seq=row["seq"], text=row["text"],
        page_start=row["page_start"], page_end=row["page_end"], section=row["section"],
        section_kind=row["section_kind"], ocr=bool(row["ocr"]),
    )
