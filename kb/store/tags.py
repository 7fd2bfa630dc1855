"""Theme tags of passages: stored, replaced on retag, counted, and the evidence behind them.

Counts and evidence take the reviewers' word (kb/store/reviews.py): a rejected tag
never counts, a confirmed or added one always does.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable

from kb.models import Evidence, Passage, ThemeMatch
from kb.store.reviews import LATEST as _LATEST
from kb.store.reviews import counted_tags
from kb.store.rows import bump_generation, chunks


class ThemeRows:
    """Themes tagged on passages and the entities named in them, counted by document and across the store."""

    db: sqlite3.Connection

    @staticmethod
    def _insert_themes(db: sqlite3.Connection, passages: list[Passage], taxonomy_version: str, tag_model: str) -> None:
        db.executemany(
            "INSERT OR REPLACE INTO passage_themes VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                (p.passage_id, m.theme_id, m.score, m.kind,
                 json.dumps([[e.start, e.end] for e in m.evidence]), taxonomy_version, tag_model)
                for p in passages
                for m in p.themes
            ],
        )

    def replace_themes(self, passages: list[Passage], taxonomy_version: str, tag_model: str, first: bool) -> None:
        """Store re-computed themes; the first batch of a retag clears the old ones."""
        with self.transaction() as db:
            if first:
                db.execute("DELETE FROM passage_themes")
            self._insert_themes(db, passages, taxonomy_version, tag_model)
            db.execute("INSERT OR REPLACE INTO meta VALUES ('taxonomy_version', ?)", (taxonomy_version,))
            bump_generation(db)

    def tags_not_by(self, model: str) -> int:
        """How many stored tags another model made (or one not recorded: tags made before schema 4)."""
        return self.db.execute("SELECT COUNT(*) FROM passage_themes WHERE tag_model != ?", (model,)).fetchone()[0]

    def themes_of(self, passage_ids: Iterable[str]) -> dict[str, list[ThemeMatch]]:
        """Each passage's tags with the latest review of each, and the themes reviewers added to it."""
        ids = list(passage_ids)
        found: dict[str, list[ThemeMatch]] = {pid: [] for pid in ids}
        for chunk in chunks(ids, 500):
            marks = ",".join("?" * len(chunk))
            reviews = {(r[0], r[1]): r[2] for r in self.db.execute(
                f"SELECT l.passage_id, l.theme_id, l.verdict FROM ({_LATEST}) l WHERE l.passage_id IN ({marks})", chunk
            )}
            for r in self.db.execute(
                f"SELECT t.*, p.text FROM passage_themes t JOIN passages p USING (passage_id) "
                f"WHERE passage_id IN ({marks}) ORDER BY t.kind DESC, t.score DESC", chunk
            ):
                evidence = [Evidence(r["text"][a:b], a, b) for a, b in json.loads(r["evidence"])]
                review = reviews.pop((r["passage_id"], r["theme_id"]), None)
                found[r["passage_id"]].append(ThemeMatch(r["theme_id"], r["score"], r["kind"], evidence, review))
            for (pid, theme_id), verdict in sorted(reviews.items()):
                if verdict == "add":  # a theme the tagger did not store at all
                    found[pid].append(ThemeMatch(theme_id, 0.0, "shows", [], verdict))
        return found

    def theme_counts(self) -> dict[str, dict[str, int]]:
        """Per theme: passages and documents that count for it (how many of those passages were
        reviewed), passages that only name it, and tags reviewers rejected."""
        counts: dict[str, dict[str, int]] = {}

        def entry(theme_id: str) -> dict[str, int]:
            return counts.setdefault(theme_id, {"shows": 0, "names": 0, "documents": 0, "reviewed": 0, "rejected": 0})

        counted, params = counted_tags()
        for r in self.db.execute(
            "SELECT c.theme_id, COUNT(*), COUNT(DISTINCT p.doc_id), COUNT(c.verdict) "
            f"FROM {counted} c JOIN passages p USING (passage_id) GROUP BY c.theme_id", params
        ):
            entry(r[0]).update(shows=r[1], documents=r[2], reviewed=r[3])
        for r in self.db.execute(
            "SELECT t.theme_id, COUNT(*) FROM passage_themes t WHERE t.kind = 'names' AND NOT EXISTS ("
            "SELECT 1 FROM tag_reviews x WHERE x.passage_id = t.passage_id AND x.theme_id = t.theme_id) "
            "GROUP BY t.theme_id"
        ):
            entry(r[0])["names"] = r[1]
        for r in self.db.execute(
            f"SELECT l.theme_id, COUNT(*) FROM ({_LATEST}) l JOIN passages p USING (passage_id) "
            "WHERE l.verdict = 'reject' GROUP BY l.theme_id"
        ):
            entry(r[0])["rejected"] = r[1]
        return counts

    def document_theme_counts(self, doc_id: str) -> dict[str, int]:
        """Passages of one document that count for each theme, most first."""
        counted, params = counted_tags()
        rows = self.db.execute(
            f"SELECT c.theme_id, COUNT(*) FROM {counted} c JOIN passages p USING (passage_id) "
            "WHERE p.doc_id = ? GROUP BY c.theme_id ORDER BY COUNT(*) DESC, c.theme_id",
            (*params, doc_id),
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
        """The passages that count for a theme, at most `per_document` from each report: those a reviewer
        confirmed or added first, then by score."""
        counted, params = counted_tags(theme_id=theme_id)
        rows = self.db.execute(
            "SELECT passage_id, score FROM ("
            " SELECT c.passage_id, COALESCE(c.score, 0) AS score, c.verdict IS NOT NULL AS reviewed, ROW_NUMBER() OVER"
            " (PARTITION BY p.doc_id ORDER BY c.verdict IS NOT NULL DESC, c.score DESC) AS n"
            f" FROM {counted} c JOIN passages p USING (passage_id))"
            " WHERE n <= ? ORDER BY reviewed DESC, score DESC, passage_id LIMIT ?",
            (*params, per_document, limit),
        )
        return [(r[0], r[1]) for r in rows]

    def facets(self, passage_ids: list[str]) -> dict[str, dict[str, int]]:
        """How many of these passages fall under each theme (as counted), case, year and review type."""
        result: dict[str, dict[str, int]] = {"theme": {}, "case": {}, "year": {}, "review_type": {}}
        counted, counted_params = counted_tags()
        for chunk in chunks(passage_ids, 500):
            marks = ",".join("?" * len(chunk))
            for r in self.db.execute(
                f"SELECT c.theme_id, COUNT(*) FROM {counted} c WHERE c.passage_id IN ({marks}) GROUP BY c.theme_id",
                [*counted_params, *chunk],
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
