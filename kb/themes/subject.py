"""Whether a child is in the scene: a theme that exists only where a child is at risk (a parent's
drinking, a child not seen, a baby's bruising) is not coded in a report about an adult, such as a
coroner's report on an adult's death or a safeguarding adults review, except in its passages that
mention a child.

The learnt model cannot know this from one passage: a passage on a man's depression reads the same
in a review of his child's death and in an inquest into his own, and in serious case reviews, the
text it learnt from, every adult is someone's parent.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import numpy as np

# Words that put a child at the centre of a report, or in a passage. Not "son" or "daughter": in a report
# on an adult's death they are mostly the adult's grown children, who gave evidence (counting them left
# 35 coroners' reports tagged with parental mental health rather than 16, where 10 show it).
CHILD = re.compile(
    r"\b(?:child(?:ren|hood)?|bab(?:y|ies)|infants?|toddlers?|new-?borns?|pupils?|young (?:person|people)"
    r"|teenagers?|adolescents?|CAMHS|paediatric\w*|nurser(?:y|ies)|schools?)\b", re.I,
)
# What a report about an adult says of itself. Without one of these a report is taken as a child's, the
# genre scrkb is for: a short review passage about a mother's drinking may not name the child at all.
ADULT = re.compile(
    r"\b(?:inquests?|coroners?|deceased|Regulation 28|prevent(?:ion of)? future deaths"
    r"|safeguarding adults? reviews?|adults? at risk|Care Act|domestic homicide reviews?|adult social care"
    r"|adult safeguarding|vulnerable adults?)\b", re.I,
)
# The sample reviews use CHILD's words 13 to 44 times per 1,000 words; the 218 coroners' reports in
# bench/pfd_themes.py 0 to 16, and 211 of them under 5 (216 of the 218 say they are an inquest's).
CHILD_DENSITY = 5.0
# Under this many words a document says too little to tell, and is taken as a child's.
MIN_WORDS = 120


def about_adult(texts: Sequence[str]) -> bool:
    """Whether a document, given as its passages' texts, is about an adult: it says so, is long enough
    to tell, and rarely speaks of a child."""
    words = sum(len(t.split()) for t in texts)
    if words < MIN_WORDS or not any(ADULT.search(t) for t in texts):
        return False
    return 1000 * sum(len(CHILD.findall(t)) for t in texts) / words < CHILD_DENSITY


def child_present(texts: Sequence[str]) -> list[bool]:
    """For the passages of one document: whether a child is in each one's scene (all of them, in a
    report that is not about an adult)."""
    if not about_adult(texts):
        return [True] * len(texts)
    return [bool(CHILD.search(t)) for t in texts]


def child_present_by_passage(documents: Iterable[tuple[list[str], list[str]]]) -> dict[str, bool]:
    """`child_present` over a store: each document given as (passage ids, texts)."""
    present: dict[str, bool] = {}
    for ids, texts in documents:
        present.update(zip(ids, child_present(texts)))
    return present


def without_child_themes(probs: np.ndarray, child_only: np.ndarray, present: Sequence[bool] | None) -> np.ndarray:
    """Probabilities with each child-only theme set to 0 where no child is in the scene; `present`
    None (a passage on its own, as in an evaluation set) leaves them all."""
    if present is None:
        return probs
    absent = ~np.asarray(present, dtype=bool)
    return np.where(absent[:, None] & child_only.astype(bool)[None, :], 0.0, probs).astype(np.float32)
