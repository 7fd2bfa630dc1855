"""Hybrid search: FTS5 BM25 and embedding similarity fused by weighted reciprocal rank fusion.

Unfiltered semantic ranking asks a Chroma server's HNSW index; filtered ranking takes the
candidate ids from the catalogue and scores them exactly against an in-memory
matrix of passage vectors, because a metadata filter in Chroma costs tens of
milliseconds at 100k vectors where a NumPy product over the subset costs a few.
With the embedded index every semantic ranking uses the matrix (see _semantic).
"""

from __future__ import annotations

import difflib
import threading
from collections import OrderedDict
from dataclasses import dataclass, field, replace

import numpy as np

from kb.models import Hit
from kb.nlp.embedding import Embedder
from kb.search.filters import SearchFilters
from kb.search.highlight import best_sentence, term_spans
from kb.search.term_statistics import TermStatistics
from kb.search.vocabulary import Term, Vocabulary
from kb.store.catalogue import Catalogue
from kb.store.vectors import VectorIndex

MODES = ("hybrid", "keyword", "semantic")
# Reciprocal rank fusion's k: 10 rewarded agreement near the top better than the usual 60 on
# the development queries (nDCG@10 0.555 against 0.526).
RRF_K = 10
# How alike a misspelt word and an indexed word must be (difflib ratio) to search for both.
SPELLING_CUTOFF = 0.8
CANDIDATES = 100
# A filtered keyword query keeping at least this share of the store is ranked unfiltered, over-fetching
# up to OVERFETCH_LIMIT rows, then filtered; narrower filters go to SQLite's join.
OVERFETCH_SHARE = 0.05
OVERFETCH_LIMIT = 5000
REMEMBERED_FILTERS = 32
# Passages this similar (cosine) are the same text: an executive summary repeating the report.
DUPLICATE_SIMILARITY = 0.96
# "More like this" reranks the closest passages of other cases: one that shows a failure the
# seed shows gains this much per shared theme (two at most), and an introduction, scope or
# method section, which every report has and which resembles every other, loses this much.
SIMILAR_POOL = 200
SHARED_THEME_BONUS = 0.08
GENERIC_SECTION_PENALTY = 0.1
GENERIC_SECTIONS = frozenset({"scope", "glossary", "appendix"})


@dataclass(frozen=True)
class Weights:
    """How much each ranking counts in the fusion; tuned on tests/data/search_dev.jsonl."""

    keyword: float = 1.5
    semantic: float = 1.0
    case: float = 1.0
    # With a theme filter, how strongly a passage shows the theme: above the words, so that "search within
    # this theme" puts a case's plain instance of the failure before a general discussion of it.
    theme: float = 5.0


@dataclass
class SearchResult:
    query: str
    mode: str
    hits: list[Hit]
    total: int  # distinct passages either ranking found, before paging
    offset: int = 0
    facets: dict[str, dict[str, int]] = field(default_factory=dict)
    total_is_estimate: bool = False  # `total` is an estimate (a ranking stopped at its cap): say "about N"
    corrections: list[tuple[str, str]] = field(default_factory=list)  # (word typed, word searched instead)
    searched_as: str | None = None  # the query actually searched, when it differs from the one typed
    no_match: bool = False  # nothing meaningful matched the query; hits is empty


def query_forms(terms: list[Term]) -> list[str]:
    """Every way of writing every term, reduced to the words FTS5 can search for."""
    forms = []
    for term in terms:
        for alternative in term.alternatives:
            words = "".join(c if c.isalnum() or c in " -'" else " " for c in alternative).split()
            if words:
                forms.append(" ".join(words).replace('"', ""))
    return list(dict.fromkeys(forms))


def fts_query(forms: list[str]) -> str | None:
    """An FTS5 query OR-ing the forms, each quoted so user syntax stays inert.

    Quoting means operators a user types (NEAR, column filters, stray quotes)
    are searched for as words, never run as FTS5 syntax.
    """
    return " OR ".join(f'"{form}"' for form in forms) or None


def fuse(rankings: dict[str, list[str]], weights: dict[str, float]) -> dict[str, float]:
    """Reciprocal rank fusion: each ranking adds weight / (k + rank) to the items it holds."""
    scores: dict[str, float] = {}
    for name, ids in rankings.items():
        for rank, pid in enumerate(ids, start=1):
            scores[pid] = scores.get(pid, 0.0) + weights.get(name, 1.0) / (RRF_K + rank)
    return scores


