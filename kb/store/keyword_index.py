"""The one module that imports tantivy: the keyword (BM25) index over passages.

Tantivy ranks a top-k by block-max WAND, skipping the postings that cannot reach
the k-th score, where FTS5 scores every passage that holds any query word. Like
the vector index it is derived: the catalogue is the source of truth, passages
are written here after the catalogue commits (keyed by the catalogue's rowid and
grouped by document, so a document is replaced by deleting its term), and
`scrkb reindex` rebuilds it. A commit is atomic (tantivy swaps its meta.json), so
a kill mid-ingest leaves the last committed state, and the document stays marked
pending in the catalogue until its passages are here.

Each passage holds its text (stemmed, with positions for phrases), its section
heading and its report's title (stemmed), and its text's surface words (lower-
cased, unstemmed, without positions): the words a misspelling is corrected to.
"""

from __future__ import annotations

import os
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tantivy

ANALYZER = "scrkb"
SURFACE = "scrkb_surface"
WRITER_HEAP = 64_000_000
FIELDS = ("text", "section", "title")
# Tokens longer than this are not words (hashes, URLs run together): tantivy drops them too.
LONGEST_TOKEN = 40
# Hits fetched beyond the limit, so that passages tied at the limit are all seen before ties are broken.
TIE_MARGIN = 16


@dataclass(frozen=True)
class KeywordQuery:
    """A built query and the analysed forms it OR-s (one token a term, several a phrase)."""

    query: object
    forms: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class IndexedPassage:
    rowid: int
    text: str
    section: str | None = None
    title: str | None = None


def _analyzer(stem: bool) -> "tantivy.TextAnalyzer":
    builder = (tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
               .filter(tantivy.Filter.remove_long(LONGEST_TOKEN))
               .filter(tantivy.Filter.lowercase())
               .filter(tantivy.Filter.ascii_fold()))
    if stem:
        builder = builder.filter(tantivy.Filter.stemmer("english"))
    return builder.build()


def _schema() -> "tantivy.Schema":
    builder = tantivy.SchemaBuilder()
    builder.add_unsigned_field("rowid", indexed=True, fast=True)
    builder.add_text_field("doc", tokenizer_name="raw", index_option="basic")
    for field in FIELDS:
        builder.add_text_field(field, tokenizer_name=ANALYZER, index_option="position")
    builder.add_text_field("words", tokenizer_name=SURFACE, index_option="basic")
    return builder.build()


