"""Estimated true counts beside passage counts, and the record of the tagger's accuracy and of the
reviews that every export carries.

The measured precision and recall (kb/themes/quality.py) hold for passages the tagger
says *show* a theme at its own calibrated thresholds; under other rules (names counted
too, a higher minimum score) they do not, and no estimate is given rather than a wrong one.
Reviewed tags are exact: only the unreviewed ones are corrected.
"""

from __future__ import annotations

from kb.themes.calibration import Calibration
from kb.themes.quality import REVIEWED_RULE, Quality, estimate

ESTIMATE_COLUMNS = ["estimated_passages", "estimate_low", "estimate_high"]
COLUMNS_MEANING = (
    "passages_reviewed: counted passages that rest on a reviewer's word. estimated_passages, estimate_low, "
    "estimate_high: the estimated true count and its 95% interval, by the estimator above; left empty where the "
    "tagger's measured accuracy does not apply (a theme not measured, names counted too, or a minimum score above "
    "the theme's threshold), unless every counted passage was reviewed and the count is exact. estimate_low and "
    "estimate_high alone are empty where the interval has no upper bound (the theme was tagged too rarely where it "
    "was measured to bound it)."
)


class Estimator:
    """Turns (counted passages, of which reviewed) into an estimated true count with its 95% interval."""

    def __init__(self, quality: Quality, calibration: Calibration, kinds: str, min_score: float):
        self.quality = quality
        self.calibration = calibration
        self.kinds = kinds
        self.min_score = min_score

    def applies(self, theme_id: str) -> bool:
        """Whether the measured figures describe the tags counted under these rules."""
        return self.kinds == "shows" and self.min_score <= self.calibration.threshold(theme_id)

    def cells(self, theme_id: str, counted: int, reviewed: int) -> list[float | None]:
        quality = self.quality.of(theme_id)
        if not self.applies(theme_id) and counted > reviewed:
            return [None, None, None]
        found = estimate(quality, counted, reviewed)
        return [found.value, found.low, found.high]

    def quality_cells(self, theme_id: str) -> list:
        quality = self.quality.of(theme_id)
        return [quality.precision if quality.measured else None, quality.recall if quality.measured else None,
                int(quality.experimental)]


def quality_about(quality: Quality, theme_ids: list[str]) -> dict:
    """The tagger's accuracy for every counted theme, with the set and method behind it."""
    return {
        **quality.header(),
        "reviewed_rule": REVIEWED_RULE,
        "columns": COLUMNS_MEANING,
        "themes": {t: quality.of(t).as_dict() for t in theme_ids},
    }


def reviews_about(summary: dict, store_reviews: dict) -> dict:
    """How many of the counted tags rest on a reviewer's word, and the store's reviews as a whole."""
    counted = summary.get("counted_tags")
    reviewed = summary.get("counted_tags_reviewed")
    return {
        "counted_tags": counted,
        "counted_tags_reviewed": reviewed,
        "meaning": "A tag is a (passage, theme) pair. Reviewed tags count as the reviewer judged them: a rejected "
                   "tag never counts, a confirmed or added one always does.",
        **store_reviews,
    }