class _Matrix:
    """Every passage vector in memory, reloaded when the catalogue's generation changes."""

    def __init__(self, catalogue: Catalogue):
        self.catalogue = catalogue
        self.generation = -1
        self.ids: list[str] = []
        self.row: dict[str, int] = {}
        self.vectors = np.zeros((0, 0), dtype=np.float32)
        self.doc_ids: list[str] = []
        self.cases: list[str | None] = []
        self.rowids = np.zeros(0, dtype=np.int64)  # ascending: the catalogue's rowid of each row
        self._lock = threading.Lock()

    def fresh(self) -> "_Matrix":
        generation = self.catalogue.generation()
        if generation != self.generation:
            with self._lock:
                if generation != self.generation:
                    self.ids, self.vectors, self.doc_ids, self.cases, self.rowids = self.catalogue.embedding_matrix()
                    self.row = {pid: i for i, pid in enumerate(self.ids)}
                    self.generation = generation
        return self

    def rows_of(self, rowids: np.ndarray) -> np.ndarray:
        """Matrix rows of these catalogue rowids; rowids the matrix does not hold (yet) are left out."""
        if not len(self.rowids):
            return np.zeros(0, dtype=np.int64)
        rows = np.minimum(np.searchsorted(self.rowids, rowids), len(self.rowids) - 1)
        return rows[self.rowids[rows] == rowids]

    def score(self, query: np.ndarray, rows: np.ndarray | None, limit: int) -> list[tuple[str, float]]:
        """The `limit` rows most like the query, among `rows` (all when None)."""
        if rows is None:
            rows = np.arange(len(self.ids))
        if not len(rows):
            return []
        sims = self.vectors[rows] @ query
        top = np.argpartition(-sims, limit - 1)[:limit] if len(rows) > limit else np.arange(len(rows))
        top = top[np.argsort(-sims[top], kind="stable")]
        return [(self.ids[rows[i]], float(sims[i])) for i in top]