class KeywordIndex:
    """BM25 over passages in a tantivy index folder; safe to read from several threads."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._meta_path = str(self.path / "meta.json")
        self._index = None
        self._lock = threading.RLock()
        self._searcher = None
        self._version: tuple | None = None  # meta.json's (mtime, size) when the searcher was taken
        self._stemmer = _analyzer(stem=True)
        self._surface = _analyzer(stem=False)

    # --- opening -----------------------------------------------------------------

    @property
    def index(self) -> "tantivy.Index":
        if self._index is None:
            with self._lock:
                if self._index is None:
                    self.path.mkdir(parents=True, exist_ok=True)
                    index = tantivy.Index(_schema(), path=str(self.path))
                    index.register_tokenizer(ANALYZER, self._stemmer)
                    index.register_tokenizer(SURFACE, self._surface)
                    # Another process's commit (an ingest beside the web app) is picked up on its own.
                    index.config_reader(reload_policy="commit")
                    self._index = index
        return self._index

    def exists(self) -> bool:
        return self._meta() is not None

    def _meta(self) -> tuple | None:
        try:
            stat = os.stat(self._meta_path)
        except FileNotFoundError:
            return None
        return stat.st_mtime_ns, stat.st_size

    def analyse(self, text: str) -> list[str]:
        """Text as the index's stemmed tokens."""
        return self._stemmer.analyze(text)

    def surface_words(self, text: str) -> list[str]:
        return self._surface.analyze(text)

    # --- writing -----------------------------------------------------------------

    def replace_documents(self, documents: dict[str, list[IndexedPassage]]) -> None:
        """Make the index hold exactly these passages for these documents, in one commit."""
        writer = self.index.writer(WRITER_HEAP, 1)
        try:
            for doc_id, passages in documents.items():
                writer.delete_documents_by_term("doc", doc_id)
                for passage in passages:
                    writer.add_document(self._document(doc_id, passage))
            writer.commit()
        except BaseException:
            writer.rollback()
            raise
        finally:
            writer.wait_merging_threads()
        self.index.reload()

    def delete_documents(self, doc_ids: list[str]) -> None:
        if not doc_ids or not self.exists():
            return
        writer = self.index.writer(WRITER_HEAP, 1)
        try:
            for doc_id in doc_ids:
                writer.delete_documents_by_term("doc", doc_id)
            writer.commit()
        finally:
            writer.wait_merging_threads()
        self.index.reload()

    def clear(self) -> None:
        """Remove the whole index (a full reindex writes it again)."""
        self._index = self._searcher = self._version = None
        shutil.rmtree(self.path, ignore_errors=True)

    def _document(self, doc_id: str, passage: IndexedPassage) -> "tantivy.Document":
        document = tantivy.Document()
        document.add_unsigned("rowid", passage.rowid)
        document.add_text("doc", doc_id)
        document.add_text("text", passage.text)
        document.add_text("words", passage.text)
        if passage.section:
            document.add_text("section", passage.section)
        if passage.title:
            document.add_text("title", passage.title)
        return document

    # --- reading -----------------------------------------------------------------

    @property
    def searcher(self) -> "tantivy.Searcher":
        """A searcher over the last commit, taken again only when a commit (of any process) changed meta.json."""
        version = self._meta()
        if version != self._version or self._searcher is None:
            with self._lock:
                if version != self._version or self._searcher is None:
                    index = self.index
                    if self._searcher is not None:
                        index.reload()
                    self._searcher, self._version = index.searcher(), version
        return self._searcher

    def passage_count(self) -> int:
        return self.searcher.num_docs if self.exists() else 0

    def doc_freq(self, token: str, field: str = "text") -> int:
        """Passages holding this (analysed) token."""
        return self.searcher.doc_freq(field, token) if self.exists() else 0

    def words(self) -> dict[str, int]:
        """Every surface word of the passages, with the number of passages holding it."""
        if not self.exists():
            return {}
        return dict(self.searcher.terms_with_prefix("words", ""))

    def query(self, groups: list[list[list[str]]], boosts: dict[str, float] | None = None,
              alternative_weight: float = 1.0) -> KeywordQuery | None:
        """OR of the groups, each scoring as its best form (a term and its other spellings or synonyms:
        a passage holding "HV" and "health visitor" is no likelier the answer than one holding either).
        A group's first form is the one typed; the others count `alternative_weight` as much.

        A form is a list of analysed tokens: one is a term, several a phrase; each is looked
        for in every field with a positive boost.
        """
        schema = self.index.schema
        boosts = boosts or {"text": 1.0}
        clauses, forms = [], []
        for group in groups:
            alternatives = []
            for n, tokens in enumerate(group):
                if not tokens:
                    continue
                forms.append(tuple(tokens))
                for field, boost in boosts.items():
                    boost *= 1.0 if n == 0 else alternative_weight
                    if boost <= 0:
                        continue
                    q = (tantivy.Query.term_query(schema, field, tokens[0]) if len(tokens) == 1
                         else tantivy.Query.phrase_query(schema, field, tokens))
                    alternatives.append(q if boost == 1.0 else tantivy.Query.boost_query(q, boost))
            if len(alternatives) == 1:
                clauses.append((tantivy.Occur.Should, alternatives[0]))
            elif alternatives:
                clauses.append((tantivy.Occur.Should, tantivy.Query.disjunction_max_query(alternatives)))
        if not clauses:
            return None
        return KeywordQuery(tantivy.Query.boolean_query(clauses), tuple(dict.fromkeys(forms)))

    def within(self, query: KeywordQuery, rowids: np.ndarray) -> KeywordQuery:
        """The query restricted to these passages, scored as before."""
        allowed = tantivy.Query.term_set_query(self.index.schema, "rowid", [int(r) for r in rowids])
        return KeywordQuery(tantivy.Query.boolean_query([
            (tantivy.Occur.Must, query.query),
            (tantivy.Occur.Must, tantivy.Query.const_score_query(allowed, 0.0)),
        ]), query.forms)

    def count_bound(self, query: KeywordQuery) -> int:
        """At most how many passages match: the sum of each form's rarest token's passages."""
        return sum(min(self.doc_freq(t) for t in form) for form in query.forms)

    def estimate(self, query: KeywordQuery) -> int:
        """About how many passages match, as if the forms occurred independently."""
        n = max(1, self.passage_count())
        missing = 1.0
        for form in query.forms:
            missing *= 1.0 - min(self.doc_freq(t) for t in form) / n
        return round(n * (1.0 - missing))

    def search(self, query: KeywordQuery, limit: int) -> list[tuple[int, float]]:
        """The top `limit` passages as (rowid, score), best first: pruned, never counted."""
        if not self.exists() or limit <= 0:
            return []
        # Equal scores (the same words in two reports) come back in the order of the index's segments,
        # which differ between an index written as documents arrived and one rebuilt in one go. Ties are
        # broken by the catalogue's order instead, so a tie cut by the limit is fetched whole first.
        searcher = self.searcher
        fetch = limit + TIE_MARGIN
        while True:
            hits = searcher.search(query.query, fetch, count=False).hits
            if len(hits) < fetch or hits[-1][0] < hits[limit - 1][0]:
                break
            fetch *= 4
        if not hits:
            return []
        rowids = searcher.fast_field_values("rowid", [address for _, address in hits])
        ranked = [(int(r), float(score)) for (score, _), r in zip(hits, rowids)]
        return sorted(ranked, key=lambda hit: (-hit[1], hit[0]))[:limit]

    def count(self, query: KeywordQuery) -> int:
        """How many passages match (every posting visited: only where a true count is wanted)."""
        if not self.exists():
            return 0
        # Constant scores: the count needs every matching passage, never its BM25.
        return self.searcher.search(tantivy.Query.const_score_query(query.query, 1.0), 1, count=True).count

    def rowids(self) -> np.ndarray:
        """The rowid of every indexed passage, ascending (for `scrkb check`)."""
        if not self.exists():
            return np.zeros(0, dtype=np.int64)
        searcher = self.searcher
        n = searcher.num_docs
        if not n:
            return np.zeros(0, dtype=np.int64)
        hits = searcher.search(tantivy.Query.all_query(), n, count=False).hits
        values = searcher.fast_field_values("rowid", [address for _, address in hits])
        return np.sort(np.asarray(values, dtype=np.int64))
