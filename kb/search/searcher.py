"""Hybrid search: BM25 (tantivy, pruned top-k) and embedding similarity, fused, then re-ranked.

Unfiltered semantic ranking asks a Chroma server's HNSW index; filtered ranking takes the
candidate ids from the catalogue and scores them exactly against an in-memory
matrix of passage vectors, because a metadata filter in Chroma costs tens of
milliseconds at 100k vectors where a NumPy product over the subset costs a few.
With the embedded index every semantic ranking uses the matrix (see _semantic).
The fused top is re-ranked with features of each candidate (kb/search/rerank.py),
and a query with no real evidence on either side answers that nothing matches
(kb/search/evidence.py).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field, replace

import numpy as np

from kb.models import Hit
from kb.nlp.embedding import Embedder
from kb.search.evidence import Evidence, weighs_nothing
from kb.search.filter_index import FilterIndex
from kb.search.filters import SearchFilters
from kb.search.highlight import best_sentence, term_spans
from kb.search.matrix import VectorMatrix
from kb.search.rerank import Reranker
from kb.search.similar import rank_similar
from kb.search.spelling import Correction, correct, rewrite
from kb.search.term_statistics import TermStatistics
from kb.search.vocabulary import Term, Vocabulary
from kb.store.catalogue import Catalogue
from kb.store.keyword_index import KeywordIndex
from kb.store.vectors import VectorIndex

MODES = ("hybrid", "keyword", "semantic")
# Reciprocal rank fusion's k: 10 rewarded agreement near the top better than the usual 60 on
# the development queries (nDCG@10 0.555 against 0.526).
RRF_K = 10
CANDIDATES = 100
# How much another way of writing a term (a synonym, the expansion of an abbreviation) counts
# against the words typed, in the keyword ranking.
ALTERNATIVE_WEIGHT = 0.5
# A filtered keyword query keeping at least this share of the store is ranked unfiltered, over-fetching
# up to OVERFETCH_LIMIT rows, then filtered; narrower filters restrict the index query to their rows.
OVERFETCH_SHARE = 0.05
OVERFETCH_LIMIT = 5000
REMEMBERED_FILTERS = 32
# Passages this similar (cosine) are the same text: an executive summary repeating the report.
DUPLICATE_SIMILARITY = 0.96
# A keyword count whose words together hold more passages than this is estimated, not counted:
# counting visits every posting, which is what the pruned ranking avoids.
EXACT_COUNT_LIMIT = 20_000


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
    total: int  # passages matching (the query's words, or among the closest in meaning), before paging
    offset: int = 0
    facets: dict[str, dict[str, int]] = field(default_factory=dict)
    total_is_estimate: bool = False  # True only where `total` is an estimate
    corrections: list[tuple[str, str]] = field(default_factory=list)  # (typed word, word searched instead)
    searched_as: str | None = None  # the query actually searched, when it differs from the one typed
    no_match: bool = False  # nothing matched meaningfully: no hits are returned


@dataclass
class Ranked:
    """A query's rankings and their fusion: what re-ranking, paging and counting start from."""

    terms: list[Term]
    corrections: list[Correction]
    searched: str
    filters: SearchFilters
    keyword_query: object
    keyword: list[tuple[str, float]]
    semantic: list[tuple[str, float]]
    rankings: dict[str, list[str]]
    fused: dict[str, float]
    ordered: list[str]
    query_vector: np.ndarray | None
    evidence: Evidence
    names_only: bool = False  # the query is nothing but a case's name


def query_forms(terms: list[Term]) -> list[str]:
    """Every way of writing every term, reduced to the words the keyword index can search for."""
    forms = []
    for term in terms:
        for alternative in term.alternatives:
            words = "".join(c if c.isalnum() or c in " -'" else " " for c in alternative).split()
            if words:
                forms.append(" ".join(words).replace('"', ""))
    return list(dict.fromkeys(forms))


def fuse(rankings: dict[str, list[str]], weights: dict[str, float]) -> dict[str, float]:
    """Reciprocal rank fusion: each ranking adds weight / (k + rank) to the items it holds."""
    scores: dict[str, float] = {}
    for name, ids in rankings.items():
        for rank, pid in enumerate(ids, start=1):
            scores[pid] = scores.get(pid, 0.0) + weights.get(name, 1.0) / (RRF_K + rank)
    return scores


