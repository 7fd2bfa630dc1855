"""The KnowledgeBase facade: the one object the CLI, the ingest pipeline and the web app use."""

from __future__ import annotations

from dataclasses import replace
from functools import cached_property
from pathlib import Path

import numpy as np

from kb.models import Document, Hit, Passage
from kb.nlp.embedding import Embedder, backend_for_store
from kb.research.packs import Packs
from kb.search.filters import SearchFilters
from kb.search.searcher import Searcher, SearchResult
from kb.search.vocabulary import Vocabulary
from kb.settings import Settings
from kb.sources.report_catalogue import ReportCatalogue
from kb.sources.review_types import not_about_a_case
from kb.store.accounts import Accounts
from kb.store.catalogue import Catalogue
from kb.store.page_cache import PageImageCache, page_key
from kb.store.keyword_index import IndexedPassage, KeywordIndex
from kb.store.vectors import VectorIndex
from kb.themes.calibration import Calibration
from kb.themes.quality import Quality, load_quality
from kb.themes.reviews import TagReviews
from kb.themes.subject import child_present_by_passage
from kb.themes.model import ThemeModel
from kb.themes.tagger import ThemeTagger
from kb.themes.taxonomy import load_taxonomy

# Thresholds a team recalibrated on its own reviews (`scrkb eval themes --from-reviews --calibrate`),
# kept in the store home: they belong to this store's coding, not to the package.
REVIEW_CALIBRATION = "calibration_from_reviews.yaml"


# Part of every cached page image's name: change it when rendering changes, and old images go unused.
PAGE_IMAGE_VERSION = 1


