"""Read a PDF's pages as text lines with their boxes and fonts (pypdfium2), in content-stream order.

pypdfium2 gives a page's text runs with their boxes about 80 times faster than
pdfplumber's ``extract_text()``, so every page's lines come from it; pdfplumber
is opened only for pages that draw enough ruling to hold a table (kb.pdf.tables),
or a dark box that may sit on text a failed redaction left in the text layer
(kb.pdf.redaction).
"""

from __future__ import annotations

import contextlib
import ctypes
from collections.abc import Iterator
from pathlib import Path

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from kb.models import FailureReason, Line, Page
from kb.pdf.errors import PdfError
from kb.pdf.ocr import OCR_DPI, ocr_available, ocr_lines
from kb.pdf.redaction import PdfiumChars, hidden_chars_checked, is_dark_fill, text_under
from kb.pdf.tables import PlumberPage, tables_of

PDF_MAGIC = b"%PDF-"
# The trailer naming an /Encrypt dictionary sits near one end of the file.
ENCRYPT_WINDOW = 1 << 16
# A page drawing fewer path objects than this has no ruled table worth finding.
MIN_PATHS_FOR_TABLE = 6
# One drawing more is a map or a chart; looking for a table in it can take minutes.
MAX_PATHS_FOR_TABLE = 20000
# Lines whose boxes share more than this share of height sit on one baseline.
SAME_LINE_OVERLAP = 0.5
# Fewer letters than this on a page is a scan, a figure or a blank, not text.
MIN_PAGE_LETTERS = 20


def looks_like_pdf(path: Path) -> bool:
    """Recognise a PDF by its header, not its name (the header may follow a little junk)."""
    with open(path, "rb") as fh:
        return PDF_MAGIC in fh.read(1024)


@contextlib.contextmanager
def open_pdf(path: Path) -> Iterator[pdfium.PdfDocument]:
    """Open a PDF, translating pdfium's errors into a failure reason."""
    try:
        doc = pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as exc:
        # pdfium's error code can be left over from an earlier file, so the
        # reason is worked out from the file itself.
        if _has_encryption_dictionary(path):
            raise PdfError(FailureReason.ENCRYPTED, "the file needs a password") from exc
        if _page_count_by_pdfminer(path) == 0:
            raise PdfError(FailureReason.NO_PAGES, "the document has no pages") from exc
        # Only what pdfium cannot open is refused: it repairs a missing %%EOF or startxref and a broken
        # cross-reference table by scanning the file, so those are not checked for beforehand.
        raise PdfError(FailureReason.MALFORMED, f"pdfium could not load the document: {exc}") from exc
    try:
        yield doc
    finally:
        doc.close()


def _has_encryption_dictionary(path: Path) -> bool:
    with open(path, "rb") as fh:
        head = fh.read(ENCRYPT_WINDOW)
        fh.seek(0, 2)
        fh.seek(max(0, fh.tell() - ENCRYPT_WINDOW))
        return b"/Encrypt" in head or b"/Encrypt" in fh.read()


def _page_count_by_pdfminer(path: Path) -> int | None:
    import pdfplumber

    try:
        with pdfplumber.open(str(path)) as pdf:
            return len(pdf.pages)
    except Exception:  # pdfminer raises many kinds on a damaged file; any means "unknown"
        return None


def read_metadata(doc: pdfium.PdfDocument) -> dict[str, str]:
    meta = doc.get_metadata_dict(skip_empty=True)
    return {k: v.strip() for k, v in meta.items() if isinstance(v, str) and v.strip()}


def read_page(doc: pdfium.PdfDocument, index: int, path: Path, ocr: bool = True) -> Page:
    """Read one page's text lines (and ruled tables) in content-stream order.

    A page without a usable text layer is OCR'd when Tesseract is installed and
    `ocr` is on; otherwise it comes back with method "needs OCR" and no lines.
    Text that a dark box is drawn over is left out, and counted in `hidden_chars`.
    """
    page = doc[index]
    geometry = PlumberPage(path, index)
    try:
        width, height = page.get_size()
        paths, dark_fills = _survey_paths(page)
        textpage = page.get_textpage()
        try:
            suspect = dark_fills and text_under(textpage, dark_fills)
            hidden = hidden_chars_checked(geometry, index + 1) if suspect else []
            lines = _lines(textpage, height, PdfiumChars(textpage, geometry.page, hidden, index + 1) if hidden else None)
        finally:
            textpage.close()
        if has_usable_text(lines):
            tables = tables_of(geometry, hidden) if MIN_PATHS_FOR_TABLE <= paths <= MAX_PATHS_FOR_TABLE else []
            return Page(index + 1, width, height, lines, tables, hidden_chars=len(hidden))
        if ocr and ocr_available():
            image = page.render(scale=OCR_DPI / 72, grayscale=True).to_pil()
            return Page(index + 1, width, height, ocr_lines(image, height), method="ocr", hidden_chars=len(hidden))
        return Page(index + 1, width, height, [], method="needs OCR", hidden_chars=len(hidden))
    finally:
        geometry.close()
        page.close()


