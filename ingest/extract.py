"""Extract a PDF into pages of positioned lines, failing with a reason from the fixed list."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from kb.models import ExtractedDocument, FailureReason
from kb.pdf import (
    PdfError,
    looks_like_pdf,
    open_pdf,
    read_metadata,
    read_page,
)

def extract_pdf(
    path: Path, sha256: str, max_pages: int | None = None, on_page: Callable[[int, int], None] | None = None
) -> ExtractedDocument:
    """Read every page of a PDF; raise PdfError when the file cannot be used.

    `on_page(done, total)` is called once the file is open (done 0) and after each
    page, so that a watcher can tell a slow page from a stuck one. MemoryError is
    left to the caller: it says more about the limit than about the file.
    """
    size = path.stat().st_size
    if size == 0:
        raise PdfError(FailureReason.NOT_PDF, "the file is empty")
    if not looks_like_pdf(path):
        raise PdfError(FailureReason.NOT_PDF, "no %PDF- header")
    report = on_page or (lambda done, total: None)
    with open_pdf(path) as doc:
        page_count = len(doc)
        if page_count == 0:
            raise PdfError(FailureReason.NO_PAGES, "the document has no pages")
        if max_pages and page_count > max_pages:
            raise PdfError(FailureReason.TOO_MANY_PAGES, f"{page_count} pages, over the limit of {max_pages} (SCRKB_MAX_PAGES)")
        report(0, page_count)
        pages = []
        try:
            for i in range(page_count):
                pages.append(read_page(doc, i, path))
                report(i + 1, page_count)
        except (PdfError, MemoryError):
            raise
        except RecursionError as exc:
            raise PdfError(FailureReason.MALFORMED, f"objects nested too deeply on page {len(pages) + 1}") from exc
        except Exception as exc:  # pdfium and pdfminer raise many kinds on damaged pages
            raise PdfError(FailureReason.MALFORMED, f"page {len(pages) + 1}: {type(exc).__name__}: {exc}") from exc
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
        redacted_pages=[page.number for page in pages if page.hidden_chars],
    )