class KnowledgeBase:
    """A store directory: the SQLite catalogue plus the Chroma index. Cheap to construct."""

    def __init__(self, settings: Settings | None = None):
        self.settings = settings or Settings.load()
        self.catalogue = Catalogue(self.settings.catalogue_db)

    @cached_property
    def vectors(self) -> VectorIndex:
        return VectorIndex(self.settings.vector_dir, url=self.settings.chroma_url, timeout=self.settings.chroma_timeout)

    @cached_property
    def keywords(self) -> KeywordIndex:
        return KeywordIndex(self.settings.keyword_dir)

    @cached_property
    def accounts(self) -> Accounts:
        """Users, roles and the audit log (a separate file: copying reports never copies passwords)."""
        return Accounts(self.settings.accounts_db)

    @cached_property
    def embedder(self) -> Embedder:
        """The embedding model, run at the precision that built the store's vectors (else as configured)."""
        backend = backend_for_store(self.settings.embedding_backend, self.catalogue.embedding_backends())
        return Embedder(self.settings.embed_batch_size, backend, self.settings.model_cache)

    @cached_property
    def reports(self) -> ReportCatalogue:
        return ReportCatalogue.load(self.settings.catalogue)

    @cached_property
    def tagger(self) -> ThemeTagger:
        own = self.settings.home / REVIEW_CALIBRATION
        return ThemeTagger(
            load_taxonomy(self.settings.user_themes), self.embedder,
            Calibration.load(own) if own.exists() else Calibration.load(), cache_dir=self.settings.home / "cache",
            model=ThemeModel.load(),
        )

    @cached_property
    def theme_quality(self) -> Quality:
        """The tagger's measured precision and recall per theme, for the running taxonomy version."""
        return load_quality(self.tagger.version, self.settings.theme_quality)

    @cached_property
    def reviews(self) -> TagReviews:
        """Reviewers' verdicts on theme tags (stored in the catalogue, audited in the accounts database)."""
        return TagReviews(self.catalogue, self.tagger.taxonomy, lambda *event: self.accounts.record(*event))

    @cached_property
    def vocabulary(self) -> Vocabulary:
        return Vocabulary.load(self.reports.aliases())

    @cached_property
    def searcher(self) -> Searcher:
        return Searcher(self.catalogue, self.vectors, self.embedder, self.vocabulary, self.tagger.taxonomy.ids,
                        keywords=self.keywords)

    @cached_property
    def page_cache(self) -> PageImageCache:
        return PageImageCache(self.settings.page_cache_dir, self.settings.page_cache_mb * 2**20)

    def warm_up(self) -> None:
        """Load the models and the vector matrix now, so the first request is not the slow one."""
        if not self.vectors.embedded:
            # An unreachable Chroma server fails now, before seconds of model loading. An embedded
            # index is never opened by a reader: searches rank the catalogue's vectors instead.
            self.vectors.open()
        self.search("warm up", k=1)
        self.searcher.filter_index.fresh()
        _ = self.tagger.classifier

    # --- reading -------------------------------------------------------------

    def stats(self) -> dict[str, int]:
        return self.catalogue.stats(not_cases=not_about_a_case())

    def is_empty(self) -> bool:
        return self.catalogue.stats()["documents"] == 0

    def search(
        self, query: str, k: int = 10, mode: str = "hybrid", filters: SearchFilters | None = None,
        offset: int = 0, facets: bool = False, exact: bool = False,
    ) -> SearchResult:
        """Search passages; raises FilterError for a filter value the store does not allow.

        `exact` searches the words as typed (no spelling correction). With `facets`, the
        case and review-type facets of a search filtered on them also offer the values the
        search would find without that filter, with those counts, so a reader can add a
        second case, not only narrow; the ticked values keep this search's own counts.
        """
        result = self.searcher.search(query, k=k, mode=mode, filters=filters, offset=offset, facets=facets,
                                      exact=exact)
        if facets and filters is not None:
            for field_name, facet in (("cases", "case"), ("review_types", "review_type")):
                ticked = getattr(filters, field_name)
                if ticked:
                    wider = self.searcher.search(query, k=1, mode=mode, filters=replace(filters, **{field_name: ()}),
                                                 facets=True, exact=exact).facets.get(facet, {})
                    own = result.facets.get(facet, {})
                    merged = {**wider, **{value: n for value, n in own.items() if value in ticked}}
                    result.facets[facet] = dict(sorted(merged.items(), key=lambda kv: -kv[1]))
        return result

    def similar(self, passage_id: str, k: int = 10) -> list[Hit]:
        """More like this: the closest passages in other cases."""
        return self.searcher.similar(passage_id, k=k)

    def documents(self) -> list[Document]:
        return self.catalogue.documents()

    def document(self, doc_id: str) -> Document | None:
        return self.catalogue.document(doc_id)

    def passages(self, doc_id: str) -> list[Passage]:
        return self.catalogue.passages_of(doc_id)

    def failures(self) -> list[dict]:
        return self.catalogue.failures()

    def theme_counts(self) -> dict[str, dict[str, int]]:
        return self.catalogue.theme_counts()

    def tags_from_other_models(self) -> int:
        """Stored tags not made by the running model, whose thresholds and quality figures they are shown beside."""
        return self.catalogue.tags_not_by(self.tagger.model_sha256)

    def document_themes(self, doc_id: str) -> dict[str, int]:
        return self.catalogue.document_theme_counts(doc_id)

    def document_agencies(self, doc_id: str) -> dict[str, dict[str, int]]:
        return self.catalogue.document_entities(doc_id)

    def theme_evidence(self, theme_id: str, per_document: int = 2, limit: int = 12) -> list[Passage]:
        """A theme's strongest passages across reports, so that no single report dominates."""
        ranked = self.catalogue.strongest_passages(theme_id, per_document, limit)
        found = self.catalogue.passages_by_id(pid for pid, _ in ranked)
        return [found[pid] for pid, _ in ranked if pid in found]

    def passage(self, passage_id: str) -> Passage | None:
        return self.catalogue.passages_by_id([passage_id]).get(passage_id)

    def page_image(self, doc_id: str, page: int, outline: list | None = None) -> bytes:
        """A page of a stored document as PNG, with boxes (fractions of the page) outlined."""
        from kb.pdf import render_page_png

        return render_page_png(self._source(doc_id), page, outline=outline or [])

    def page_png(self, doc_id: str, page: int, passage: Passage | None = None) -> bytes:
        """A page as PNG with `passage` outlined on it, from the page cache when it holds a sound copy."""
        document = self.catalogue.document(doc_id)
        if document is None:
            raise FileNotFoundError(f"there is no document {doc_id}")
        key = page_key(document.sha256, page, passage.passage_id if passage else "",
                       page_key(passage.text) if passage else "", PAGE_IMAGE_VERSION)
        png = self.page_cache.get(key)
        if png is None:
            outline = self.passage_outline(passage, page) if passage else []
            png = self.page_image(doc_id, page, outline=outline)
            self.page_cache.put(key, png)
        return png

    def passage_outline(self, passage: Passage, page: int) -> list[tuple[float, float, float, float]]:
        """Where a passage sits on one of its pages, as boxes in fractions of the page."""
        from kb.pdf import passage_boxes

        return passage_boxes(self._source(passage.doc_id), page, passage.text,
                             starts_here=page == passage.page_start, ends_here=page == passage.page_end)

    def _source(self, doc_id: str) -> Path:
        """The first of a document's paths that still holds its file."""
        for path in self.catalogue.paths_of(doc_id):
            if Path(path).is_file():
                return Path(path)
        raise FileNotFoundError(f"the file of document {doc_id} is no longer at any path it was ingested from")

    # --- themes --------------------------------------------------------------

    def retag(self, on_batch=None) -> dict:
        """Re-tag every stored passage with the current taxonomy, without re-extracting: the stored vectors stay,
        and the model reads each passage once more for the token embeddings the tagger's attention needs."""
        tagger = self.tagger
        present = child_present_by_passage(self.catalogue.texts_by_document())
        count = 0
        for n, (passages, vectors, sentence_vectors) in enumerate(self.catalogue.iter_for_tagging()):
            texts = [p.text for p in passages]
            themes = tagger.tag(texts, [p.sentences for p in passages], sentence_vectors, vectors,
                                [p.section_kind for p in passages], child_present=[present.get(p.passage_id, True) for p in passages])
            for passage, found in zip(passages, themes):
                passage.themes = found
            self.catalogue.replace_themes(passages, tagger.version, tagger.model_sha256, first=n == 0)
            self.vectors.set_themes({p.passage_id: [m.theme_id for m in p.themes if m.kind == "shows"] for p in passages})
            count += len(passages)
            if on_batch:
                on_batch(len(passages))
        return {"passages": count, "taxonomy_version": tagger.version, **self.stats()}

    # --- keeping the derived indexes (vectors, keywords) in step with the catalogue ---

    def index_document(self, doc_id: str) -> None:
        """Write a stored document's vectors and keywords to their indexes, then record that they are there."""
        self.index_documents([doc_id])

    def index_documents(self, doc_ids: list[str]) -> None:
        """The same for several documents, with one keyword-index commit (bulk: reindex, benchmarks)."""
        self.index_vectors(doc_ids)
        self.index_keywords(doc_ids)
        for doc_id in doc_ids:
            self.catalogue.mark_vectors_done(doc_id)

    def index_vectors(self, doc_ids: list[str]) -> None:
        """Write these stored documents' vectors to the vector index (not yet marking them done)."""
        ids, vectors, metas = [], [], []
        for doc_id in doc_ids:
            for pid, vector, meta in self.catalogue.iter_vectors(doc_id):
                ids.append(pid)
                vectors.append(vector)
                metas.append(meta)
        if ids:
            self.vectors.upsert(ids, vectors, metas)

    def index_keywords(self, doc_ids: list[str]) -> None:
        """Write these stored documents' passages to the keyword index, in one commit."""
        rows: dict[str, list[IndexedPassage]] = {doc_id: [] for doc_id in doc_ids}
        for doc_id, rowid, text, section, title in self.catalogue.keyword_rows(doc_ids):
            rows[doc_id].append(IndexedPassage(rowid, text, section, title))
        self.keywords.replace_documents(rows)

    def drop_vectors(self, passage_ids: list[str]) -> None:
        if passage_ids:
            self.vectors.delete(passage_ids)

    def drop_document_index(self, doc_id: str, passage_ids: list[str]) -> None:
        """Remove a document the catalogue no longer holds from both derived indexes."""
        self.drop_vectors(passage_ids)
        self.keywords.delete_documents([doc_id])

    def check(self) -> dict:
        """Compare the catalogue with the vector and keyword indexes: the passages each holds alone.

        Also names the embedding backends of the stored vectors when they are not
        the one queries use now (a store built before it kept its precision can
        hold both): search still works, but scores shift a little, so it should be seen.
        """
        stored = self.catalogue.all_passage_ids()
        indexed = self.vectors.ids()
        backends = self.catalogue.embedding_backends()
        rowids = self.catalogue.passage_rowids()
        keyword_rowids = self.keywords.rowids()
        missing_keywords = np.setdiff1d(rowids, keyword_rowids)
        orphan_keywords = np.setdiff1d(keyword_rowids, rowids)
        duplicated = len(keyword_rowids) - len(np.unique(keyword_rowids))
        return {
            "consistent": stored == indexed and not self.catalogue.documents_missing_vectors()
            and not len(missing_keywords) and not len(orphan_keywords) and not duplicated,
            "index": self.vectors.location,
            "passages": len(stored),
            "vectors": len(indexed),
            "missing_vectors": sorted(stored - indexed),
            "orphan_vectors": sorted(indexed - stored),
            "documents_pending": self.catalogue.documents_missing_vectors(),
            "keyword_index": str(self.keywords.path),
            "keyword_passages": len(keyword_rowids),
            "missing_keywords": sorted(self.catalogue.passage_ids_at(missing_keywords).values()),
            "orphan_keywords": len(orphan_keywords) + duplicated,
            "embedding_backend": self.embedder.backend,
            "stored_embedding_backends": backends,
            "backend_mismatch": bool(backends) and backends != [self.embedder.backend],
            # Kept, never dropped, and not an index fault: a re-ingested report took their passages away.
            "orphan_reviews": [{key: r[key] for key in ("passage_id", "theme_id", "verdict", "username", "at")}
                               for r in self.catalogue.orphan_reviews()],
        }

    def rebuild_derived(self) -> dict:
        """Rebuild every index derived from the catalogue (the vector and keyword indexes) from it, in full.

        For a restored store, which holds the catalogue only. A new derived index
        (one rebuildable from the catalogue) adds its rebuild here and its folder to
        kb.store.backup.DERIVED.
        """
        return self.reindex(full=True)

    def reindex(self, full: bool = False, batch: int = 100) -> dict:
        """Repair the vector and keyword indexes from the catalogue (all of both when `full`)."""
        report = self.check()
        self.drop_vectors(report["orphan_vectors"])
        # Rows of deleted passages name no document the catalogue still knows, and an index with
        # nothing in it is quicker written whole: both rebuild the keyword index.
        rebuild = full or report["orphan_keywords"] or (report["passages"] and not report["keyword_passages"])
        if rebuild:
            self.keywords.clear()
        missing = set(report["missing_vectors"]) | set(report["missing_keywords"])
        docs = [d.doc_id for d in self.documents()] if rebuild else sorted(
            set(report["documents_pending"])
            | {p.doc_id for p in self.catalogue.passages_by_id(missing).values()}
        )
        for i in range(0, len(docs), batch):
            self.index_documents(docs[i : i + batch])
        return {"removed": len(report["orphan_vectors"]) + report["orphan_keywords"], "documents_reindexed": len(docs)}

    # --- learning packs and cases compared side by side ----------------------

    @cached_property
    def packs(self) -> Packs:
        """Trainers' learning packs, stored in the catalogue."""
        return Packs(self.catalogue)

    def cases(self) -> dict[str, int]:
        """Every case the stored reports name, with its number of reports."""
        return self.catalogue.case_names()

    def case_documents(self, case: str) -> list[Document]:
        return self.catalogue.case_documents(case)

    def case_themes(self, case: str) -> dict[str, int]:
        """Passages of a case's reports that show each theme, most first."""
        return self.catalogue.case_theme_counts(case)

    def case_agencies(self, case: str) -> dict[str, int]:
        return self.catalogue.case_entities(case, "AGENCY")

    def case_theme_evidence(self, theme_id: str, case: str, limit: int = 1) -> list[Passage]:
        """A theme's strongest passages within one case's reports."""
        ranked = self.catalogue.strongest_in_case(theme_id, case, limit)
        found = self.catalogue.passages_by_id(pid for pid, _ in ranked)
        return [found[pid] for pid, _ in ranked if pid in found]
