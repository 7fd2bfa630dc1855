"""Wire the stages: extract, lay out, describe, chunk, tag entities, embed, store, index."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ingest.checkpoints import checkpoint
from ingest.chunk import chunk_blocks
from ingest.describe import describe_document
from ingest.isolation import Limits, ParseWorker
from ingest.layout import page_blocks
from kb import KnowledgeBase
from kb.hashing import file_sha256
from kb.models import Document, Failure, FailureReason, IngestReport
from kb.nlp.spacy_pipeline import analyse, entities_of
from kb.pdf import PdfError, looks_like_pdf
from kb.themes.subject import child_present

# `scrkb fetch` downloads into NAME.pdf.part and renames when complete.
PARTIAL_SUFFIX = ".part"
# Failures that depend on a limit setting, not only on the file: tried again on
# every run, so that raising the limit takes effect without touching the file.
LIMIT_REASONS = frozenset({
    FailureReason.TOO_LARGE, FailureReason.TOO_MANY_PAGES, FailureReason.TIMEOUT, FailureReason.OUT_OF_MEMORY,
})


@dataclass
class FileOutcome:
    path: str
    status: str  # "ingested" | "replaced" | "unchanged" | "failed"
    pages: int = 0
    passages: int = 0
    failure: Failure | None = None
    needs_ocr: list[int] = field(default_factory=list)  # pages stored without text
    redacted_pages: list[int] = field(default_factory=list)  # pages with text under dark boxes


def discover(paths: Iterable[Path]) -> list[Path]:
    """Expand folders recursively; a named file is always tried, a folder's files when they are PDFs."""
    found: list[Path] = []
    for path in paths:
        path = Path(path)
        if path.is_dir():
            found.extend(
                p for p in sorted(path.rglob("*"))
                if p.is_file() and p.suffix != PARTIAL_SUFFIX and (p.suffix.lower() == ".pdf" or _pdf_header(p))
            )
        else:
            found.append(path)
    return list(dict.fromkeys(p.resolve() for p in found))


def ingest_paths(
    kb: KnowledgeBase, paths: Iterable[Path], on_file: Callable[[FileOutcome], None] | None = None
) -> IngestReport:
    """Ingest files and folders; one bad file is reported and never stops the others."""
    started = time.perf_counter()
    kb.vectors.open()  # an unreachable Chroma server stops the run before any file is parsed
    _ = kb.reports  # and so does a catalogue that cannot be read (CatalogueError names its line)
    report = IngestReport(resumed=resume_interrupted(kb))
    with ParseWorker(Limits.from_settings(kb.settings)) as worker:
        for path in discover(paths):
            outcome = ingest_file(kb, path, worker)
            if outcome.status == "failed":
                report.failed.append(outcome.failure)
            else:
                setattr(report, outcome.status, getattr(report, outcome.status) + 1)
            report.pages_processed += outcome.pages
            if outcome.needs_ocr:
                report.needs_ocr[outcome.path] = outcome.needs_ocr
            if outcome.redacted_pages:
                report.possible_failed_redaction[outcome.path] = outcome.redacted_pages
            if on_file:
                on_file(outcome)
    if report.ingested or report.replaced:
        kb.catalogue.refresh_statistics()
    stats = kb.stats()
    report.documents, report.pages, report.passages = stats["documents"], stats["pages"], stats["passages"]
    report.seconds = time.perf_counter() - started
    return report


def resume_interrupted(kb: KnowledgeBase) -> int:
    """Finish what a killed run left: documents stored without their vectors. Returns how many.

    A document is pending from its commit until its vectors are in the index, so
    a pending one means the last run stopped in between, possibly before it
    removed the vectors of the document it replaced: repair the whole index then.
    """
    # A store from before the keyword index gets it now, as if its documents were pending.
    if not kb.catalogue.documents_missing_vectors() and (kb.keywords.exists() or kb.is_empty()):
        return 0
    return kb.reindex()["documents_reindexed"]


