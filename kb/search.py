"""Hybrid search: FTS5 BM25 and Chroma nearest neighbours, fused by reciprocal rank fusion."""

from __future__ import annotations

import re
from dataclasses import dataclass

from kb.catalogue import Catalogue
from kb.embedding import Embedder
from kb.models import Hit
from kb.vectors import VectorIndex

MODES = ("hybrid", "keyword", "semantic")
RRF_K = 60
CANDIDATES = 50
STOPWORDS = frozenset(
    "a an and are as at be but by for from had has have he her his in into is it its of on or "
    "she that the their them then there they this to was were what when where which who why "
    "will with would".split()
)
QUOTED = re.compile(r'"([^"]+)"')
WORD = re.compile(r"[\w'’&]+", re.UNICODE)


@dataclass(frozen=True)
class Weights:
    keyword: float = 1.0
    semantic: float = 1.0


def fts_query(text: str) -> str | None:
    """Build a safe FTS5 query: quoted phrases kept, other words OR-ed, each term quoted.

    Quoting every term means FTS5 operators typed by a user (NEAR, column
    filters, stray quotes) are searched for as words, never run as syntax.
    """
    terms = []
    for phrase in QUOTED.findall(text):
        words = WORD.findall(phrase)
        if words:
            terms.append('"' + " ".join(w.replace('"', "") for w in words) + '"')
    rest = QUOTED.sub(" ", text)
    for word in WORD.findall(rest):
        word = word.strip("'’").lower()
        if word and word not in STOPWORDS:
            terms.append(f'"{word}"')
    return " OR ".join(dict.fromkeys(terms)) or None


def fuse(rankings: dict[str, list[str]], weights: dict[str, float]) -> dict[str, float]:
    """Reciprocal rank fusion: each ranking adds weight / (k + rank) to the items it holds."""
    scores: dict[str, float] = {}
    for name, ids in rankings.items():
        for rank, pid in enumerate(ids, start=1):
            scores[pid] = scores.get(pid, 0.0) + weights.get(name, 1.0) / (RRF_K + rank)
    return scores


class Searcher:
    def __init__(self, catalogue: Catalogue, vectors: VectorIndex, embedder: Embedder, weights: Weights = Weights()):
        self.catalogue = catalogue
        self.vectors = vectors
        self.embedder = embedder
        self.weights = weights

    def search(self, query: str, k: int = 10, mode: str = "hybrid") -> list[Hit]:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
        keyword: list[tuple[str, float]] = []
        semantic: list[tuple[str, float]] = []
        if mode in ("hybrid", "keyword"):
            fts = fts_query(query)
            keyword = self.catalogue.keyword_search(fts, CANDIDATES) if fts else []
        if mode in ("hybrid", "semantic") and query.strip():
            semantic = self.vectors.query(self.embedder.encode([query])[0], CANDIDATES)
        rankings = {"keyword": [p for p, _ in keyword], "semantic": [p for p, _ in semantic]}
        fused = fuse(rankings, {"keyword": self.weights.keyword, "semantic": self.weights.semantic})
        best = sorted(fused, key=lambda pid: -fused[pid])[:k]
        return self._hits(best, fused, dict(keyword), dict(semantic), rankings)

    def _hits(self, ids, fused, keyword, semantic, rankings) -> list[Hit]:
        passages = self.catalogue.passages_by_id(ids)
        documents = {}
        hits = []
        for pid in ids:
            passage = passages.get(pid)
            if passage is None:  # the index is ahead of the catalogue; `scrkb check` reports it
                continue
            doc = documents.get(passage.doc_id) or self.catalogue.document(passage.doc_id)
            documents[passage.doc_id] = doc
            hits.append(
                Hit(
                    passage_id=pid,
                    doc_id=passage.doc_id,
                    title=doc.meta.title,
                    case=doc.meta.case,
                    year=doc.meta.year_published,
                    source_path=doc.source_path,
                    page=passage.page_start,
                    page_end=passage.page_end,
                    section=passage.section,
                    text=passage.text,
                    score=round(fused[pid], 6),
                    keyword_score=round(keyword[pid], 4) if pid in keyword else None,
                    semantic_score=round(semantic[pid], 4) if pid in semantic else None,
                    keyword_rank=_rank(rankings["keyword"], pid),
                    semantic_rank=_rank(rankings["semantic"], pid),
                )
            )
        return hits


def _rank(ids: list[str], pid: str) -> int | None:
    try:
        return ids.index(pid) + 1
    except ValueError:
        return None
