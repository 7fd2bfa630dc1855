"""Where a query's terms occur in a passage, and which sentence answers it best."""

from __future__ import annotations

import re
from functools import lru_cache

import numpy as np

from kb.search.vocabulary import Term

SUFFIXES = ("ing", "ies", "ied", "ed", "es", "s", "ly")


def stem(word: str) -> str:
    """A light stem for highlighting: enough that "visits" finds "visit" and "visited"."""
    lower = word.lower()
    for suffix in SUFFIXES:
        if lower.endswith(suffix) and len(lower) - len(suffix) >= 4:
            return lower[: -len(suffix)]
    return lower


@lru_cache(maxsize=4096)
def _pattern(alternative: str) -> re.Pattern:
    words = re.findall(r"\w+", alternative)
    if not words:
        return re.compile(r"(?!x)x")
    body = r"\W{1,3}".join(re.escape(w) for w in words[:-1])
    last = re.escape(stem(words[-1])) + r"\w*"
    return re.compile(r"\b" + (body + r"\W{1,3}" if body else "") + last, re.IGNORECASE)


def term_spans(text: str, terms: list[Term]) -> list[tuple[int, int]]:
    """Character spans of every query term (in any of its forms), merged and in order."""
    spans = []
    for term in terms:
        for alternative in term.alternatives:
            spans.extend(m.span() for m in _pattern(alternative).finditer(text))
    spans.sort()
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def best_sentence(
    sentences: list[tuple[int, int, np.ndarray]], spans: list[tuple[int, int]], query_vector: np.ndarray | None
) -> tuple[int, int] | None:
    """The sentence most similar to the query, nudged towards those holding its terms."""
    if not sentences:
        return None

    def score(sentence):
        start, end, vector = sentence
        hits = sum(1 for s, e in spans if s >= start and e <= end)
        similarity = float(vector @ query_vector) if query_vector is not None else 0.0
        return similarity + 0.05 * min(hits, 4)

    start, end, _ = max(sentences, key=score)
    return start, end
