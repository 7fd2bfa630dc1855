"""The one module that opens SQLite: the catalogue, the knowledge base's source of truth.

Documents, the paths they were found at, pages, passages (with their embeddings,
so the vector index can be rebuilt without re-embedding), entities and ingest
failures, plus an FTS5 index over passage text. Each document is written in one
transaction, so a crash leaves it wholly present or wholly absent.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from kb.models import Document, DocumentMeta, EntitySpan, Evidence, Failure, Page, Passage, Sentence, ThemeMatch
from kb.sqlite_file import SQLiteFile

SCHEMA_VERSION = 1
# The keyword index's tokenizer; kb.term_statistics tokenises queries with the same one.
FTS_TOKENIZER = "porter unicode61 remove_diacritics 2"
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
    doc_id TEXT PRIMARY KEY,
    sha256 TEXT NOT NULL UNIQUE,
    source_path TEXT NOT NULL,
    size INTEGER NOT NULL,
    page_count INTEGER NOT NULL,
    title TEXT, review_type TEXT, case_name TEXT, area TEXT, nation TEXT,
    year_published INTEGER, year_of_incident INTEGER,
    catalogue_id TEXT, url TEXT, publisher TEXT, author TEXT, meta_source TEXT,
    pdf_metadata TEXT NOT NULL DEFAULT '{}',
    vectors_done INTEGER NOT NULL DEFAULT 0,
    ingested_at TEXT NOT NULL,
    redacted_pages TEXT NOT NULL DEFAULT '[]'
);
CREATE TABLE IF NOT EXISTS paths (
    path TEXT PRIMARY KEY,
    doc_id TEXT NOT NULL REFERENCES documents(doc_id) ON DELETE CASCADE
);
CREATE TABLE IF NOT EXISTS pages (
    doc_id TEXT NOT NULL REFERENCES documents(doc_id) ON DELETE CASCADE,
    number INTEGER NOT NULL,
    method TEXT NOT NULL,
    text TEXT NOT NULL,
    PRIMARY KEY (doc_id, number)
);
CREATE TABLE IF NOT EXISTS passages (
    rowid INTEGER PRIMARY KEY,
    passage_id TEXT NOT NULL UNIQUE,
    doc_id TEXT NOT NULL REFERENCES documents(doc_id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    page_start INTEGER NOT NULL,
    page_end INTEGER NOT NULL,
    section TEXT,
    section_kind TEXT,
    ocr INTEGER NOT NULL DEFAULT 0,
    text TEXT NOT NULL,
    embedding BLOB
);
CREATE INDEX IF NOT EXISTS passages_doc ON passages(doc_id, seq);
-- Filters reach passages by id (themes, entities) and need only their document and section.
CREATE INDEX IF NOT EXISTS passages_filter ON passages(passage_id, doc_id, section_kind);
CREATE TABLE IF NOT EXISTS entities (
    passage_id TEXT NOT NULL REFERENCES passages(passage_id) ON DELETE CASCADE,
    label TEXT NOT NULL,
    text TEXT NOT NULL,
    canonical TEXT,
    start INTEGER NOT NULL,
    end INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS entities_passage ON entities(passage_id);
CREATE INDEX IF NOT EXISTS entities_label ON entities(label, canonical);
CREATE TABLE IF NOT EXISTS sentences (
    passage_id TEXT NOT NULL REFERENCES passages(passage_id) ON DELETE CASCADE,
    idx INTEGER NOT NULL,
    start INTEGER NOT NULL,
    end INTEGER NOT NULL,
    lemmas TEXT NOT NULL,
    embedding BLOB NOT NULL,
    PRIMARY KEY (passage_id, idx)
);
CREATE TABLE IF NOT EXISTS passage_themes (
    passage_id TEXT NOT NULL REFERENCES passages(passage_id) ON DELETE CASCADE,
    theme_id TEXT NOT NULL,
    score REAL NOT NULL,
    kind TEXT NOT NULL,
    evidence TEXT NOT NULL,
    taxonomy_version TEXT NOT NULL,
    PRIMARY KEY (passage_id, theme_id)
);
CREATE INDEX IF NOT EXISTS passage_themes_theme ON passage_themes(theme_id, kind, score);
CREATE TABLE IF NOT EXISTS failures (
    path TEXT PRIMARY KEY,
    sha256 TEXT,
    reason TEXT NOT NULL,
    detail TEXT NOT NULL,
    failed_at TEXT NOT NULL
);
CREATE VIRTUAL TABLE IF NOT EXISTS passages_fts USING fts5(
    text, content='passages', content_rowid='rowid',
    tokenize='{FTS_TOKENIZER}'
);
CREATE VIRTUAL TABLE IF NOT EXISTS passages_vocab USING fts5vocab(passages_fts, 'row');
CREATE TRIGGER IF NOT EXISTS passages_ai AFTER INSERT ON passages BEGIN
    INSERT INTO passages_fts(rowid, text) VALUES (new.rowid, new.text);
END;
CREATE TRIGGER IF NOT EXISTS passages_ad AFTER DELETE ON passages BEGIN
    INSERT INTO passages_fts(passages_fts, rowid, text) VALUES ('delete', old.rowid, old.text);
END;
-- learning packs (kb/packs.py): a pack item names a passage by id, with no foreign key,
-- because re-ingesting a changed report replaces its passages and must neither fail
-- nor silently empty a trainer's pack.
CREATE TABLE IF NOT EXISTS packs (
    pack_id INTEGER PRIMARY KEY AUTOINCREMENT,
    title TEXT NOT NULL,
    introduction TEXT NOT NULL DEFAULT '',
    created TEXT NOT NULL,
    updated TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS pack_items (
    item_id INTEGER PRIMARY KEY AUTOINCREMENT,
    pack_id INTEGER NOT NULL REFERENCES packs(pack_id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    passage_id TEXT NOT NULL,
    heading TEXT NOT NULL DEFAULT '',
    note TEXT NOT NULL DEFAULT '',
    UNIQUE (pack_id, passage_id)
);
CREATE INDEX IF NOT EXISTS pack_items_order ON pack_items(pack_id, position);
""".replace("{FTS_TOKENIZER}", FTS_TOKENIZER)
META_FIELDS = {
    "title": "title", "review_type": "review_type", "case": "case_name", "area": "area",
    "nation": "nation", "year_published": "year_published", "year_of_incident": "year_of_incident",
    "catalogue_id": "catalogue_id", "url": "url", "publisher": "publisher", "author": "author",
    "source": "meta_source",
}


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class Catalogue(SQLiteFile):
    """SQLite access for the knowledge base; one connection per thread."""

    PRAGMAS = ("synchronous=NORMAL", "foreign_keys=ON")

    def __init__(self, path: Path):
        super().__init__(path)
        self.db.executescript(SCHEMA)  # idempotent, and commits on its own
        self.db.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
        self._add_redacted_pages_column()

    def _add_redacted_pages_column(self) -> None:
        """Give a store made before the failed-redaction check its column."""
        if "redacted_pages" in {r["name"] for r in self.db.execute("PRAGMA table_info(documents)")}:
            return
        try:
            self.db.execute("ALTER TABLE documents ADD COLUMN redacted_pages TEXT NOT NULL DEFAULT '[]'")
        except sqlite3.OperationalError:  # another process added it first
            pass

    # --- documents and paths -------------------------------------------------

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
        embedding_backend: str | None = None,
    ) -> None:
        """Store a whole document (and drop the one it replaces) in one transaction.

        `embedding_backend` names what made the vectors; the store remembers every one it was given.
        """
        meta = {column: getattr(document.meta, name) for name, column in META_FIELDS.items()}
        with self.transaction() as db:
            if embedding_backend:
                backends = sorted({*self._embedding_backends(db), embedding_backend})
                db.execute("INSERT OR REPLACE INTO meta VALUES ('embedding_backends', ?)", (json.dumps(backends),))
            if replaces:
                self._delete_if_orphaned(db, replaces, ignoring=document.source_path)
            db.execute("DELETE FROM documents WHERE doc_id = ?", (document.doc_id,))
            db.execute(
                f"INSERT INTO documents (doc_id, sha256, source_path, size, page_count, pdf_metadata, "
                f"ingested_at, redacted_pages, {', '.join(meta)}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, {', '.join('?' * len(meta))})",
                (
                    document.doc_id, document.sha256, document.source_path, document.size,
                    document.page_count, json.dumps(document.pdf_metadata, sort_keys=True), _now(),
                    json.dumps(document.redacted_pages), *meta.values(),
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
            self._insert_themes(db, passages, taxonomy_version)
            db.executemany(
                "INSERT INTO entities VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (p.passage_id, e.label, e.text, e.canonical, e.start, e.end)
                    for p in passages
                    for e in p.entities
                ],
            )
            db.execute("DELETE FROM failures WHERE path = ?", (document.source_path,))
            self._bump(db)

    def add_path(self, path: str, doc_id: str, replaces: str | None = None) -> None:
        """Record another name for content already stored."""
        with self.transaction() as db:
            db.execute("INSERT OR REPLACE INTO paths VALUES (?, ?)", (path, doc_id))
            if replaces and replaces != doc_id:
                self._delete_if_orphaned(db, replaces, ignoring=path)
                self._bump(db)
            db.execute("DELETE FROM failures WHERE path = ?", (path,))

    def _delete_if_orphaned(self, db: sqlite3.Connection, doc_id: str, ignoring: str) -> None:
        others = db.execute(
            "SELECT path FROM paths WHERE doc_id = ? AND path != ?", (doc_id, ignoring)
        ).fetchall()
        if others:
            db.execute("UPDATE documents SET source_path = ? WHERE doc_id = ?", (others[0]["path"], doc_id))
        else:
            db.execute("DELETE FROM documents WHERE doc_id = ?", (doc_id,))

    @staticmethod
    def _insert_themes(db: sqlite3.Connection, passages: list[Passage], taxonomy_version: str) -> None:
        db.executemany(
            "INSERT OR REPLACE INTO passage_themes VALUES (?, ?, ?, ?, ?, ?)",
            [
                (p.passage_id, m.theme_id, m.score, m.kind,
                 json.dumps([[e.start, e.end] for e in m.evidence]), taxonomy_version)
                for p in passages
                for m in p.themes
            ],
        )

    def replace_themes(self, passages: list[Passage], taxonomy_version: str, first: bool) -> None:
        """Store re-computed themes; the first batch of a retag clears the old ones."""
        with self.transaction() as db:
            if first:
                db.execute("DELETE FROM passage_themes")
            self._insert_themes(db, passages, taxonomy_version)
            db.execute("INSERT OR REPLACE INTO meta VALUES ('taxonomy_version', ?)", (taxonomy_version,))
            self._bump(db)

    def iter_for_tagging(self, batch: int = 256) -> Iterator[tuple[list[Passage], np.ndarray, list[np.ndarray]]]:
        """Yield stored passages with their sentences, passage vectors and sentence vectors."""
        last = 0
        while True:
            rows = self.db.execute(
                "SELECT rowid, * FROM passages WHERE rowid > ? ORDER BY rowid LIMIT ?", (last, batch)
            ).fetchall()
            if not rows:
                return
            last = rows[-1]["rowid"]
            passages = [_passage(r) for r in rows]
            vectors = np.stack([np.frombuffer(r["embedding"], dtype=np.float32) for r in rows])
            by_id = {p.passage_id: p for p in passages}
            sentence_vectors: dict[str, list[np.ndarray]] = {p.passage_id: [] for p in passages}
            marks = ",".join("?" * len(by_id))
            for r in self.db.execute(
                f"SELECT * FROM sentences WHERE passage_id IN ({marks}) ORDER BY passage_id, idx", list(by_id)
            ):
                by_id[r["passage_id"]].sentences.append(Sentence(r["start"], r["end"], tuple(r["lemmas"].split())))
                sentence_vectors[r["passage_id"]].append(dequantise(r["embedding"]))
            yield passages, vectors, [
                np.stack(sentence_vectors[p.passage_id]) if sentence_vectors[p.passage_id] else np.zeros((0, vectors.shape[1]), np.float32)
                for p in passages
            ]

    def themes_of(self, passage_ids: Iterable[str]) -> dict[str, list[ThemeMatch]]:
        ids = list(passage_ids)
        found: dict[str, list[ThemeMatch]] = {pid: [] for pid in ids}
        texts = {}
        for chunk in _chunks(ids, 500):
            marks = ",".join("?" * len(chunk))
            for r in self.db.execute(
                f"SELECT t.*, p.text FROM passage_themes t JOIN passages p USING (passage_id) "
                f"WHERE passage_id IN ({marks}) ORDER BY t.kind DESC, t.score DESC", chunk
            ):
                texts[r["passage_id"]] = r["text"]
                evidence = [Evidence(r["text"][a:b], a, b) for a, b in json.loads(r["evidence"])]
                found[r["passage_id"]].append(ThemeMatch(r["theme_id"], r["score"], r["kind"], evidence))
        return found

    def theme_counts(self) -> dict[str, dict[str, int]]:
        """Passages and documents per theme that show it, and passages that only name it."""
        counts: dict[str, dict[str, int]] = {}
        for r in self.db.execute(
            "SELECT t.theme_id, t.kind, COUNT(*) AS passages, COUNT(DISTINCT p.doc_id) AS documents "
            "FROM passage_themes t JOIN passages p USING (passage_id) GROUP BY t.theme_id, t.kind"
        ):
            entry = counts.setdefault(r["theme_id"], {"shows": 0, "names": 0, "documents": 0})
            entry[r["kind"]] = r["passages"]
            if r["kind"] == "shows":
                entry["documents"] = r["documents"]
        return counts

    def document_theme_counts(self, doc_id: str) -> dict[str, int]:
        """Passages of one document that show each theme, most first."""
        rows = self.db.execute(
            "SELECT t.theme_id, COUNT(*) FROM passage_themes t JOIN passages p USING (passage_id) "
            "WHERE p.doc_id = ? AND t.kind = 'shows' GROUP BY t.theme_id ORDER BY COUNT(*) DESC, t.theme_id",
            (doc_id,),
        )
        return {r[0]: r[1] for r in rows}

    def document_entities(self, doc_id: str, labels: tuple[str, ...] = ("AGENCY", "ROLE")) -> dict[str, dict[str, int]]:
        """How often each agency and role is named in a document, by label then canonical name."""
        marks = ",".join("?" * len(labels))
        rows = self.db.execute(
            f"SELECT e.label, COALESCE(e.canonical, e.text), COUNT(*) FROM entities e JOIN passages p USING (passage_id) "
            f"WHERE p.doc_id = ? AND e.label IN ({marks}) GROUP BY 1, 2 ORDER BY 3 DESC, 2",
            (doc_id, *labels),
        )
        found: dict[str, dict[str, int]] = {label: {} for label in labels}
        for label, name, count in rows:
            found[label][name] = count
        return found

    def strongest_passages(self, theme_id: str, per_document: int, limit: int) -> list[tuple[str, float]]:
        """The highest-scoring passages that show a theme, at most `per_document` from each report."""
        rows = self.db.execute(
            "SELECT passage_id, score FROM ("
            " SELECT t.passage_id, t.score, ROW_NUMBER() OVER (PARTITION BY p.doc_id ORDER BY t.score DESC) AS n"
            " FROM passage_themes t JOIN passages p USING (passage_id) WHERE t.theme_id = ? AND t.kind = 'shows')"
            " WHERE n <= ? ORDER BY score DESC, passage_id LIMIT ?",
            (theme_id, per_document, limit),
        )
        return [(r[0], r[1]) for r in rows]

    def embedding_backends(self) -> list[str]:
        """The backends that embedded the stored vectors (see Embedder.backend)."""
        return self._embedding_backends(self.db)

    @staticmethod
    def _embedding_backends(db: sqlite3.Connection) -> list[str]:
        row = db.execute("SELECT value FROM meta WHERE key = 'embedding_backends'").fetchone()
        if row:
            return json.loads(row["value"])
        # Stores from before the backend was recorded were all embedded with torch.
        return ["torch"] if db.execute("SELECT 1 FROM passages LIMIT 1").fetchone() else []

    def meta_value(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row["value"] if row else None

    def mark_vectors_done(self, doc_id: str) -> None:
        self.db.execute("UPDATE documents SET vectors_done = 1 WHERE doc_id = ?", (doc_id,))

    def documents_missing_vectors(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT doc_id FROM documents WHERE vectors_done = 0")]

    def documents(self) -> list[Document]:
        rows = self.db.execute("SELECT * FROM documents ORDER BY ingested_at DESC, doc_id").fetchall()
        return [_document(r) for r in rows]

    def document(self, doc_id: str) -> Document | None:
        row = self.db.execute("SELECT * FROM documents WHERE doc_id = ?", (doc_id,)).fetchone()
        return _document(row) if row else None

    def paths_of(self, doc_id: str) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT path FROM paths WHERE doc_id = ? ORDER BY path", (doc_id,))]

    # --- failures ------------------------------------------------------------

    def record_failure(self, failure: Failure, sha256: str | None) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO failures VALUES (?, ?, ?, ?, ?)",
            (failure.path, sha256, failure.reason.value, failure.detail, _now()),
        )

    def failure_sha(self, path: str) -> str | None:
        row = self.db.execute("SELECT sha256 FROM failures WHERE path = ?", (path,)).fetchone()
        return row["sha256"] if row else None

    def failures(self) -> list[dict]:
        rows = self.db.execute("SELECT * FROM failures ORDER BY path").fetchall()
        return [dict(r) for r in rows]

    # --- passages --------------------------------------------------------------

    def passages_of(self, doc_id: str) -> list[Passage]:
        rows = self.db.execute("SELECT * FROM passages WHERE doc_id = ? ORDER BY seq", (doc_id,)).fetchall()
        return self._with_entities([_passage(r) for r in rows])

    def passages_by_id(self, passage_ids: Iterable[str]) -> dict[str, Passage]:
        ids = list(passage_ids)
        found: dict[str, Passage] = {}
        for chunk in _chunks(ids, 500):
            marks = ",".join("?" * len(chunk))
            for row in self.db.execute(f"SELECT * FROM passages WHERE passage_id IN ({marks})", chunk):
                found[row["passage_id"]] = _passage(row)
        self._with_entities(list(found.values()))
        return found

    def passage_ids_of(self, doc_id: str) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT passage_id FROM passages WHERE doc_id = ?", (doc_id,))]

    def all_passage_ids(self) -> set[str]:
        return {r[0] for r in self.db.execute("SELECT passage_id FROM passages")}

    def iter_vectors(self, doc_id: str | None = None) -> Iterator[tuple[str, np.ndarray, dict]]:
        """Yield (passage_id, embedding, filterable metadata) for the vector index."""
        sql = (
            "SELECT p.passage_id, p.embedding, p.doc_id, p.page_start, p.section_kind, d.review_type, "
            "d.year_published, d.case_name, d.nation FROM passages p JOIN documents d USING (doc_id)"
        )
        args: tuple = ()
        if doc_id:
            sql += " WHERE p.doc_id = ?"
            args = (doc_id,)
        themes = self._shown_themes(doc_id)
        for row in self.db.execute(sql + " ORDER BY p.rowid", args):
            meta = {
                "themes": themes.get(row["passage_id"]),
                "doc_id": row["doc_id"], "page": row["page_start"], "section_kind": row["section_kind"],
                "review_type": row["review_type"], "year": row["year_published"], "case": row["case_name"],
                "nation": row["nation"],
            }
            yield row["passage_id"], np.frombuffer(row["embedding"], dtype=np.float32), {
                k: v for k, v in meta.items() if v is not None
            }

    def _shown_themes(self, doc_id: str | None) -> dict[str, list[str]]:
        sql = "SELECT t.passage_id, t.theme_id FROM passage_themes t JOIN passages p USING (passage_id) WHERE t.kind = 'shows'"
        rows = self.db.execute(sql + (" AND p.doc_id = ?" if doc_id else ""), (doc_id,) if doc_id else ())
        shown: dict[str, list[str]] = {}
        for r in rows:
            shown.setdefault(r["passage_id"], []).append(r["theme_id"])
        return {pid: sorted(ids) for pid, ids in shown.items()}

    def keyword_search(
        self, fts_query: str, limit: int, where: str | None = None, params: list | None = None
    ) -> list[tuple[str, float]]:
        """Rank passages by BM25 for an FTS5 query within a filter: (passage_id, score), higher is better."""
        if where is None:
            return [(pid, score) for _, pid, score in self.keyword_ranking(fts_query, limit)]
        rows = self.db.execute(
            "SELECT p.passage_id, bm25(passages_fts) AS rank FROM passages_fts "
            "JOIN passages p ON p.rowid = passages_fts.rowid JOIN documents d ON d.doc_id = p.doc_id "
            f"WHERE passages_fts MATCH ? AND {where} ORDER BY rank LIMIT ?", (fts_query, *(params or []), limit),
        )
        return [(r[0], -r[1]) for r in rows]

    def keyword_ranking(self, fts_query: str, limit: int) -> list[tuple[int, str, float]]:
        """The unfiltered BM25 ranking as (rowid, passage_id, score), best first.

        Ranked inside the index, and only the rows kept are joined: joining every matching
        row first costs a third of the query on common words.
        """
        rows = self.db.execute(
            "SELECT f.rowid, p.passage_id, f.rank FROM (SELECT rowid, rank FROM passages_fts "
            "WHERE passages_fts MATCH ? ORDER BY rank LIMIT ?) f JOIN passages p ON p.rowid = f.rowid "
            "ORDER BY f.rank", (fts_query, limit),
        )
        return [(r[0], r[1], -r[2]) for r in rows]

    def refresh_statistics(self) -> None:
        """Let SQLite's planner know the tables' sizes: without them a filter on the documents
        (years, a case) scans every passage instead of going from the few documents it keeps."""
        self.db.execute("PRAGMA analysis_limit=2000")
        self.db.execute("ANALYZE")

    def passage_count(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM passages").fetchone()[0]

    def term_passage_counts(self) -> dict[str, int]:
        """How many passages hold each (stemmed) word of the keyword index."""
        return {r[0]: r[1] for r in self.db.execute("SELECT term, doc FROM passages_vocab")}

    def filtered_rowids(self, where: str, params: list) -> np.ndarray:
        """The rowids of the passages a filter keeps, ascending."""
        # Sorted here, not by ORDER BY: asked for rowid order, SQLite scans the whole passages
        # table (embeddings and all) instead of going from the documents through passages_doc.
        rows = self.db.execute(f"SELECT p.rowid FROM passages p JOIN documents d ON d.doc_id = p.doc_id WHERE {where}", params)
        return np.sort(np.fromiter((r[0] for r in rows), dtype=np.int64))

    def generation(self) -> int:
        """A number that changes whenever passages are added, removed or re-tagged."""
        return int(self.meta_value("generation") or 0)

    @staticmethod
    def _bump(db: sqlite3.Connection) -> None:
        db.execute(
            "INSERT INTO meta VALUES ('generation', '1') "
            "ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1"
        )

    def embedding_matrix(self) -> tuple[list[str], np.ndarray, list[str], list[str | None], np.ndarray]:
        """Every passage vector in one matrix, with each row's passage id, document, case and rowid."""
        rows = self.db.execute(
            "SELECT p.passage_id, p.embedding, p.doc_id, d.case_name, p.rowid FROM passages p "
            "JOIN documents d ON d.doc_id = p.doc_id ORDER BY p.rowid"
        ).fetchall()
        if not rows:
            return [], np.zeros((0, 0), dtype=np.float32), [], [], np.zeros(0, dtype=np.int64)
        matrix = np.frombuffer(b"".join(r["embedding"] for r in rows), dtype=np.float32).reshape(len(rows), -1)
        rowids = np.fromiter((r["rowid"] for r in rows), dtype=np.int64, count=len(rows))
        return [r["passage_id"] for r in rows], matrix, [r["doc_id"] for r in rows], [r["case_name"] for r in rows], rowids

    def sentence_vectors(self, passage_ids: list[str]) -> dict[str, list[tuple[int, int, np.ndarray]]]:
        found: dict[str, list[tuple[int, int, np.ndarray]]] = {pid: [] for pid in passage_ids}
        for chunk in _chunks(passage_ids, 500):
            marks = ",".join("?" * len(chunk))
            for r in self.db.execute(
                f"SELECT passage_id, start, end, embedding FROM sentences WHERE passage_id IN ({marks}) "
                "ORDER BY passage_id, idx", chunk
            ):
                found[r["passage_id"]].append((r["start"], r["end"], dequantise(r["embedding"])))
        return found

    def facets(self, passage_ids: list[str]) -> dict[str, dict[str, int]]:
        """How many of these passages fall under each theme, case, year and review type."""
        result: dict[str, dict[str, int]] = {"theme": {}, "case": {}, "year": {}, "review_type": {}}
        for chunk in _chunks(passage_ids, 500):
            marks = ",".join("?" * len(chunk))
            for r in self.db.execute(
                f"SELECT theme_id, COUNT(*) FROM passage_themes WHERE kind = 'shows' AND passage_id IN ({marks}) "
                "GROUP BY theme_id", chunk
            ):
                result["theme"][r[0]] = result["theme"].get(r[0], 0) + r[1]
            for column, name in (("d.case_name", "case"), ("d.year_published", "year"), ("d.review_type", "review_type")):
                for r in self.db.execute(
                    f"SELECT {column}, COUNT(*) FROM passages p JOIN documents d ON d.doc_id = p.doc_id "
                    f"WHERE p.passage_id IN ({marks}) AND {column} IS NOT NULL GROUP BY {column}", chunk
                ):
                    key = str(r[0])
                    result[name][key] = result[name].get(key, 0) + r[1]
        return {name: dict(sorted(counts.items(), key=lambda kv: -kv[1])) for name, counts in result.items()}

    def _with_entities(self, passages: list[Passage]) -> list[Passage]:
        """Attach each passage's entities and themes."""
        by_id = {p.passage_id: p for p in passages}
        for pid, themes in self.themes_of(by_id).items():
            by_id[pid].themes = themes
        for chunk in _chunks(list(by_id), 500):
            marks = ",".join("?" * len(chunk))
            for r in self.db.execute(
                f"SELECT * FROM entities WHERE passage_id IN ({marks}) ORDER BY start", chunk
            ):
                by_id[r["passage_id"]].entities.append(
                    EntitySpan(r["label"], r["text"], r["start"], r["end"], r["canonical"])
                )
        return passages

    def stats(self) -> dict[str, int]:
        one = lambda sql: self.db.execute(sql).fetchone()[0]  # noqa: E731
        return {
            "documents": one("SELECT COUNT(*) FROM documents"),
            "pages": one("SELECT COUNT(*) FROM pages"),
            "passages": one("SELECT COUNT(*) FROM passages"),
            "entities": one("SELECT COUNT(*) FROM entities"),
            "themed_passages": one("SELECT COUNT(DISTINCT passage_id) FROM passage_themes WHERE kind = 'shows'"),
            "cases": one("SELECT COUNT(DISTINCT case_name) FROM documents WHERE case_name IS NOT NULL"),
            "failures": one("SELECT COUNT(*) FROM failures"),
        }

    # --- analytics: research counts, evidence and chronologies ---------------------
    # Read-only queries for kb/analytics.py, kb/chronology.py and kb/exports.py.
    # Every result is ordered explicitly, so the same store always exports the same file.

    def analytics_documents(self) -> list[dict]:
        """Each document's descriptive fields and its passage count, in doc_id order."""
        rows = self.db.execute(
            "SELECT d.doc_id, d.title, d.case_name, d.review_type, d.nation, d.area, d.year_published, "
            "d.year_of_incident, (SELECT COUNT(*) FROM passages p WHERE p.doc_id = d.doc_id) AS passages "
            "FROM documents d ORDER BY d.doc_id"
        )
        return [dict(r) for r in rows]

    def analytics_theme_passages(self, kinds: tuple[str, ...], min_score: float) -> list[tuple[str, str, str]]:
        """(doc_id, passage_id, theme_id) for every tag of these kinds scoring at least `min_score`."""
        marks = ",".join("?" * len(kinds))
        rows = self.db.execute(
            "SELECT p.doc_id, t.passage_id, t.theme_id FROM passage_themes t JOIN passages p USING (passage_id) "
            f"WHERE t.kind IN ({marks}) AND t.score >= ? ORDER BY p.doc_id, p.seq, t.theme_id",
            (*kinds, min_score),
        )
        return [(r[0], r[1], r[2]) for r in rows]

    def analytics_evidence(
        self, theme_id: str | None, kinds: tuple[str, ...], min_score: float, doc_ids: tuple[str, ...] | None = None
    ) -> list[dict]:
        """The passage, document and tag behind each counted (passage, theme): one theme or all."""
        clauses = [f"t.kind IN ({','.join('?' * len(kinds))})", "t.score >= ?"]
        params: list = [*kinds, min_score]
        if theme_id is not None:
            clauses.append("t.theme_id = ?")
            params.append(theme_id)
        if doc_ids is not None:
            clauses.append(f"p.doc_id IN ({','.join('?' * len(doc_ids))})")
            params.extend(doc_ids)
        rows = self.db.execute(
            "SELECT p.passage_id, p.doc_id, p.seq, p.page_start, p.page_end, p.section, p.section_kind, p.text, "
            "d.title, d.case_name, d.year_published, t.theme_id, t.kind, t.score, t.evidence, t.taxonomy_version "
            "FROM passage_themes t JOIN passages p USING (passage_id) JOIN documents d ON d.doc_id = p.doc_id "
            f"WHERE {' AND '.join(clauses)} ORDER BY p.doc_id, p.seq, t.theme_id",
            params,
        )
        found = []
        for r in rows:
            row = dict(r)
            row["evidence"] = [(a, b) for a, b in json.loads(r["evidence"])]
            found.append(row)
        return found

    def analytics_state(self) -> dict:
        """What identifies the store's content: its documents, latest ingest, generation and taxonomy versions."""
        one = lambda sql: self.db.execute(sql).fetchone()[0]  # noqa: E731
        return {
            "doc_ids": [r[0] for r in self.db.execute("SELECT doc_id FROM documents ORDER BY doc_id")],
            "passages": one("SELECT COUNT(*) FROM passages"),
            "last_ingested_at": one("SELECT MAX(ingested_at) FROM documents"),
            "generation": self.generation(),
            "taxonomy_versions": [
                r[0] for r in self.db.execute("SELECT DISTINCT taxonomy_version FROM passage_themes ORDER BY 1")
            ],
        }

    # === learning packs (kb/packs.py) and cases compared side by side ==========
    # Positions are 0-based and kept contiguous: every change renumbers the pack's
    # items in one transaction, so two forms submitted at once cannot leave a gap.

    def create_pack(self, title: str, introduction: str) -> int:
        now = _now()
        cursor = self.db.execute(
            "INSERT INTO packs (title, introduction, created, updated) VALUES (?, ?, ?, ?)",
            (title, introduction, now, now),
        )
        return int(cursor.lastrowid)

    def update_pack(self, pack_id: int, title: str | None = None, introduction: str | None = None) -> bool:
        """Change a pack's title and/or introduction; False when there is no such pack."""
        cursor = self.db.execute(
            "UPDATE packs SET title = COALESCE(?, title), introduction = COALESCE(?, introduction), updated = ? "
            "WHERE pack_id = ?",
            (title, introduction, _now(), pack_id),
        )
        return cursor.rowcount > 0

    def delete_pack(self, pack_id: int) -> bool:
        return self.db.execute("DELETE FROM packs WHERE pack_id = ?", (pack_id,)).rowcount > 0

    def pack_row(self, pack_id: int) -> dict | None:
        row = self.db.execute(
            "SELECT k.*, (SELECT COUNT(*) FROM pack_items i WHERE i.pack_id = k.pack_id) AS item_count "
            "FROM packs k WHERE k.pack_id = ?", (pack_id,)
        ).fetchone()
        return dict(row) if row else None

    def pack_rows(self) -> list[dict]:
        """Every pack with its number of items, the most recently changed first."""
        rows = self.db.execute(
            "SELECT k.*, (SELECT COUNT(*) FROM pack_items i WHERE i.pack_id = k.pack_id) AS item_count "
            "FROM packs k ORDER BY k.updated DESC, k.pack_id DESC"
        )
        return [dict(r) for r in rows]

    def pack_item_rows(self, pack_id: int) -> list[dict]:
        rows = self.db.execute(
            "SELECT * FROM pack_items WHERE pack_id = ? ORDER BY position, item_id", (pack_id,)
        )
        return [dict(r) for r in rows]

    def packs_holding(self, passage_id: str) -> list[int]:
        rows = self.db.execute("SELECT pack_id FROM pack_items WHERE passage_id = ? ORDER BY pack_id", (passage_id,))
        return [r[0] for r in rows]

    def add_pack_item(self, pack_id: int, passage_id: str, heading: str, note: str) -> int | None:
        """Append a passage to a pack and return its item id; a passage already there keeps its item."""
        with self.transaction() as db:
            if db.execute("SELECT 1 FROM packs WHERE pack_id = ?", (pack_id,)).fetchone() is None:
                return None
            row = db.execute(
                "SELECT item_id FROM pack_items WHERE pack_id = ? AND passage_id = ?", (pack_id, passage_id)
            ).fetchone()
            if row:
                return int(row[0])
            cursor = db.execute(
                "INSERT INTO pack_items (pack_id, position, passage_id, heading, note) VALUES "
                "(?, (SELECT COUNT(*) FROM pack_items WHERE pack_id = ?), ?, ?, ?)",
                (pack_id, pack_id, passage_id, heading, note),
            )
            self._touch_pack(db, pack_id)
            return int(cursor.lastrowid)

    def update_pack_item(self, pack_id: int, item_id: int, heading: str | None, note: str | None) -> bool:
        with self.transaction() as db:
            changed = db.execute(
                "UPDATE pack_items SET heading = COALESCE(?, heading), note = COALESCE(?, note) "
                "WHERE pack_id = ? AND item_id = ?",
                (heading, note, pack_id, item_id),
            ).rowcount
            if changed:
                self._touch_pack(db, pack_id)
            return changed > 0

    def remove_pack_item(self, pack_id: int, item_id: int) -> bool:
        with self.transaction() as db:
            ids = self._pack_order(db, pack_id)
            if item_id not in ids:
                return False
            db.execute("DELETE FROM pack_items WHERE item_id = ?", (item_id,))
            ids.remove(item_id)
            self._renumber(db, pack_id, ids)
            return True

    def move_pack_item(self, pack_id: int, item_id: int, position: int) -> bool:
        """Put an item at a 0-based position (clamped to the pack); the others keep their order."""
        with self.transaction() as db:
            ids = self._pack_order(db, pack_id)
            if item_id not in ids:
                return False
            ids.remove(item_id)
            ids.insert(max(0, min(position, len(ids))), item_id)
            self._renumber(db, pack_id, ids)
            return True

    @staticmethod
    def _pack_order(db: sqlite3.Connection, pack_id: int) -> list[int]:
        rows = db.execute("SELECT item_id FROM pack_items WHERE pack_id = ? ORDER BY position, item_id", (pack_id,))
        return [r[0] for r in rows]

    def _renumber(self, db: sqlite3.Connection, pack_id: int, ids: list[int]) -> None:
        db.executemany("UPDATE pack_items SET position = ? WHERE item_id = ?", [(n, i) for n, i in enumerate(ids)])
        self._touch_pack(db, pack_id)

    @staticmethod
    def _touch_pack(db: sqlite3.Connection, pack_id: int) -> None:
        db.execute("UPDATE packs SET updated = ? WHERE pack_id = ?", (_now(), pack_id))

    def case_names(self) -> dict[str, int]:
        """Each case named by a document, with its number of reports, in name order."""
        rows = self.db.execute(
            "SELECT case_name, COUNT(*) FROM documents WHERE case_name IS NOT NULL AND case_name != '' "
            "GROUP BY case_name ORDER BY case_name COLLATE NOCASE"
        )
        return {r[0]: r[1] for r in rows}

    def case_documents(self, case: str) -> list[Document]:
        rows = self.db.execute(
            "SELECT * FROM documents WHERE case_name = ? ORDER BY year_published, title, doc_id", (case,)
        ).fetchall()
        return [_document(r) for r in rows]

    def case_theme_counts(self, case: str) -> dict[str, int]:
        """Passages of a case's reports that show each theme, most first."""
        rows = self.db.execute(
            "SELECT t.theme_id, COUNT(*) FROM passage_themes t JOIN passages p USING (passage_id) "
            "JOIN documents d ON d.doc_id = p.doc_id WHERE d.case_name = ? AND t.kind = 'shows' "
            "GROUP BY t.theme_id ORDER BY COUNT(*) DESC, t.theme_id",
            (case,),
        )
        return {r[0]: r[1] for r in rows}

    def case_entities(self, case: str, label: str = "AGENCY") -> dict[str, int]:
        """How often each agency (or other label) is named in a case's reports, most first."""
        rows = self.db.execute(
            "SELECT COALESCE(e.canonical, e.text), COUNT(*) FROM entities e JOIN passages p USING (passage_id) "
            "JOIN documents d ON d.doc_id = p.doc_id WHERE d.case_name = ? AND e.label = ? "
            "GROUP BY 1 ORDER BY 2 DESC, 1",
            (case, label),
        )
        return {r[0]: r[1] for r in rows}

    def strongest_in_case(self, theme_id: str, case: str, limit: int) -> list[tuple[str, float]]:
        """A case's highest-scoring passages that show a theme."""
        rows = self.db.execute(
            "SELECT t.passage_id, t.score FROM passage_themes t JOIN passages p USING (passage_id) "
            "JOIN documents d ON d.doc_id = p.doc_id WHERE t.theme_id = ? AND t.kind = 'shows' AND d.case_name = ? "
            "ORDER BY t.score DESC, t.passage_id LIMIT ?",
            (theme_id, case, limit),
        )
        return [(r[0], r[1]) for r in rows]

    # === end of learning packs and cases compared ===============================


def quantise(vector: np.ndarray) -> bytes:
    """Store a unit vector as int8: a quarter of the space, cosine error under 0.01."""
    return np.clip(np.round(np.asarray(vector) * 127), -127, 127).astype(np.int8).tobytes()


def dequantise(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, dtype=np.int8).astype(np.float32) / 127.0


def _chunks(items: list, size: int) -> Iterator[list]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _document(row: sqlite3.Row) -> Document:
    meta = DocumentMeta(**{name: row[column] for name, column in META_FIELDS.items()})
    return Document(
        doc_id=row["doc_id"], sha256=row["sha256"], source_path=row["source_path"], size=row["size"],
        page_count=row["page_count"], meta=meta, pdf_metadata=json.loads(row["pdf_metadata"]),
        redacted_pages=json.loads(row["redacted_pages"]),
    )


def _passage(row: sqlite3.Row) -> Passage:
    return Passage(
        passage_id=row["passage_id"], doc_id=row["doc_id"], seq=row["seq"], text=row["text"],
        page_start=row["page_start"], page_end=row["page_end"], section=row["section"],
        section_kind=row["section_kind"], ocr=bool(row["ocr"]),
    )

