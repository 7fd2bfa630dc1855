"""Documents, the paths they were found at and their pages: written one whole document per transaction."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import asdict

import numpy as np

from kb.models import Document, Page, Passage
from kb.store.rows import (
    bump_generation,
    document_from_row,
    now,
    quantise,
    stored_embedding_backends,
)
from kb.store.schema import META_FIELDS


class DocumentRows:
    """The catalogue's documents, paths, store-wide meta values and statistics."""

    db: sqlite3.Connection

    def doc_for_path(self, path: str) -> tuple[str, str] | None:
        """The (doc_id, sha256) last ingested from this path, if any."""
        row = self.db.execute(
            "SELECT d.doc_id, d.sha256 FROM paths p JOIN documents d USING (doc_id) WHERE p.path = ?", (path,)
        ).fetchone()
        return (row["doc_id"], row["sha256"]) if row else None

    def doc_for_sha(self, sha256: str) -> str | None:
        row = self.db.execute("SELECT doc_id FROM documents WHERE sha256 = ?", (sha256,)).fetchone()
        return row["doc_id"] if row else None

    def write_document(
        self,
        document: Document,
        pages: list[Page],
        page_texts: list[str],
        passages: list[Passage],
        embeddings: np.ndarray,
        sentence_vectors: list[np.ndarray],
        taxonomy_version: str,
        replaces: str | None = None,
        tag_model: str = "",
        embedding_backend: str | None = None,
    ) -> None:
        """Store a whole document (and drop the one it replaces) in one transaction.

        `embedding_backend` names what made the vectors; the store remembers every one it was given.
        """
        meta = {column: getattr(document.meta, name) for name, column in META_FIELDS.items()}
        with self.transaction() as db:
            if embedding_backend:
                backends = sorted({*stored_embedding_backends(db), embedding_backend})
                db.execute("INSERT OR REPLACE INTO meta VALUES ('embedding_backends', ?)", (json.dumps(backends),))
            if replaces:
                self._delete_if_orphaned(db, replaces, ignoring=document.source_path)
            db.execute("DELETE FROM documents WHERE doc_id = ?", (document.doc_id,))
            db.execute(
                f"INSERT INTO documents (doc_id, sha256, source_path, size, page_count, pdf_metadata, "
                f"ingested_at, redacted_pages, provenance, {', '.join(meta)}) "
                f"VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, {', '.join('?' * len(meta))})",
                (
                    document.doc_id, document.sha256, document.source_path, document.size,
                    document.page_count, json.dumps(document.pdf_metadata, sort_keys=True), now(),
                    json.dumps(document.redacted_pages),
                    json.dumps(asdict(document.provenance)) if document.provenance else None, *meta.values(),
                ),
            )
            db.execute("INSERT OR REPLACE INTO paths VALUES (?, ?)", (document.source_path, document.doc_id))
            db.executemany(
                "INSERT INTO pages VALUES (?, ?, ?, ?)",
                [(document.doc_id, p.number, p.method, text) for p, text in zip(pages, page_texts)],
            )
            db.executemany(
                "INSERT INTO passages (passage_id, doc_id, seq, page_start, page_end, section, section_kind, ocr, text, embedding) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (p.passage_id, p.doc_id, p.seq, p.page_start, p.page_end, p.section, p.section_kind, int(p.ocr), p.text,
                     np.asarray(vec, dtype=np.float32).tobytes())
                    for p, vec in zip(passages, embeddings)
                ],
            )
            db.executemany(
                "INSERT INTO sentences VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (p.passage_id, i, sent.start, sent.end, " ".join(sent.lemmas), quantise(vec))
                    for p, vecs in zip(passages, sentence_vectors)
                    for i, (sent, vec) in enumerate(zip(p.sentences, vecs))
                ],
            )
            self._insert_themes(db, passages, taxonomy_version, tag_model)
            db.executemany(
                "INSERT INTO entities VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (p.passage_id, e.label, e.text, e.canonical, e.start, e.end)
                    for p in passages
                    for e in p.entities
                ],
            )
            db.execute("DELETE FROM failures WHERE path = ?", (document.source_path,))
            bump_generation(db)

    def add_path(self, path: str, doc_id: str, replaces: str | None = None) -> None:
        """Record another name for content already stored."""
        with self.transaction() as db:
            db.execute("INSERT OR REPLACE INTO paths VALUES (?, ?)", (path, doc_id))
            if replaces and replaces != doc_id:
                self._delete_if_orphaned(db, replaces, ignoring=path)
                bump_generation(db)
            db.execute("DELETE FROM failures WHERE path = ?", (path,))

    def _delete_if_orphaned(self, db: sqlite3.Connection, doc_id: str, ignoring: str) -> None:
        others = db.execute(
            "SELECT path FROM paths WHERE doc_id = ? AND path != ?", (doc_id, ignoring)
        ).fetchall()
        if others:
            db.execute("UPDATE documents SET source_path = ? WHERE doc_id = ?", (others[0]["path"], doc_id))
        else:
            db.execute("DELETE FROM documents WHERE doc_id = ?", (doc_id,))

    def embedding_backends(self) -> list[str]:
        """The backends that embedded the stored vectors (see Embedder.backend)."""
        return stored_embedding_backends(self.db)

    def meta_value(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row["value"] if row else None

    def mark_vectors_done(self, doc_id: str) -> None:
        self.db.execute("UPDATE documents SET vectors_done = 1 WHERE doc_id = ?", (doc_id,))

    def documents_missing_vectors(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT doc_id FROM documents WHERE vectors_done = 0")]

    def documents(self) -> list[Document]:
        rows = self.db.execute("SELECT * FROM documents ORDER BY ingested_at DESC, doc_id").fetchall()
        return [document_from_row(r) for r in rows]

    def document(self, doc_id: str) -> Document | None:
        row = self.db.execute("SELECT * FROM documents WHERE doc_id = ?", (doc_id,)).fetchone()
        return document_from_row(row) if row else None

    def paths_of(self, doc_id: str) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT path FROM paths WHERE doc_id = ? ORDER BY path", (doc_id,))]

    def generation(self) -> int:
        """A number that changes whenever passages are added, removed or re-tagged."""
        return int(self.meta_value("generation") or 0)

    def stats(self, not_cases: tuple[str, ...] = ()) -> dict[str, int]:
        """Counts of what the store holds; `cases` leaves out documents of the review types
        in `not_cases` (an overview of many reviews is not a case)."""
        one = lambda sql, params=(): self.db.execute(sql, params).fetchone()[0]  # noqa: E731
        marks = ",".join("?" * len(not_cases))
        return {
            "documents": one("SELECT COUNT(*) FROM documents"),
            "pages": one("SELECT COUNT(*) FROM pages"),
            "passages": one("SELECT COUNT(*) FROM passages"),
            "entities": one("SELECT COUNT(*) FROM entities"),
            "themed_passages": one("SELECT COUNT(DISTINCT passage_id) FROM passage_themes WHERE kind = 'shows'"),
            "cases": one("SELECT COUNT(DISTINCT case_name) FROM documents WHERE case_name IS NOT NULL "
                         f"AND COALESCE(review_type, '') NOT IN ({marks})", not_cases),
            "failures": one("SELECT COUNT(*) FROM failures"),
        }

    def refresh_statistics(self) -> None:
        """Let SQLite's planner know the tables' sizes: without them a filter on the documents
        (years, a case) scans every passage instead of going from the few documents it keeps."""
        self.db.execute("PRAGMA analysis_limit=2000")
        self.db.execute("ANALYZE")