class Searcher:
    def __init__(
        self,
        catalogue: Catalogue,
        vectors: VectorIndex,
        embedder: Embedder,
        vocabulary: Vocabulary,
        theme_ids: list[str],
        weights: Weights = Weights(),
    ):
        self.catalogue = catalogue
        self.vectors = vectors
        self.embedder = embedder
        self.vocabulary = vocabulary
        self.theme_ids = theme_ids
        self.weights = weights
        self.matrix = _Matrix(catalogue)
        self.statistics = TermStatistics(catalogue)
        self._allowed_cache: OrderedDict[tuple, np.ndarray] = OrderedDict()
        self._allowed_lock = threading.Lock()

    def search(
        self,
        query: str,
        k: int = 10,
        mode: str = "hybrid",
        filters: SearchFilters | None = None,
        offset: int = 0,
        facets: bool = False,
        exact: bool = False,
    ) -> SearchResult:
        """Rank passages for a query; `exact` searches the words as typed, with no spelling correction."""
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
        filters = (filters or SearchFilters()).validate(self.theme_ids)
        terms = self.vocabulary.terms(query)
        if not exact:
            terms = self._corrected(terms)
        keyword = self._keyword(terms, filters) if mode != "semantic" else []
        # Keyword mode never embeds the query: its best sentence is chosen by the terms it holds.
        wanted = mode != "keyword" and query.strip()
        query_vector = self.embedder.encode([self.vocabulary.expand_for_embedding(query)])[0] if wanted else None
        semantic = self._semantic(query_vector, filters) if mode != "keyword" and query_vector is not None else []
        rankings = {"keyword": [p for p, _ in keyword], "semantic": [p for p, _ in semantic]}
        cases = self.vocabulary.cases_named(terms)
        if cases and not filters.cases:
            # A query naming a case ("Baby P health visitor") is mostly about that case's
            # reports, though few of their passages repeat the child's name.
            in_case = replace(filters, cases=tuple(cases))
            rankings["case"] = [
                p for p, _ in (self._semantic(query_vector, in_case) if query_vector is not None and mode != "keyword"
                               else self._keyword([t for t in terms if t.text.lower() not in self.vocabulary.cases], in_case))
            ]
        if filters.themes:
            rankings["theme"] = self._by_theme_strength(rankings, filters.themes)
        # A query that is nothing but a case's name is a request for that case's reports.
        naming = sum(t.text.lower() in self.vocabulary.cases for t in terms) / max(1, len(terms))
        case_weight = self.weights.case * (1 + 2 * naming)
        fused = fuse(rankings, {"keyword": self.weights.keyword, "semantic": self.weights.semantic, "case": case_weight,
                                "theme": self.weights.theme})
        ordered = sorted(fused, key=lambda pid: (-fused[pid], pid))
        groups = self._collapse(ordered)
        page = groups[offset : offset + k]
        hits = self._hits(page, fused, dict(keyword), dict(semantic), rankings, terms, query_vector)
        result = SearchResult(query, mode, hits, total=len(groups), offset=offset,
                              total_is_estimate=max(len(keyword), len(semantic)) >= CANDIDATES)
        if facets:
            result.facets = self.catalogue.facets(ordered)
        return result

    def similar(self, passage_id: str, k: int = 10) -> list[Hit]:
        """The passages most like this one in other cases (or other documents, when the case is unknown)."""
        matrix = self.matrix.fresh()
        if passage_id not in matrix.row:
            return []
        row = matrix.row[passage_id]
        doc, case = matrix.doc_ids[row], matrix.cases[row]
        ranked = matrix.score(matrix.vectors[row], None, len(matrix.ids))
        others = [
            (pid, sim) for pid, sim in ranked
            if matrix.doc_ids[matrix.row[pid]] != doc and (case is None or matrix.cases[matrix.row[pid]] != case)
        ][:SIMILAR_POOL]
        passages = self.catalogue.passages_by_id([passage_id, *(pid for pid, _ in others)])
        seed = passages.get(passage_id)
        shown = {m.theme_id for m in seed.themes if m.kind == "shows"} if seed else set()

        def score(pid: str, sim: float) -> float:
            found = passages.get(pid)
            if found is None:
                return sim
            shared = len(shown & {m.theme_id for m in found.themes if m.kind == "shows"})
            generic = found.section_kind in GENERIC_SECTIONS
            return sim + SHARED_THEME_BONUS * min(shared, 2) - GENERIC_SECTION_PENALTY * generic

        rescored = sorted(((pid, score(pid, sim)) for pid, sim in others), key=lambda x: (-x[1], x[0]))
        # One passage from each case first, so the list reaches across cases; then the next best.
        first, rest, seen = [], [], set()
        for pid, value in rescored:
            key = matrix.cases[matrix.row[pid]] or matrix.doc_ids[matrix.row[pid]]
            (rest if key in seen else first).append((pid, value))
            seen.add(key)
        chosen = (first + rest)[:k]
        scores, similarity = dict(chosen), dict(others)
        return self._hits([[pid] for pid, _ in chosen], scores, {}, similarity,
                          {"keyword": [], "semantic": [p for p, _ in others]}, [], matrix.vectors[row])

    def _by_theme_strength(self, rankings: dict[str, list[str]], themes: tuple[str, ...]) -> list[str]:
        """The candidates ordered by their tag score for the filtered themes (the weakest of them).

        Searching within a theme, a passage that plainly shows the failure should come
        before one that matches the words but shows it faintly (a general discussion).
        """
        candidates = list(dict.fromkeys(pid for ids in rankings.values() for pid in ids))
        tags = self.catalogue.themes_of(candidates)

        def strength(pid: str) -> float:
            scores = {m.theme_id: m.score for m in tags.get(pid, []) if m.kind == "shows"}
            return min((scores.get(t, 0.0) for t in themes), default=0.0)

        return sorted(candidates, key=lambda pid: (-strength(pid), pid))

    # --- the two rankings ------------------------------------------------------

    def _corrected(self, terms: list[Term]) -> list[Term]:
        """Add the nearest indexed word to each word the index has never seen ("sherrif")."""
        fixed = []
        for term in terms:
            word = term.text.lower()
            if term.phrase or " " in word or len(word) < 5 or not word.isalpha() or self.statistics.passages_with([word])[0]:
                fixed.append(term)
                continue
            close = difflib.get_close_matches(word, self.statistics.indexed_words(), n=2, cutoff=SPELLING_CUTOFF)
            fixed.append(Term(term.text, term.alternatives + tuple(close)) if close else term)
        return fixed

    def _keyword(self, terms: list[Term], filters: SearchFilters) -> list[tuple[str, float]]:
        query = fts_query(self.statistics.selective(query_forms(terms)))
        if not query:
            return []
        if filters.is_empty():
            return self.catalogue.keyword_search(query, CANDIDATES)
        allowed = self._allowed(filters)
        share = len(allowed) / max(1, len(self.matrix.fresh().rowids))
        if share >= OVERFETCH_SHARE:
            # Rank without the filter and keep the allowed rows: exact whenever enough survive,
            # and it spares the join a filtered FTS5 query makes for every matching passage.
            fetch = int(min(OVERFETCH_LIMIT, 2 * CANDIDATES / share))
            ranked = self.catalogue.keyword_ranking(query, fetch)
            rowids = np.fromiter((rowid for rowid, _, _ in ranked), dtype=np.int64, count=len(ranked))
            kept = [(pid, score) for (_, pid, score), ok in zip(ranked, np.isin(rowids, allowed)) if ok]
            if len(kept) >= CANDIDATES or len(ranked) < fetch:
                return kept[:CANDIDATES]
        where, params = filters.sql()
        return self.catalogue.keyword_search(query, CANDIDATES, where, params)

    def _semantic(self, vector: np.ndarray, filters: SearchFilters) -> list[tuple[str, float]]:
        if filters.is_empty() and not self.vectors.embedded:
            return self.vectors.query(vector, CANDIDATES)
        # An embedded index is opened only by the process writing it (an ingest), so readers rank the
        # catalogue's own vectors: exact, and reloaded as soon as a document commits.
        matrix = self.matrix.fresh()
        rows = None if filters.is_empty() else matrix.rows_of(self._allowed(filters))
        return matrix.score(vector, rows, CANDIDATES)

    def _allowed(self, filters: SearchFilters) -> np.ndarray:
        """The rowids a filter keeps; the last few filters are remembered, as a reader pages
        through results and both rankings of one query ask for the same filter."""
        key = (self.catalogue.generation(), self.catalogue.reviews_version() if filters.themes else 0, filters)
        with self._allowed_lock:
            if key in self._allowed_cache:
                self._allowed_cache.move_to_end(key)
                return self._allowed_cache[key]
        where, params = filters.sql()
        rowids = self.catalogue.filtered_rowids(where, params)
        with self._allowed_lock:
            self._allowed_cache[key] = rowids
            while len(self._allowed_cache) > REMEMBERED_FILTERS:
                self._allowed_cache.popitem(last=False)
        return rowids

    # --- results ---------------------------------------------------------------

    def _collapse(self, ordered: list[str]) -> list[list[str]]:
        """Group near-identical passages under the best-ranked one."""
        matrix = self.matrix.fresh()
        rows = [matrix.row.get(pid) for pid in ordered]
        vectors = np.zeros((len(ordered), matrix.vectors.shape[1] or 1), dtype=np.float32)
        for i, row in enumerate(rows):
            if row is not None:
                vectors[i] = matrix.vectors[row]
        similar = vectors @ vectors.T  # one product for all pairs; a passage without a vector matches none
        groups: list[list[str]] = []
        heads: list[int] = []
        for i, pid in enumerate(ordered):
            if heads:
                best = int(np.argmax(similar[i, heads]))
                if similar[i, heads[best]] >= DUPLICATE_SIMILARITY:
                    groups[best].append(pid)
                    continue
            groups.append([pid])
            heads.append(i)
        return groups

    def _hits(self, groups, fused, keyword, semantic, rankings, terms, query_vector) -> list[Hit]:
        ids = [pid for group in groups for pid in group]
        passages = self.catalogue.passages_by_id(ids)
        sentences = self.catalogue.sentence_vectors([g[0] for g in groups])
        documents = {}
        hits = []
        for group in groups:
            pid = group[0]
            passage = passages.get(pid)
            if passage is None:  # the index is ahead of the catalogue; `scrkb check` reports it
                continue
            doc = documents.setdefault(passage.doc_id, self.catalogue.document(passage.doc_id))
            if doc is None:  # replaced by an ingest since the passage was read
                continue
            spans = term_spans(passage.text, terms)
            best = best_sentence(sentences.get(pid, []), spans, query_vector)
            also = []
            for other in group[1:]:
                if other in passages:
                    other_doc = documents.setdefault(passages[other].doc_id, self.catalogue.document(passages[other].doc_id))
                    if other_doc is None:
                        continue
                    also.append({"passage_id": other, "doc_id": other_doc.doc_id, "title": other_doc.meta.title,
                                 "page": passages[other].page_start})
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
                    section_kind=passage.section_kind,
                    review_type=doc.meta.review_type,
                    text=passage.text,
                    score=round(fused[pid], 6),
                    keyword_score=round(keyword[pid], 4) if pid in keyword else None,
                    semantic_score=round(semantic[pid], 4) if pid in semantic else None,
                    keyword_rank=_rank(rankings["keyword"], pid),
                    semantic_rank=_rank(rankings["semantic"], pid),
                    best_sentence=passage.text[best[0] : best[1]] if best else None,
                    best_sentence_span=best,
                    highlights=spans,
                    themes=[m for m in passage.themes if m.shown],
                    also_in=also,
                    ocr=passage.ocr,
                )
            )
        return hits


def _rank(ids: list[str], pid: str) -> int | None:
    try:
        return ids.index(pid) + 1
    except ValueError:
        return None
