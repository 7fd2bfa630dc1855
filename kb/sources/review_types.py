"""Which kinds of report are about a case, from kb/data/review_types.yaml."""

from __future__ import annotations

from functools import lru_cache

import yaml

from kb.settings import DATA_DIR

REVIEW_TYPES_FILE = DATA_DIR / "review_types.yaml"


@lru_cache(maxsize=1)
def about_a_case() -> dict[str, bool]:
    """Each known kind of report and whether a report of that kind is about a case."""
    data = yaml.safe_load(REVIEW_TYPES_FILE.read_text(encoding="utf-8"))
    return {str(kind): bool(flag) for kind, flag in data["about_a_case"].items()}


def not_about_a_case() -> tuple[str, ...]:
    """The kinds of report left out when cases are counted."""
    return tuple(sorted(kind for kind, flag in about_a_case().items() if not flag))
