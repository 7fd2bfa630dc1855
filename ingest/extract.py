"""Extract a PDF into pages of positioned lines, failing with a reason from the fixed list."""

from __future__ import annotations

import hashlib
from pathlib import Path

from kb.models import ExtractedDocument, FailureReason
from kb.pdf import PdfError, is_truncated, looks_like_pdf, open_pdf, read_metadata, read_page

HASH_CHUNK = 1 << 20


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(HASH_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def extract_pdf(path: Path, sha256: str) -> ExtractedDocument:
    """Read every page of a PDF; raise PdfError when the file cannot be used."""
    size = path.stat().st_size
    if size == 0:
        raise PdfError(FailureReason.NOT_PDF, "the file is empty")
    if not looks_like_pdf(path):
        raise PdfError(FailureReason.NOT_PDF, "no %PDF- header")
    if is_truncated(path):
        raise PdfError(FailureReason.MALFORMED, "the file is truncated (no %%EOF marker at its end)")
    with open_pdf(path) as doc:
        page_count = len(doc)
        if page_count == 0:
            raise PdfError(FailureReason.NO_PAGES, "the document has no pages")
        try:
            pages = [read_page(doc, i, path) for i in range(page_count)]
        except PdfError:
            raise
        except Exception as exc:  # pdfium and pdfminer raise many kinds on damaged pages
            raise PdfError(FailureReason.MALFORMED, f"{type(exc).__name__}: {exc}") from exc
        metadata = read_metadata(doc)
    if not any(page.lines for page in pages):
        if any(page.method == "needs OCR" for page in pages):
            raise PdfError(FailureReason.NO_TEXT, f"none of its {page_count} pages has a text layer and Tesseract is not installed")
        raise PdfError(FailureReason.NO_TEXT, f"no text was found on any of its {page_count} pages")
    return ExtractedDocument(
        path=str(path),
        sha256=sha256,
        size=size,
        page_count=page_count,
        pages=pages,
        pdf_metadata=metadata,
    )