class Searcher:
    def __init__(
        self,
        catalogue: Catalogue,
        vectors: VectorIndex,
        embedder: Embedder,
        vocabulary: Vocabulary,
        theme_ids: list[str],
        weights: Weights = Weights(),
        keywords: KeywordIndex | None = None,
    ):
        self.catalogue = catalogue
        self.vectors = vectors
        self.embedder = embedder
        self.vocabulary = vocabulary
        self.theme_ids = theme_ids
        self.weights = weights
        self.keywords = keywords or KeywordIndex(catalogue.path.parent / "keywords")
        self.matrix = VectorMatrix(catalogue)
        self.filter_index = FilterIndex(catalogue)
        self.statistics = TermStatistics(catalogue, self.keywords)
        self.reranker = Reranker.load()
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
        depth = max(CANDIDATES, 2 * (offset + k))
        ranked = self.rank(query, mode, filters, depth, exact)
        result = SearchResult(query, mode, [], total=0, offset=offset,
                              corrections=[(c.typed, c.searched) for c in ranked.corrections],
                              searched_as=ranked.searched if ranked.corrections else None)
        if weighs_nothing(ranked.evidence, mode):
            result.no_match = True
            return result
        ordered, fused = ranked.ordered, ranked.fused
        # A query that is only a case's name asks for that case's reports: the fused order, where the
        # case's ranking counts thrice, already says so, and the passages' words would not.
        if mode == "hybrid" and self.reranker.active and ranked.query_vector is not None and not ranked.names_only:
            ids = ordered[: self.reranker.depth]
            ordered, fused = self.reranker.rerank(ordered, fused, self.rerank_features(ranked, ids))
        keyword, semantic = dict(ranked.keyword), dict(ranked.semantic)
        groups = self._collapse(ordered, offset + k)
        result.hits = self._hits(groups[offset : offset + k], fused, keyword, semantic, ranked.rankings,
                                 ranked.terms, ranked.query_vector)
        result.total, result.total_is_estimate = self._total(ranked.keyword_query, ranked.filters, mode,
                                                             ranked.keyword, ranked.ordered, depth)
        if facets:
            result.facets = self.catalogue.facets(ordered)
        return result

    def rank(self, query: str, mode: str = "hybrid", filters: SearchFilters | None = None,
             depth: int = CANDIDATES, exact: bool = False) -> "Ranked":
        """Both rankings of a query and their fusion, before re-ranking and paging."""
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
        filters = (filters or SearchFilters()).validate(self.theme_ids)
        terms = self.vocabulary.terms(query)
        corrections: list[Correction] = [] if exact else correct(
            terms, self.statistics, self.vocabulary, self.embedder.is_whole_word)
        searched = rewrite(query, corrections) if corrections else query
        if corrections:
            terms = self.vocabulary.terms(searched)
        keyword_query = self._keyword_query(terms)
        keyword = self._keyword(keyword_query, filters, depth) if mode != "semantic" else []
        # Keyword mode never embeds the query: its best sentence is chosen by the terms it holds.
        wanted = mode != "keyword" and searched.strip()
        query_vector = self.embedder.encode([self.vocabulary.expand_for_embedding(searched)])[0] if wanted else None
        semantic = self._semantic(query_vector, filters, depth) if query_vector is not None else []
        rankings = {"keyword": [p for p, _ in keyword], "semantic": [p for p, _ in semantic]}
        cases = self.vocabulary.cases_named(terms)
        if cases and not filters.cases:
            # A query naming a case ("Baby P health visitor") is mostly about that case's
            # reports, though few of their passages repeat the child's name.
            in_case = replace(filters, cases=tuple(cases))
            if query_vector is not None:
                rankings["case"] = [p for p, _ in self._semantic(query_vector, in_case, depth)]
            else:
                rest = self._keyword_query([t for t in terms if t.text.lower() not in self.vocabulary.cases])
                rankings["case"] = [p for p, _ in self._keyword(rest, in_case, depth)]
        if filters.themes:
            rankings["theme"] = self._by_theme_strength(rankings, filters.themes)
        # A query that is nothing but a case's name is a request for that case's reports.
        naming = sum(t.text.lower() in self.vocabulary.cases for t in terms) / max(1, len(terms))
        case_weight = self.weights.case * (1 + 2 * naming)
        fused = fuse(rankings, {"keyword": self.weights.keyword, "semantic": self.weights.semantic, "case": case_weight,
                                "theme": self.weights.theme})
        ordered = sorted(fused, key=lambda pid: (-fused[pid], pid))
        evidence = Evidence.of(terms, self.statistics, keyword, semantic)
        return Ranked(terms, corrections, searched, filters, keyword_query, keyword, semantic, rankings, fused,
                      ordered, query_vector, evidence, names_only=bool(terms) and naming == 1)

    def rerank_features(self, ranked: "Ranked", ids: list[str]) -> np.ndarray:
        """The re-ranker's features of these candidates (kb/search/rerank.py)."""
        matrix = self.matrix.fresh()
        sentences = self.catalogue.sentence_vectors(ids)
        texts = self.catalogue.passage_texts(ids)
        forms = [
            [self.keywords.analyse(alternative) for alternative in term.alternatives] for term in ranked.terms
        ]
        coverage = {}
        for pid in ids:
            tokens = set(self.keywords.analyse(texts.get(pid, "")))
            held = sum(1 for term in forms if any(form and set(form) <= tokens for form in term))
            coverage[pid] = held / len(forms) if forms else 0.0
        lengths = {pid: len(text.split()) for pid, text in texts.items()}
        named = set(self.vocabulary.cases_named(ranked.terms))
        in_named = {pid for pid in ids if pid in matrix.row and matrix.cases[matrix.row[pid]] in named}
        return self.reranker.features(ids, ranked.fused, dict(ranked.keyword), dict(ranked.semantic),
                                      ranked.query_vector, matrix, sentences, coverage, lengths, in_named)

    def similar(self, passage_id: str, k: int = 10) -> list[Hit]:
        """The passages most like this one in other cases (or other documents, when the case is unknown)."""
        matrix = self.matrix.fresh()
        if passage_id not in matrix.row:
            return []
        chosen, others = rank_similar(matrix, self.catalogue, passage_id, k)
        return self._hits([[pid] for pid, _ in chosen], dict(chosen), {}, dict(others),
                          {"keyword": [], "semantic": [p for p, _ in others]}, [], matrix.vectors[matrix.row[passage_id]])

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

    def _keyword_query(self, terms: list[Term]):
        kept = set(self.statistics.selective(query_forms(terms)))
        # Each term's forms, the one typed first: the others count less (ALTERNATIVE_WEIGHT).
        typed_first = [replace(term, alternatives=(term.text, *term.alternatives)) for term in terms]
        groups = [[self.keywords.analyse(form) for form in query_forms([term]) if form in kept] for term in typed_first]
        return self.keywords.query(groups, self.reranker.field_boosts, ALTERNATIVE_WEIGHT)

    def _keyword(self, query, filters: SearchFilters, limit: int = CANDIDATES) -> list[tuple[str, float]]:
        if query is None:
            return []
        if filters.is_empty():
            ranked = self.keywords.search(query, limit)
        else:
            allowed = self._allowed(filters)
            share = len(allowed) / max(1, len(self.matrix.fresh().rowids))
            ranked = None
            if share >= OVERFETCH_SHARE:
                # Rank without the filter and keep the allowed rows: exact whenever enough survive,
                # and the pruned ranking stays pruned.
                fetch = int(min(OVERFETCH_LIMIT, 2 * limit / share))
                wide = self.keywords.search(query, fetch)
                rowids = np.fromiter((rowid for rowid, _ in wide), dtype=np.int64, count=len(wide))
                kept = [hit for hit, ok in zip(wide, _within(rowids, allowed)) if ok]
                if len(kept) >= limit or len(wide) < fetch:
                    ranked = kept[:limit]
            if ranked is None:
                ranked = self.keywords.search(self.keywords.within(query, allowed), limit) if len(allowed) else []
        ids = self.matrix.fresh().ids_at([rowid for rowid, _ in ranked])
        missing = [rowid for rowid, _ in ranked if rowid not in ids]
        if missing:  # added since the matrix was loaded
            ids.update(self.catalogue.passage_ids_at(missing))
        return [(ids[rowid], score) for rowid, score in ranked if rowid in ids]

    def _semantic(self, vector: np.ndarray, filters: SearchFilters, limit: int = CANDIDATES) -> list[tuple[str, float]]:
        matrix = self.matrix.fresh()
        if self.vectors.embedded:
            # An embedded index is opened only by the process writing it (an ingest), so readers rank the
            # catalogue's own vectors: exact, and reloaded as soon as a document commits.
            return matrix.score(vector, None if filters.is_empty() else matrix.rows_of(self._allowed(filters)), limit)
        if filters.is_empty():
            return self.vectors.query(vector, limit)
        allowed = self._allowed(filters)
        share = len(allowed) / max(1, len(matrix.rowids))
        if share >= OVERFETCH_SHARE:
            # A broad filter: the index's nearest neighbours, over-fetched, then filtered. Scoring a
            # quarter of 540,000 vectors exactly reads 200 MB a query; the index reads a few.
            fetch = int(min(OVERFETCH_LIMIT, 2 * limit / share))
            wide = [(pid, sim) for pid, sim in self.vectors.query(vector, fetch) if pid in matrix.row]
            rowids = matrix.rowids[np.fromiter((matrix.row[pid] for pid, _ in wide), dtype=np.int64, count=len(wide))]
            kept = [hit for hit, ok in zip(wide, _within(rowids, allowed)) if ok]
            if len(kept) >= limit or len(wide) < fetch:
                return kept[:limit]
        return matrix.score(vector, matrix.rows_of(allowed), limit)

    def _total(self, query, filters: SearchFilters, mode: str, keyword, ordered: list[str], depth: int) -> tuple[int, bool]:
        """Passages matching, and whether that is an estimate.

        Keyword matches are those holding a query word, counted in the index (estimated
        when their words together hold very many passages, as counting visits every
        posting, which the pruned ranking avoids, and within a broad filter when more
        than OVERFETCH_LIMIT match unfiltered); the passages ranked by meaning alone are
        added, counted exactly. By meaning alone the count is an estimate when the
        ranking was cut at its depth: more passages would have followed.
        """
        if query is None or mode == "semantic":
            return len(ordered), len(ordered) >= depth
        allowed = None if filters.is_empty() else self._allowed(filters)
        share = 1.0 if allowed is None else len(allowed) / max(1, len(self.matrix.fresh().rowids))
        if allowed is not None and share < OVERFETCH_SHARE:
            matching, estimate = self.keywords.count(self.keywords.within(query, allowed)), False
        elif self.keywords.count_bound(query) > EXACT_COUNT_LIMIT:
            matching, estimate = round(self.keywords.estimate(query) * share), True
        else:
            matching, estimate = self.keywords.count(query), False
            if allowed is not None:
                # Counting within a broad filter would be a query over tens of thousands of rowids:
                # the unfiltered matches are listed and kept when few, else the filter's share stands in.
                if matching <= OVERFETCH_LIMIT:
                    rowids = np.fromiter((r for r, _ in self.keywords.search(query, max(1, matching))), dtype=np.int64)
                    matching = int(_within(rowids, allowed).sum())
                else:
                    matching, estimate = round(matching * share), True
        held = {pid for pid, _ in keyword}
        others = [pid for pid in ordered if pid not in held]
        if others and matching <= len(held):  # every keyword match was ranked: the others hold no query word
            matching += len(others)
        elif others:
            rowids = np.asarray(sorted(self.catalogue.rowids_of(others).values()), dtype=np.int64)
            matching += len(others) - self.keywords.count(self.keywords.within(query, rowids))
        return max(matching, len(ordered)), estimate

    def _allowed(self, filters: SearchFilters) -> np.ndarray:
        """The rowids a filter keeps (kb/search/filter_index.py); the last few filters are remembered,
        as a reader pages through results and both rankings of one query ask for the same filter."""
        key = (self.catalogue.generation(), self.catalogue.reviews_version() if filters.themes else 0, filters)
        with self._allowed_lock:
            if key in self._allowed_cache:
                self._allowed_cache.move_to_end(key)
                return self._allowed_cache[key]
        rowids = self.filter_index.fresh().allowed(filters)
        with self._allowed_lock:
            self._allowed_cache[key] = rowids
            while len(self._allowed_cache) > REMEMBERED_FILTERS:
                self._allowed_cache.popitem(last=False)
        return rowids

    # --- results ---------------------------------------------------------------

    def _collapse(self, ordered: list[str], wanted: int | None = None) -> list[list[str]]:
        """Group near-identical passages under the best-ranked one.

        Only as far down the ranking as `wanted` groups need (three candidates a group):
        the groups past the page are never shown.
        """
        if wanted is not None:
            ordered = ordered[: 3 * wanted]
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


def _within(rowids: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    """Which of these rowids the ascending `allowed` holds: a binary search each, where np.isin
    would hash all of `allowed` (tens of thousands of rows) on every query."""
    if not len(allowed):
        return np.zeros(len(rowids), dtype=bool)
    at = np.minimum(np.searchsorted(allowed, rowids), len(allowed) - 1)
    return allowed[at] == rowids


def _rank(ids: list[str], pid: str) -> int | None:
    try:
        return ids.index(pid) + 1
    except ValueError:
        return None
