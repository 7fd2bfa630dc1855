"""Reviewers' verdicts on theme tags, and the one rule every count applies them by.

A review names its passage by id with no foreign key: re-ingesting a report or
re-tagging the store must neither fail nor silently drop a person's judgement
(passage ids are stable), and a review whose passage has gone is reported.
Every verdict is kept; the latest for a (passage, theme) is the one that holds.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

from kb.store.rows import chunks, now

VERDICTS = ("confirm", "reject", "add")
# Review r is the latest on its (passage, theme); the pair index makes MAX() a lookup.
IS_LATEST = ("r.review_id = (SELECT MAX(x.review_id) FROM tag_reviews x "
             "WHERE x.passage_id = r.passage_id AND x.theme_id = r.theme_id)")
LATEST = f"SELECT r.passage_id, r.theme_id, r.verdict FROM tag_reviews r WHERE {IS_LATEST}"


def counted_tags(kinds: tuple[str, ...] = ("shows",), min_score: float = 0.0, reviewed_only: bool = False,
                 theme_id: str | None = None) -> tuple[str, list]:
    """A subquery of the (passage_id, theme_id, score, kind, evidence, verdict) pairs that count.

    An unreviewed tag counts when its kind and score pass the rules; a reviewed pair
    counts when its latest verdict is confirm or add, whatever the tagger said (a
    rejected tag never counts).
    `verdict` is NULL for unreviewed tags; with `reviewed_only` there are none. The
    pairs may name passages that no longer exist: join `passages` to drop them.
    """
    marks = ",".join("?" * len(kinds))
    theme = " AND t.theme_id = ?" if theme_id is not None else ""
    theme_l = " AND l.theme_id = ?" if theme_id is not None else ""
    reviewed = (
        f"SELECT l.passage_id, l.theme_id, t.score, t.kind, t.evidence, l.verdict FROM ({LATEST}) l "
        "LEFT JOIN passage_themes t ON t.passage_id = l.passage_id AND t.theme_id = l.theme_id "
        f"WHERE l.verdict IN ('confirm', 'add'){theme_l}"
    )
    params_reviewed: list = [theme_id] if theme_id is not None else []
    if reviewed_only:
        return f"({reviewed})", params_reviewed
    unreviewed = (
        "SELECT t.passage_id, t.theme_id, t.score, t.kind, t.evidence, NULL AS verdict FROM passage_themes t "
        f"WHERE t.kind IN ({marks}) AND t.score >= ?{theme} AND NOT EXISTS (SELECT 1 FROM tag_reviews x "
        "WHERE x.passage_id = t.passage_id AND x.theme_id = t.theme_id)"
    )
    params = [*kinds, min_score, *([theme_id] if theme_id is not None else []), *params_reviewed]
    return f"({unreviewed} UNION ALL {reviewed})", params


class ReviewRows:
    """Tag reviews: written one at a time, read as the latest verdict per (passage, theme)."""

    db: sqlite3.Connection

    def add_review(self, passage_id: str, theme_id: str, verdict: str, note: str, username: str) -> dict | None:
        """Record a verdict and return it; None (nothing written) when the passage does not exist.

        The check and the write share one transaction, so a passage removed by a
        concurrent re-ingest cannot gain a review it never had.
        """
        if verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {', '.join(VERDICTS)}")
        with self.transaction() as db:
            if db.execute("SELECT 1 FROM passages WHERE passage_id = ?", (passage_id,)).fetchone() is None:
                return None
            cursor = db.execute(
                "INSERT INTO tag_reviews (passage_id, theme_id, verdict, note, username, at) VALUES (?, ?, ?, ?, ?, ?)",
                (passage_id, theme_id, verdict, note, username, now()),
            )
            row = db.execute("SELECT * FROM tag_reviews WHERE review_id = ?", (cursor.lastrowid,)).fetchone()
        return dict(row)

    def latest_reviews(self, theme_id: str | None = None, passage_ids: Iterable[str] | None = None) -> list[dict]:
        """The verdict that holds for each reviewed (passage, theme), with whether the passage still exists
        and what the tagger stored for it (kind and score, or None)."""
        clauses, params = [], []
        if theme_id is not None:
            clauses.append("r.theme_id = ?")
            params.append(theme_id)
        sql = (
            "SELECT r.*, p.doc_id, p.passage_id IS NOT NULL AS passage_exists, t.kind AS tag_kind, t.score AS tag_score, "
            "(SELECT COUNT(*) FROM tag_reviews x WHERE x.passage_id = r.passage_id AND x.theme_id = r.theme_id) AS reviews "
            "FROM tag_reviews r LEFT JOIN passages p ON p.passage_id = r.passage_id "
            f"LEFT JOIN passage_themes t ON t.passage_id = r.passage_id AND t.theme_id = r.theme_id WHERE {IS_LATEST}"
        )
        if passage_ids is None:
            where = "".join(f" AND {c}" for c in clauses)
            return [_review(r) for r in self.db.execute(f"{sql}{where} ORDER BY r.review_id", params)]
        found = []
        for chunk in chunks(list(passage_ids), 500):
            where = "".join(f" AND {c}" for c in [*clauses, f"r.passage_id IN ({','.join('?' * len(chunk))})"])
            found += [_review(r) for r in self.db.execute(f"{sql}{where} ORDER BY r.review_id", [*params, *chunk])]
        return found

    def review_history(self, passage_id: str, theme_id: str) -> list[dict]:
        """Every verdict on one (passage, theme), oldest first."""
        rows = self.db.execute(
            "SELECT * FROM tag_reviews WHERE passage_id = ? AND theme_id = ? ORDER BY review_id", (passage_id, theme_id)
        )
        return [dict(r) for r in rows]

    def reviews_version(self) -> int:
        """A number that changes whenever a review is written (the newest review's id)."""
        return int(self.db.execute("SELECT COALESCE(MAX(review_id), 0) FROM tag_reviews").fetchone()[0])

    def review_summary(self) -> dict:
        """The store's reviews in numbers: verdicts given, pairs reviewed, and the newest review's time."""
        latest = self.latest_reviews()
        return {
            "verdicts_in_store": int(self.db.execute("SELECT COUNT(*) FROM tag_reviews").fetchone()[0]),
            "reviewed_tags": len(latest),
            "rejected_tags": sum(r["verdict"] == "reject" for r in latest),
            "reviews_of_removed_passages": sum(not r["passage_exists"] for r in latest),
            "latest_review_at": max((r["at"] for r in latest), default=None),
        }

    def orphan_reviews(self) -> list[dict]:
        """Latest verdicts whose passage is no longer in the store (its report was removed or changed)."""
        return [r for r in self.latest_reviews() if not r["passage_exists"]]


def _review(row: sqlite3.Row) -> dict:
    found = dict(row)
    found["passage_exists"] = bool(found["passage_exists"])
    return found