def ingest_file(kb: KnowledgeBase, path: Path, worker: ParseWorker | None = None) -> FileOutcome:
    """Ingest one file, parsing it in `worker` (or in a worker of its own)."""
    if worker is None:
        with ParseWorker(Limits.from_settings(kb.settings)) as own:
            return ingest_file(kb, path, own)
    name = str(path)
    if not path.exists():
        return _failed(kb, name, None, FailureReason.UNREADABLE, "no such file")
    if not path.is_file():  # a device or a pipe (/dev/zero) would be hashed for ever
        return _failed(kb, name, None, FailureReason.UNREADABLE, "not a regular file")
    try:
        size = path.stat().st_size
    except OSError as exc:
        return _failed(kb, name, None, FailureReason.UNREADABLE, exc.strerror or str(exc))
    limit = kb.settings.max_file_mb
    if size > limit * 2**20:  # neither hashed nor parsed
        return _failed(kb, name, None, FailureReason.TOO_LARGE, f"{size / 2**20:.0f} MB, over the limit of {limit} MB (SCRKB_MAX_FILE_MB)")
    try:
        sha = file_sha256(path)
    except OSError as exc:
        return _failed(kb, name, None, FailureReason.UNREADABLE, exc.strerror or str(exc))
    prior = kb.catalogue.doc_for_path(name)
    existing = kb.catalogue.doc_for_sha(sha)
    if existing:
        if prior and prior[0] == existing:
            return FileOutcome(name, "unchanged")
        old = prior[0] if prior else None
        old_ids = kb.catalogue.passage_ids_of(old) if old else []
        kb.catalogue.add_path(name, existing, replaces=old)
        _drop_if_gone(kb, old, old_ids)
        return FileOutcome(name, "replaced" if old else "unchanged")
    if kb.catalogue.failure_sha(name) == sha:  # failed before and not changed since: do not parse again
        stored = next(f for f in kb.failures() if f["path"] == name)
        return FileOutcome(name, "failed", failure=Failure(name, FailureReason(stored["reason"]), stored["detail"]))
    try:
        extracted = worker.extract(path, sha)
    except PdfError as exc:
        return _failed(kb, name, None if exc.reason in LIMIT_REASONS else sha, exc.reason, exc.detail)
    return _store(kb, path, extracted, prior)


def _store(kb: KnowledgeBase, path: Path, extracted, prior) -> FileOutcome:
    doc_id = extracted.sha256[:16]
    blocks = page_blocks(extracted.pages)
    meta = describe_document(extracted, blocks, kb.reports.match(path))
    ocr_pages = frozenset(p.number for p in extracted.pages if p.method == "ocr")
    passages = chunk_blocks(blocks, doc_id, extracted.sha256, kb.embedder.count_tokens, ocr_pages)
    texts = [p.text for p in passages]
    tagger = kb.tagger
    for passage, doc in zip(passages, analyse(texts)):
        passage.entities = entities_of(doc)
        passage.sentences = tagger.sentences_of(doc)
    vectors, sentence_vectors, tokens = tagger.embed(texts, [p.sentences for p in passages])
    themes = tagger.tag(texts, [p.sentences for p in passages], sentence_vectors, vectors, [p.section_kind for p in passages], tokens,
                        child_present(texts))
    for passage, found in zip(passages, themes):
        passage.themes = found
    document = Document(
        doc_id=doc_id, sha256=extracted.sha256, source_path=str(path), size=extracted.size,
        page_count=extracted.page_count, meta=meta, pdf_metadata=extracted.pdf_metadata,
        redacted_pages=extracted.redacted_pages, provenance=kb.reports.provenance(path, extracted.sha256),
    )
    page_texts = ["\n".join(line.text for line in page.lines) for page in extracted.pages]
    old = prior[0] if prior else None
    old_ids = kb.catalogue.passage_ids_of(old) if old else []
    checkpoint("parsed")
    kb.catalogue.write_document(
        document, extracted.pages, page_texts, passages, vectors, sentence_vectors, tagger.version, replaces=old,
        tag_model=tagger.model_sha256, embedding_backend=kb.embedder.backend,
    )
    checkpoint("stored")
    # Vectors and keywords go in only after the catalogue holds the whole document, so an
    # interrupted run leaves a document marked pending (`vectors_done` 0), never half-indexed.
    _drop_if_gone(kb, old, old_ids)
    kb.index_vectors([doc_id])
    checkpoint("vectors")
    kb.index_keywords([doc_id])
    kb.catalogue.mark_vectors_done(doc_id)
    checkpoint("indexed")
    missing = [p.number for p in extracted.pages if p.method == "needs OCR"]
    return FileOutcome(
        str(path), "replaced" if old else "ingested", extracted.page_count, len(passages),
        needs_ocr=missing, redacted_pages=extracted.redacted_pages,
    )


def _drop_if_gone(kb: KnowledgeBase, old: str | None, old_ids: list[str]) -> None:
    """Remove a replaced document from the indexes once no path refers to it any more."""
    if old and kb.catalogue.document(old) is None:
        kb.drop_document_index(old, old_ids)


def _failed(kb: KnowledgeBase, name: str, sha: str | None, reason: FailureReason, detail: str) -> FileOutcome:
    failure = Failure(name, reason, detail)
    kb.catalogue.record_failure(failure, sha)
    return FileOutcome(name, "failed", failure=failure)


def _pdf_header(path: Path) -> bool:
    try:
        return looks_like_pdf(path)
    except OSError:
        return False