def has_usable_text(lines: list[Line]) -> bool:
    """A text layer is usable when it holds enough letters and they mostly make words."""
    text = " ".join(line.text for line in lines)
    letters = sum(c.isalpha() for c in text)
    if letters < MIN_PAGE_LETTERS:
        return False
    # A broken font encoding yields symbols and lone letters where words should be.
    words = text.split()
    wordlike = sum(1 for w in words if sum(c.isalpha() for c in w) >= 0.6 * len(w) and len(w) > 1)
    return wordlike >= 0.5 * len(words)


def _lines(textpage: pdfium.PdfTextPage, height: float, chars: PdfiumChars | None = None) -> list[Line]:
    # Text runs come in content-stream order, which is reading order for the
    # word processors and typesetters that make review PDFs; merging only
    # consecutive runs on one baseline keeps two columns apart.
    lines: list[Line] = []
    for i in range(textpage.count_rects()):
        left, bottom, right, top = textpage.get_rect(i)
        if chars and chars.touches_hidden((left, bottom, right, top)):
            text = chars.visible_text((left, bottom, right, top))
        else:
            text = textpage.get_text_bounded(left, bottom, right, top)
        text = text.replace("\r", " ").replace("\n", " ")
        if not text.strip():
            continue
        size, bold = _font_at(textpage, left, bottom, top)
        run = Line(text, left, height - top, right, height - bottom, size, bold)
        if lines and _same_line(lines[-1], run):
            prev = lines[-1]
            gap = run.x0 - prev.x1
            prev.text = prev.text + (" " if gap > 0.5 and not prev.text.endswith(" ") else "") + run.text
            prev.x1 = max(prev.x1, run.x1)
            prev.top, prev.bottom = min(prev.top, run.top), max(prev.bottom, run.bottom)
            prev.bold = prev.bold and run.bold
            prev.size = max(prev.size, run.size)
        else:
            lines.append(run)
    for line in lines:
        line.text = " ".join(line.text.split(" ")).strip()
    return [line for line in lines if line.text]


def _same_line(a: Line, b: Line) -> bool:
    overlap = min(a.bottom, b.bottom) - max(a.top, b.top)
    shortest = min(a.bottom - a.top, b.bottom - b.top) or 1.0
    near = -2.0 <= b.x0 - a.x1 <= 3 * max(a.size, b.size, 4.0)
    return overlap / shortest > SAME_LINE_OVERLAP and near


def _font_at(textpage: pdfium.PdfTextPage, left: float, bottom: float, top: float) -> tuple[float, bool]:
    index = textpage.get_index(left + 0.5, (bottom + top) / 2, 2.0, (top - bottom) / 2 + 1)
    if index is None or index < 0:
        return 0.0, False
    size = pdfium_c.FPDFText_GetFontSize(textpage.raw, index)
    weight = pdfium_c.FPDFText_GetFontWeight(textpage.raw, index)
    return round(float(size), 1), weight >= 600 or "bold" in _font_name(textpage, index).lower()


def _font_name(textpage: pdfium.PdfTextPage, index: int) -> str:
    # Standard fonts (Helvetica-Bold) often carry no weight; their name says it.
    buffer = ctypes.create_string_buffer(128)
    flags = ctypes.c_int()
    length = pdfium_c.FPDFText_GetFontInfo(textpage.raw, index, buffer, len(buffer), ctypes.byref(flags))
    return buffer.value.decode("utf-8", "replace") if length else ""

def _survey_paths(page: pdfium.PdfPage) -> tuple[int, list[tuple | None]]:
    """Count the page's own path objects, and list the boxes of dark fills that could hide text.

    A box is (left, bottom, right, top) in page space; None stands for a fill
    inside a form XObject, whose place on the page is not worked out here.
    """
    count, dark = 0, []
    for obj in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_PATH]):
        count += obj.level == 0
        if is_dark_fill(obj):
            dark.append(obj.get_bounds() if obj.level == 0 else None)
    return count, dark
