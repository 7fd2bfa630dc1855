"""Passages with their embeddings and sentence vectors, and the FTS5 keyword index over their text."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator

import numpy as np

from kb.models import EntitySpan, Passage, Sentence
from kb.store.reviews import counted_tags
from kb.store.rows import chunks, dequantise, passage_from_row, rows_where_in


class PassageRows:
    """Reading passages, their vectors and the keyword index."""

    db: sqlite3.Connection

    def passages_of(self, doc_id: str) -> list[Passage]:
        rows = self.db.execute("SELECT * FROM passages WHERE doc_id = ? ORDER BY seq", (doc_id,)).fetchall()
        return self._with_entities([passage_from_row(r) for r in rows])

    def passages_by_id(self, passage_ids: Iterable[str]) -> dict[str, Passage]:
        ids = list(passage_ids)
        found: dict[str, Passage] = {}
        for chunk in chunks(ids, 500):
            marks = ",".join("?" * len(chunk))
            for row in self.db.execute(f"SELECT * FROM passages WHERE passage_id IN ({marks})", chunk):
                found[row["passage_id"]] = passage_from_row(row)
        self._with_entities(list(found.values()))
        return found

    def passage_ids_of(self, doc_id: str) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT passage_id FROM passages WHERE doc_id = ?", (doc_id,))]

    def all_passage_ids(self) -> set[str]:
        return {r[0] for r in self.db.execute("SELECT passage_id FROM passages")}

    def texts_by_document(self) -> Iterator[tuple[list[str], list[str]]]:
        """Each document's passages as (passage ids, texts), in reading order."""
        doc_ids = [r[0] for r in self.db.execute("SELECT DISTINCT doc_id FROM passages")]
        for doc_id in doc_ids:
            rows = self.db.execute("SELECT passage_id, text FROM passages WHERE doc_id = ? ORDER BY seq", (doc_id,)).fetchall()
            yield [r[0] for r in rows], [r[1] for r in rows]

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
            passages = [passage_from_row(r) for r in rows]
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

    def embedding_matrix(self, batch: int = 20_000, dtype=np.float32) -> tuple[list[str], np.ndarray, list[str], list[str | None], np.ndarray]:
        """Every passage vector in one matrix, with each row's passage id, document, case and rowid.

        Filled a batch of rows at a time into a matrix made once: reading every blob first and
        joining them held the vectors three times over at 540,000 passages (2.5 GB at peak).
        """
        count = self.passage_count()
        first = self.db.execute("SELECT embedding FROM passages WHERE embedding IS NOT NULL LIMIT 1").fetchone()
        if not count or first is None:
            return [], np.zeros((0, 0), dtype=np.float32), [], [], np.zeros(0, dtype=np.int64)
        matrix = np.empty((count, len(first[0]) // 4), dtype=dtype)
        ids: list[str] = []
        docs: list[str] = []
        cases: list[str | None] = []
        rowids = np.empty(count, dtype=np.int64)
        last, n = -1, 0
        while True:
            rows = self.db.execute(
                "SELECT p.rowid, p.passage_id, p.embedding, p.doc_id, d.case_name FROM passages p "
                "JOIN documents d ON d.doc_id = p.doc_id WHERE p.rowid > ? ORDER BY p.rowid LIMIT ?", (last, batch),
            ).fetchall()
            if not rows:
                break
            rows = rows[: count - n]  # passages added since counting wait for the next load
            for r in rows:
                matrix[n] = np.frombuffer(r[2], dtype=np.float32)
                rowids[n] = r[0]
                ids.append(r[1])
                docs.append(r[3])
                cases.append(r[4])
                n += 1
            last = rows[-1][0] if rows else last
            if n >= count:
                break
        return ids, matrix[:n], docs, cases, rowids[:n]

    def sentence_vectors(self, passage_ids: list[str]) -> dict[str, list[tuple[int, int, np.ndarray]]]:
        found: dict[str, list[tuple[int, int, np.ndarray]]] = {pid: [] for pid in passage_ids}
        for chunk in chunks(passage_ids, 500):
            marks = ",".join("?" * len(chunk))
            for r in self.db.execute(
                f"SELECT passage_id, start, end, embedding FROM sentences WHERE passage_id IN ({marks}) "
                "ORDER BY passage_id, idx", chunk
            ):
                found[r["passage_id"]].append((r["start"], r["end"], dequantise(r["embedding"])))
        return found

    def _with_entities(self, passages: list[Passage]) -> list[Passage]:
        """Attach each passage's entities and themes."""
        by_id = {p.passage_id: p for p in passages}
        for pid, themes in self.themes_of(by_id).items():
            by_id[pid].themes = themes
        for chunk in chunks(list(by_id), 500):
            marks = ",".join("?" * len(chunk))
            for r in self.db.execute(
                f"SELECT * FROM entities WHERE passage_id IN ({marks}) ORDER BY start", chunk
            ):
                by_id[r["passage_id"]].entities.append(
                    EntitySpan(r["label"], r["text"], r["start"], r["end"], r["canonical"])
                )
        return passages

    def passage_count(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM passages").fetchone()[0]

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

    def keyword_rows(self, doc_ids: list[str] | None = None) -> Iterator[tuple[str, int, str, str | None, str | None]]:
        """(doc_id, rowid, text, section, title) of every passage (of these documents), for the keyword index."""
        sql = ("SELECT p.doc_id, p.rowid, p.text, p.section, d.title FROM passages p "
               "JOIN documents d ON d.doc_id = p.doc_id")
        if doc_ids is None:
            yield from self.db.execute(sql + " ORDER BY p.doc_id, p.seq")
            return
        for chunk in chunks(list(doc_ids), 500):
            marks = ",".join("?" * len(chunk))
            yield from self.db.execute(sql + f" WHERE p.doc_id IN ({marks}) ORDER BY p.doc_id, p.seq", chunk)

    def passage_rowids(self) -> np.ndarray:
        """Every passage's rowid, ascending."""
        return np.fromiter((r[0] for r in self.db.execute("SELECT rowid FROM passages ORDER BY rowid")), dtype=np.int64)

    def passage_ids_at(self, rowids: Iterable[int]) -> dict[int, str]:
        """The passage id at each of these rowids (those still stored)."""
        sql = "SELECT rowid, passage_id FROM passages WHERE rowid IN ({marks})"
        return {r[0]: r[1] for r in rows_where_in(self.db, sql, [int(r) for r in rowids])}

    def passage_texts(self, passage_ids: Iterable[str]) -> dict[str, str]:
        sql = "SELECT passage_id, text FROM passages WHERE passage_id IN ({marks})"
        return {r[0]: r[1] for r in rows_where_in(self.db, sql, list(passage_ids))}

    def rowids_of(self, passage_ids: Iterable[str]) -> dict[str, int]:
        sql = "SELECT passage_id, rowid FROM passages WHERE passage_id IN ({marks})"
        return {r[0]: r[1] for r in rows_where_in(self.db, sql, list(passage_ids))}

    def doc_ids_at(self, rowids: Iterable[int]) -> set[str]:
        sql = "SELECT DISTINCT doc_id FROM passages WHERE rowid IN ({marks})"
        return {r[0] for r in rows_where_in(self.db, sql, [int(r) for r in rowids])}

    def term_passage_counts(self) -> dict[str, int]:
        """How many passages hold each (stemmed) word of the keyword index."""
        return {r[0]: r[1] for r in self.db.execute("SELECT term, doc FROM passages_vocab")}

    def filter_columns(self) -> tuple[np.ndarray, np.ndarray, dict[str, tuple[dict[str, int], np.ndarray]]]:
        """Each passage's rowid (ascending), year, and the coded columns search filters test.

        A coded column is its values' codes (-1 for none) with the value -> code map, built
        while reading, so 540,000 passages never sit in memory as Python strings.
        """
        from array import array

        names = ("case_name", "review_type", "nation", "area", "section_kind", "doc_id")
        vocabularies: dict[str, dict[str, int]] = {name: {} for name in names}
        codes = {name: array("i") for name in names}
        rowids, years = array("q"), array("d")
        sql = ("SELECT p.rowid, d.year_published, d.case_name, d.review_type, d.nation, d.area, p.section_kind, "
               "p.doc_id FROM passages p JOIN documents d ON d.doc_id = p.doc_id ORDER BY p.rowid")
        for row in self.db.execute(sql):
            rowids.append(row[0])
            years.append(float("nan") if row[1] is None else row[1])
            for name, value in zip(names, row[2:]):
                vocabulary = vocabularies[name]
                codes[name].append(-1 if value is None else vocabulary.setdefault(value, len(vocabulary)))
        return (np.frombuffer(rowids, dtype=np.int64).copy(), np.frombuffer(years, dtype=np.float64).copy(),
                {name: (vocabularies[name], np.frombuffer(codes[name], dtype=np.int32).copy()) for name in names})

    def shown_theme_rowids(self) -> dict[str, np.ndarray]:
        """The rowids of the passages that count for each theme (shown, or by a reviewer's word), ascending."""
        found: dict[str, list[int]] = {}
        counted, params = counted_tags()
        for theme, rowid in self.db.execute(
            f"SELECT c.theme_id, p.rowid FROM {counted} c JOIN passages p ON p.passage_id = c.passage_id", params
        ):
            found.setdefault(theme, []).append(rowid)
        return {theme: np.sort(np.asarray(rows, dtype=np.int64)) for theme, rows in found.items()}

    def filtered_rowids(self, where: str, params: list) -> np.ndarray:
        """The rowids of the passages a filter keeps, ascending."""
        # Sorted here, not by ORDER BY: asked for rowid order, SQLite scans the whole passages
        # table (embeddings and all) instead of going from the documents through passages_doc.
        rows = self.db.execute(f"SELECT p.rowid FROM passages p JOIN documents d ON d.doc_id = p.doc_id WHERE {where}", params)
        return np.sort(np.fromiter((r[0] for r in rows), dtype=np.int64))
