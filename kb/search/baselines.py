"""The bare baselines search is measured against: BM25 alone and dense retrieval alone.

No vocabulary, no spelling, no fusion, no re-ranking: BM25 over the query's words
as typed (OR-ed, stop words left out) in the store's FTS5 index, and the cosine of
the query's embedding against every passage vector. They run on the same store as
the searcher, so each figure of `scrkb eval search` has its comparison beside it.
"""

from __future__ import annotations

import re

from kb.search.vocabulary import STOPWORDS

BASELINES = ("bm25", "dense")


def bm25(searcher, query: str, k: int) -> list[str]:
    words = [w for w in re.findall(r"\w+", query) if w.lower() not in STOPWORDS]
    if not words:
        return []
    fts = " OR ".join(f'"{w}"' for w in dict.fromkeys(words))
    return [pid for pid, _ in searcher.catalogue.keyword_search(fts, k)]


def dense(searcher, query: str, k: int) -> list[str]:
    if not query.strip():
        return []
    vector = searcher.embedder.encode([query])[0]
    return [pid for pid, _ in searcher.matrix.fresh().score(vector, None, k)]


def baseline_ranking(searcher, name: str, query: str, k: int) -> list[str]:
    if name not in BASELINES:
        raise ValueError(f"baseline must be one of {', '.join(BASELINES)}, not {name!r}")
    return (bm25 if name == "bm25" else dense)(searcher, query, k)
