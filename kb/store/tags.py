"""Theme tags of passages: stored, replaced on retag, counted, and the evidence behind them."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable

from kb.models import Evidence, Passage, ThemeMatch
from kb.store.rows import bump_generation, chunks


class ThemeRows:
    """Themes tagged on passages and the entities named in them, counted by document and across the store."""

    db: sqlite3.Connection

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
            bump_generation(db)

    def themes_of(self, passage_ids: Iterable[str]) -> dict[str, list[ThemeMatch]]:
        ids = list(passage_ids)
        found: dict[str, list[ThemeMatch]] = {pid: [] for pid in ids}
        texts = {}
        for chunk in chunks(ids, 500):
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

    def facets(self, passage_ids: list[str]) -> dict[str, dict[str, int]]:
        """How many of these passages fall under each theme, case, year and review type."""
        result: dict[str, dict[str, int]] = {"theme": {}, "case": {}, "year": {}, "review_type": {}}
        for chunk in chunks(passage_ids, 500):
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
