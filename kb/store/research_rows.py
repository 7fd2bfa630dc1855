"""Read-only queries behind research outputs (kb.research) and cases compared side by side.

Every result is ordered explicitly, so the same store always exports the same file. Theme
counts take the reviewers' word (kb/store/reviews.py `counted_tags`)."""

from __future__ import annotations

import json
import sqlite3

from kb.models import Document
from kb.store.reviews import counted_tags
from kb.store.rows import document_from_row


class ResearchRows:
    db: sqlite3.Connection

    def analytics_documents(self) -> list[dict]:
        """Each document's descriptive fields and its passage count, in doc_id order."""
        rows = self.db.execute(
            "SELECT d.doc_id, d.title, d.case_name, d.review_type, d.nation, d.area, d.year_published, "
            "d.year_of_incident, (SELECT COUNT(*) FROM passages p WHERE p.doc_id = d.doc_id) AS passages "
            "FROM documents d ORDER BY d.doc_id"
        )
        return [dict(r) for r in rows]

    def analytics_theme_passages(
        self, kinds: tuple[str, ...], min_score: float, reviewed_only: bool = False
    ) -> list[tuple[str, str, str, bool]]:
        """(doc_id, passage_id, theme_id, reviewed) for every (passage, theme) that counts under these rules."""
        counted, params = counted_tags(kinds, min_score, reviewed_only)
        rows = self.db.execute(
            f"SELECT p.doc_id, c.passage_id, c.theme_id, c.verdict IS NOT NULL FROM {counted} c "
            "JOIN passages p USING (passage_id) ORDER BY p.doc_id, p.seq, c.theme_id",
            params,
        )
        return [(r[0], r[1], r[2], bool(r[3])) for r in rows]

    def analytics_evidence(
        self, theme_id: str | None, kinds: tuple[str, ...], min_score: float, doc_ids: tuple[str, ...] | None = None,
        reviewed_only: bool = False,
    ) -> list[dict]:
        """The passage, document and tag behind each counted (passage, theme): one theme or all.

        `review` is the verdict that made a reviewed pair count (confirm or add), else None;
        a theme a reviewer added has no score, kind or evidence of the tagger's.
        """
        counted, params = counted_tags(kinds, min_score, reviewed_only, theme_id)
        where = ""
        if doc_ids is not None:
            where = f"WHERE p.doc_id IN ({','.join('?' * len(doc_ids))})"
            params = [*params, *doc_ids]
        rows = self.db.execute(
            "SELECT p.passage_id, p.doc_id, p.seq, p.page_start, p.page_end, p.section, p.section_kind, p.text, "
            "d.title, d.case_name, d.year_published, c.theme_id, c.kind, c.score, c.evidence, c.verdict AS review "
            f"FROM {counted} c JOIN passages p USING (passage_id) JOIN documents d ON d.doc_id = p.doc_id "
            f"{where} ORDER BY p.doc_id, p.seq, c.theme_id",
            params,
        )
        found = []
        for r in rows:
            row = dict(r)
            row["evidence"] = [(a, b) for a, b in json.loads(r["evidence"] or "[]")]
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
            "tag_models": [r[0] for r in self.db.execute("SELECT DISTINCT tag_model FROM passage_themes ORDER BY 1")],
        }

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
        return [document_from_row(r) for r in rows]

    def case_theme_counts(self, case: str) -> dict[str, int]:
        """Passages of a case's reports that count for each theme, most first."""
        counted, params = counted_tags()
        rows = self.db.execute(
            f"SELECT c.theme_id, COUNT(*) FROM {counted} c JOIN passages p USING (passage_id) "
            "JOIN documents d ON d.doc_id = p.doc_id WHERE d.case_name = ? "
            "GROUP BY c.theme_id ORDER BY COUNT(*) DESC, c.theme_id",
            (*params, case),
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
        """A case's passages that count for a theme: reviewer-confirmed first, then by score."""
        counted, params = counted_tags(theme_id=theme_id)
        rows = self.db.execute(
            f"SELECT c.passage_id, COALESCE(c.score, 0) FROM {counted} c JOIN passages p USING (passage_id) "
            "JOIN documents d ON d.doc_id = p.doc_id WHERE d.case_name = ? "
            "ORDER BY c.verdict IS NOT NULL DESC, c.score DESC, c.passage_id LIMIT ?",
            (*params, case, limit),
        )
        return [(r[0], r[1]) for r in rows]
