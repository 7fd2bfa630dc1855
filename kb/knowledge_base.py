"""The KnowledgeBase facade: the one object the CLI, the ingest pipeline and the web app use."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

from kb.models import Document, Hit, Passage
from kb.nlp.embedding import Embedder
from kb.research.packs import Packs
from kb.search.filters import SearchFilters
from kb.search.searcher import Searcher, SearchResult
from kb.search.vocabulary import Vocabulary
from kb.settings import Settings
from kb.sources.report_catalogue import ReportCatalogue
from kb.store.accounts import Accounts
from kb.store.catalogue import Catalogue
from kb.store.vectors import VectorIndex
from kb.themes.calibration import Calibration
from kb.themes.quality import Quality, load_quality
from kb.themes.reviews import TagReviews
from kb.themes.model import ThemeModel
from kb.themes.tagger import ThemeTagger
from kb.themes.taxonomy import load_taxonomy

# Thresholds a team recalibrated on its own reviews (`scrkb eval themes --from-reviews --calibrate`),
# kept in the store home: they belong to this store's coding, not to the package.
REVIEW_CALIBRATION = "calibration_from_reviews.yaml"


class KnowledgeBase:
    """A store directory: the SQLite catalogue plus the Chroma index. Cheap to construct."""

    def __init__(self, settings: Settings | None = None):
        self.settings = settings or Settings.load()
        self.catalogue = Catalogue(self.settings.catalogue_db)

    @cached_property
    def vectors(self) -> VectorIndex:
        return VectorIndex(self.settings.vector_dir, url=self.settings.chroma_url)

    @cached_property
    def accounts(self) -> Accounts:
        """Users, roles and the audit log (a separate file: copying reports never copies passwords)."""
        return Accounts(self.settings.accounts_db)

    @cached_property
    def embedder(self) -> Embedder:
        return Embedder(self.settings.embed_batch_size, self.settings.embedding_backend, self.settings.model_cache)

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
        return Searcher(self.catalogue, self.vectors, self.embedder, self.vocabulary, self.tagger.taxonomy.ids)

    def warm_up(self) -> None:
        """Load the models and the vector matrix now, so the first request is not the slow one."""
        self.vectors.open()  # an unreachable Chroma server fails now, before seconds of model loading
        self.search("warm up", k=1)
        _ = self.tagger.classifier

    # --- reading -------------------------------------------------------------

    def stats(self) -> dict[str, int]:
        return self.catalogue.stats()

    def is_empty(self) -> bool:
        return self.catalogue.stats()["documents"] == 0

    def search(
        self, query: str, k: int = 10, mode: str = "hybrid", filters: SearchFilters | None = None,
        offset: int = 0, facets: bool = False,
    ) -> SearchResult:
        """Search passages; raises FilterError for a filter value the store does not allow."""
        return self.searcher.search(query, k=k, mode=mode, filters=filters, offset=offset, facets=facets)

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
        """Re-tag every stored passage with the current taxonomy, without re-extracting or re-embedding."""
        tagger = self.tagger
        count = 0
        for n, (passages, vectors, sentence_vectors) in enumerate(self.catalogue.iter_for_tagging()):
            texts = [p.text for p in passages]
            themes = tagger.tag(texts, [p.sentences for p in passages], sentence_vectors, vectors,
                                [p.section_kind for p in passages])
            for passage, found in zip(passages, themes):
                passage.themes = found
            self.catalogue.replace_themes(passages, tagger.version, first=n == 0)
            self.vectors.set_themes({p.passage_id: [m.theme_id for m in p.themes if m.kind == "shows"] for p in passages})
            count += len(passages)
            if on_batch:
                on_batch(len(passages))
        return {"passages": count, "taxonomy_version": tagger.version, **self.stats()}

    # --- keeping the vector index in step with the catalogue -------------------

    def index_document(self, doc_id: str) -> None:
        """Write a stored document's vectors to the index, then record that they are there."""
        ids, vectors, metas = [], [], []
        for pid, vector, meta in self.catalogue.iter_vectors(doc_id):
            ids.append(pid)
            vectors.append(vector)
            metas.append(meta)
        if ids:
            self.vectors.upsert(ids, vectors, metas)
        self.catalogue.mark_vectors_done(doc_id)

    def drop_vectors(self, passage_ids: list[str]) -> None:
        if passage_ids:
            self.vectors.delete(passage_ids)

    def check(self) -> dict:
        """Compare the catalogue with the vector index: the passage ids each holds alone.

        Also names the embedding backends of the stored vectors when they are not
        the one queries use now: search still works (their vectors are about 0.99
        cosine apart) but scores shift a little, so it should be seen.
        """
        stored = self.catalogue.all_passage_ids()
        indexed = self.vectors.ids()
        backends = self.catalogue.embedding_backends()
        return {
            "consistent": stored == indexed and not self.catalogue.documents_missing_vectors(),
            "index": self.vectors.location,
            "passages": len(stored),
            "vectors": len(indexed),
            "missing_vectors": sorted(stored - indexed),
            "orphan_vectors": sorted(indexed - stored),
            "documents_pending": self.catalogue.documents_missing_vectors(),
            "embedding_backend": self.settings.embedding_backend,
            "stored_embedding_backends": backends,
            "backend_mismatch": bool(backends) and backends != [self.settings.embedding_backend],
            # Kept, never dropped, and not an index fault: a re-ingested report took their passages away.
            "orphan_reviews": [{key: r[key] for key in ("passage_id", "theme_id", "verdict", "username", "at")}
                               for r in self.catalogue.orphan_reviews()],
        }

    def reindex(self, full: bool = False) -> dict:
        """Repair the vector index from the catalogue (all of it when `full`)."""
        report = self.check()
        self.drop_vectors(report["orphan_vectors"])
        missing = set(report["missing_vectors"])
        docs = [d.doc_id for d in self.documents()] if full else sorted(
            set(report["documents_pending"])
            | {p.doc_id for p in self.catalogue.passages_by_id(missing).values()}
        )
        for doc_id in docs:
            self.index_document(doc_id)
        return {"removed": len(report["orphan_vectors"]), "documents_reindexed": len(docs)}

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
