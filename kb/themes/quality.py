"""How far each theme's counts can be trusted: the tagger's measured precision and recall
(kb/data/theme_quality.yaml, written by `scrkb eval themes --quality`), and an estimated
true count, with its interval, corrected for them.

Figures belong to one taxonomy version: measured on another, they say nothing about
this tagger, so every theme is then "not measured". A theme with fewer than
MIN_SUPPORT passages in the evaluation set is not measured either, and a theme whose
F1 is under the file's floor, whose estimate has no upper bound (tagged too rarely in the
evaluation set to bound it), or that is not measured is experimental.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from kb.settings import DATA_DIR

QUALITY_FILE = DATA_DIR / "theme_quality.yaml"
MIN_SUPPORT = 5
DEFAULT_FLOOR = 0.5
REVIEWED_RULE = ("reviewed tags count as they were judged (confirmed and added 1, rejected 0) and only the "
                 "unreviewed tags are corrected: estimate = reviewed + unreviewed × factor, and likewise for "
                 "the interval")


class QualityError(ValueError):
    """A quality file that cannot be read, naming the file and the reason."""


@dataclass(frozen=True)
class ThemeQuality:
    theme_id: str
    measured: bool
    status: str  # why it is not measured, in plain words; "measured" when it is
    precision: float | None = None
    recall: float | None = None
    f1: float | None = None
    support: int = 0
    tagged: int = 0
    true_count_factor: float | None = None
    factor_interval: tuple[float, float] | None = None
    experimental: bool = True

    def plain_words(self) -> str:
        """The figures as a reader would say them: 'found correctly in about 7 of 10 passages it tags; ...'."""
        if not self.measured:
            return self.status[:1].upper() + self.status[1:] + "."
        return (f"Found correctly in {_of_ten(self.precision)} passages it tags; "
                f"finds {_of_ten(self.recall)} that show it.")

    def as_dict(self) -> dict:
        return {
            "precision": self.precision, "recall": self.recall, "f1": self.f1, "support": self.support,
            "tagged": self.tagged, "true_count_factor": self.true_count_factor,
            "factor_interval": list(self.factor_interval) if self.factor_interval else None,
            "experimental": self.experimental, "status": self.status, "in_plain_words": self.plain_words(),
        }


@dataclass(frozen=True)
class Quality:
    """The measured figures for the running taxonomy, or the reason there are none."""

    source: str | None  # the file's name, None when there is no file
    running_version: str
    taxonomy_version: str | None = None
    measured: str | None = None
    evaluation_set: str | None = None
    reports: int | None = None
    passages: int | None = None
    method: str | None = None
    estimator: str | None = None
    quality_floor_f1: float = DEFAULT_FLOOR
    themes: dict[str, ThemeQuality] = field(default_factory=dict)

    @property
    def applies(self) -> bool:
        return self.source is not None and self.taxonomy_version == self.running_version

    @property
    def note(self) -> str:
        """One sentence on whether, and for what, the figures hold."""
        if self.source is None:
            return "The tagger's accuracy has not been measured: there is no quality file."
        if not self.applies:
            return (f"The tagger's accuracy was measured for taxonomy version {self.taxonomy_version}, not for "
                    f"the running version {self.running_version}, so no theme is measured for this version.")
        return (f"Measured on {self.evaluation_set} ({self.reports} reports, {self.passages} passages) on "
                f"{self.measured}: {self.method}.")

    def of(self, theme_id: str) -> ThemeQuality:
        found = self.themes.get(theme_id)
        if found is not None:
            return found
        if self.source is None:
            status = "not measured: there is no quality file"
        elif not self.applies:
            status = "not measured for this taxonomy version"
        else:
            status = "not measured: the evaluation set does not cover it"
        return ThemeQuality(theme_id, measured=False, status=status)

    def header(self) -> dict:
        return {
            "source": self.source, "taxonomy_version": self.taxonomy_version,
            "running_taxonomy_version": self.running_version, "applies": self.applies, "note": self.note,
            "measured": self.measured, "evaluation_set": self.evaluation_set, "reports": self.reports,
            "passages": self.passages, "method": self.method, "estimator": self.estimator,
            "quality_floor_f1": self.quality_floor_f1, "min_support": MIN_SUPPORT,
        }


def load_quality(running_version: str, path: Path | None = None) -> Quality:
    """Read a quality file for a taxonomy version; no file gives every theme 'not measured'."""
    path = Path(path) if path is not None else QUALITY_FILE
    if not path.exists():
        return Quality(source=None, running_version=running_version)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise QualityError(f"{path}: not valid YAML ({exc})") from exc
    if not isinstance(data, dict) or not isinstance(data.get("themes"), dict) or "taxonomy_version" not in data:
        raise QualityError(f"{path}: expected a mapping with 'taxonomy_version' and a 'themes' mapping")
    try:
        floor = float(data.get("quality_floor_f1", DEFAULT_FLOOR))
        # Named, not located: an export must not carry the path of someone's home folder.
        source = "kb/data/theme_quality.yaml" if path.resolve() == QUALITY_FILE.resolve() else path.name
        base = dict(
            source=source, running_version=running_version, taxonomy_version=str(data["taxonomy_version"]),
            measured=_text(data.get("measured")), evaluation_set=_text(data.get("evaluation_set")),
            reports=_whole(data.get("reports")), passages=_whole(data.get("passages")),
            method=_text(data.get("method")), estimator=_text(data.get("estimator")), quality_floor_f1=floor,
        )
        if base["taxonomy_version"] != running_version:
            return Quality(**base)
        themes = {str(t): _theme(str(t), v, floor) for t, v in data["themes"].items()}
    except (TypeError, ValueError) as exc:
        raise QualityError(f"{path}: {exc}") from None
    return Quality(**base, themes=themes)


def _theme(theme_id: str, raw, floor: float) -> ThemeQuality:
    if not isinstance(raw, dict):
        raise ValueError(f"theme {theme_id} must be a mapping of its figures")
    support, tagged = _whole(raw.get("support")) or 0, _whole(raw.get("tagged")) or 0
    interval = raw.get("factor_interval")
    if interval is not None and not (isinstance(interval, list) and len(interval) == 2):
        raise ValueError(f"theme {theme_id}: factor_interval must be [low, high] or null")
    figures = dict(
        precision=_number(raw.get("precision")), recall=_number(raw.get("recall")), f1=_number(raw.get("f1")),
        support=support, tagged=tagged, true_count_factor=_number(raw.get("true_count_factor")),
        factor_interval=(float(interval[0]), float(interval[1])) if interval is not None else None,
    )
    if support < MIN_SUPPORT:
        status = f"not measured: only {support} passage{'' if support == 1 else 's'} in the evaluation set show it"
        return ThemeQuality(theme_id, measured=False, status=status, **figures)
    experimental = figures["f1"] is None or figures["f1"] < floor or figures["factor_interval"] is None
    return ThemeQuality(theme_id, measured=True, status="measured", experimental=experimental, **figures)


# --- the estimator ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Estimate:
    counted: int  # passages counted for the theme
    reviewed: int  # of those, counted on a reviewer's word (exact)
    value: float | None  # the estimated true count; None when the theme has no factor
    low: float | None
    high: float | None

    @property
    def unreviewed(self) -> int:
        return self.counted - self.reviewed


def estimate(quality: ThemeQuality, counted: int, reviewed: int = 0) -> Estimate:
    """Estimated true passages: reviewed ones exactly, the unreviewed corrected by precision ÷ recall.

    With every counted passage reviewed the count is exact, measured or not.
    """
    unreviewed = counted - reviewed
    if unreviewed < 0 or reviewed < 0:
        raise ValueError("reviewed passages cannot outnumber counted ones")
    if unreviewed == 0:
        return Estimate(counted, reviewed, float(counted), float(counted), float(counted))
    if not quality.measured or quality.true_count_factor is None:
        return Estimate(counted, reviewed, None, None, None)
    value = reviewed + unreviewed * quality.true_count_factor
    if quality.factor_interval is None:
        return Estimate(counted, reviewed, round(value, 1), None, None)
    low, high = quality.factor_interval
    return Estimate(counted, reviewed, round(value, 1), round(reviewed + unreviewed * low, 1),
                    round(reviewed + unreviewed * high, 1))


def _of_ten(share: float | None) -> str:
    if share is None:
        return "an unknown share of the"
    tenths = round(share * 10)
    if tenths == 0:
        return "fewer than 1 in 10"
    return "all" if tenths == 10 and share >= 0.995 else f"about {tenths} of 10"


def _number(value) -> float | None:
    return None if value is None else float(value)


def _whole(value) -> int | None:
    return None if value is None else int(value)


def _text(value) -> str | None:
    return None if value is None else str(value)
