"""Human review of theme tags: a researcher confirms or rejects a tag, or adds a missing one.

Reviews are stored in the catalogue (kb/store/reviews.py) with who and when, every one
is written to the audit log, and counts everywhere take the latest verdict: a rejected
tag never counts, a confirmed or added one always does. Bad input changes nothing.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

from kb.store.accounts import User
from kb.store.catalogue import Catalogue
from kb.store.reviews import VERDICTS
from kb.themes.agreement import review_agreement
from kb.themes.taxonomy import Taxonomy

NOTE_MAX = 2000
AUDIT_ACTION = "tag_review"
PERMISSION = "review"
# Pasted text brings carriage returns and control characters; keep line breaks and tabs only.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


class ReviewError(ValueError):
    """A review that cannot be made, in words for the person who tried: `reason` is
    "invalid" (a bad value), "not_found" (no such passage or theme) or "forbidden" (a role without review)."""

    def __init__(self, message: str, reason: str = "invalid"):
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Review:
    review_id: int
    passage_id: str
    theme_id: str
    verdict: str
    note: str
    username: str
    at: str
    passage_exists: bool = True
    doc_id: str | None = None
    tagger: str = "none"  # what the tagger stored for the pair now: "shows", "names" or "none"
    tag_score: float | None = None
    reviews: int = 1  # verdicts given on this pair, this one included


def _review(row: dict) -> Review:
    return Review(
        row["review_id"], row["passage_id"], row["theme_id"], row["verdict"], row["note"], row["username"],
        row["at"], bool(row.get("passage_exists", True)), row.get("doc_id"), row.get("tag_kind") or "none",
        row.get("tag_score"), int(row.get("reviews") or 1),
    )


def clean_note(note: str | None) -> str:
    text = unicodedata.normalize("NFC", (note or "").replace("\r\n", "\n").replace("\r", "\n"))
    text = "".join(ch for ch in text if not 0xD800 <= ord(ch) <= 0xDFFF)
    text = _CONTROL.sub("", text).strip()
    if len(text) > NOTE_MAX:
        raise ReviewError(f"A review note can be at most {NOTE_MAX} characters; this one has {len(text)}.")
    return text


class TagReviews:
    """Reviews of one store's tags against its taxonomy; `audit(username, action, target, detail, address)`
    writes each to the audit log (the accounts database, opened only when a review is written)."""

    def __init__(self, catalogue: Catalogue, taxonomy: Taxonomy, audit: Callable[..., None]):
        self.catalogue = catalogue
        self.taxonomy = taxonomy
        self.audit = audit

    def review(self, passage_id: str, theme_id: str, verdict: str, note: str | None = "", *, username: str,
               user: User | None = None, address: str = "") -> Review:
        """Record a verdict on (passage, theme); ReviewError for anything that cannot be, with nothing written.

        `user` is the signed-in account, whose role must allow reviewing; without one
        (a store run without accounts) `username` alone names the reviewer.
        """
        if user is not None and not user.can(PERMISSION):
            raise ReviewError(f"{user.username}'s role ({user.role}) cannot review tags: researchers and admins can.",
                              "forbidden")
        if verdict not in VERDICTS:
            raise ReviewError(f"The verdict must be one of {', '.join(VERDICTS)}, not {verdict!r}.")
        passage_id, theme_id = (passage_id or "").strip(), (theme_id or "").strip()
        if not passage_id:
            raise ReviewError("Say which passage: its id is missing.")
        if self.taxonomy.get(theme_id) is None:
            raise ReviewError(f"There is no theme {theme_id!r} in taxonomy {self.taxonomy.version}.", "not_found")
        note = clean_note(note)
        if not (username or "").strip():
            raise ReviewError("A review needs the name of the reviewer.")
        row = self.catalogue.add_review(passage_id, theme_id, verdict, note, username.strip())
        if row is None:
            raise ReviewError(f"There is no passage {passage_id!r} in this knowledge base (it may have been removed "
                              "when its report was re-ingested); nothing was recorded.", "not_found")
        self.audit(username.strip(), AUDIT_ACTION, passage_id,
                             {"theme": theme_id, "verdict": verdict, "note": note, "review_id": row["review_id"]},
                             address)
        return _review(row)

    def latest(self, theme_id: str | None = None, passage_ids=None) -> list[Review]:
        """The verdict that holds for each reviewed (passage, theme), oldest first."""
        if theme_id is not None and self.taxonomy.get(theme_id) is None:
            raise ReviewError(f"There is no theme {theme_id!r} in taxonomy {self.taxonomy.version}.", "not_found")
        return [_review(r) for r in self.catalogue.latest_reviews(theme_id, passage_ids)]

    def of_passages(self, passage_ids) -> dict[tuple[str, str], Review]:
        """The latest review of each (passage, theme) among these passages, for showing beside their tags."""
        return {(r.passage_id, r.theme_id): r for r in self.latest(passage_ids=list(passage_ids))}

    def history(self, passage_id: str, theme_id: str) -> list[Review]:
        return [_review(r) for r in self.catalogue.review_history(passage_id, theme_id)]

    def orphans(self) -> list[Review]:
        """Reviews whose passage is no longer in the store: kept, and reported."""
        return [_review(r) for r in self.catalogue.orphan_reviews()]

    def agreement(self) -> dict[str, dict]:
        """Per theme: reviewed tags, and the tagger's agreement with the reviewers (share and Cohen's kappa)."""
        return review_agreement(self.catalogue.latest_reviews(), self.taxonomy.ids)
