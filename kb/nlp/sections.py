"""Map a report's heading text to a canonical section kind (findings, recommendations, chronology...)."""

from __future__ import annotations

import re
from functools import lru_cache

import yaml

from kb.settings import DATA_DIR

SECTIONS_FILE = DATA_DIR / "sections.yaml"
LEADING_NUMBER = re.compile(r"^(?:part|section|chapter)?\s*[\dIVXivx]+(?:\.\d+)*\.?\s*[-–—:]?\s*")


@lru_cache(maxsize=1)
def section_kinds() -> dict[str, list[str]]:
    data = yaml.safe_load(SECTIONS_FILE.read_text(encoding="utf-8"))
    return {kind: [w.lower() for w in words] for kind, words in data["kinds"].items()}


def section_kind(heading: str | None) -> str | None:
    """Return the canonical kind of a heading, or None when it is none of them."""
    if not heading:
        return None
    text = LEADING_NUMBER.sub("", heading.lower()).strip()
    for kind, words in section_kinds().items():
        if any(word in text for word in words):
            return kind
    return None
