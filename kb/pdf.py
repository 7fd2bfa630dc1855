"""The one module that reads PDF files (pypdfium2 for text and images, pdfplumber for geometry).

pypdfium2 gives a page's text runs with their boxes about 80 times faster than
pdfplumber's ``extract_text()``, so every page's lines come from it; pdfplumber
is opened only for pages that draw enough ruling to hold a table.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from kb.models import FailureReason, Line, Page, Table
from kb.ocr import OCR_DPI, ocr_available, ocr_lines

PDF_MAGIC = b"%PDF-"
# Writers may put a little junk after the final %%EOF; more than this is not a PDF's end.
EOF_WINDOW = 4096
# The trailer naming an /Encrypt dictionary sits near one end of the file.
ENCRYPT_WINDOW = 1 << 16
# A page drawing fewer path objects than this has no ruled table worth finding.
MIN_PATHS_FOR_TABLE = 6
# Lines whose boxes share more than this share of height sit on one baseline.
SAME_LINE_OVERLAP = 0.5
# Fewer letters than this on a page is a scan, a figure or a blank, not text.
MIN_PAGE_LETTERS = 20


class PdfError(Exception):
    """A PDF that cannot be read, with the reason from the fixed list."""

    def __init__(self, reason: FailureReason, detail: str = ""):
        super().__init__(f"{reason.value}: {detail}" if detail else reason.value)
        self.reason = reason
        self.detail = detail


def is_truncated(path: Path) -> bool:
    """A PDF ends with an %%EOF marker; one cut short has none near its end."""
    with open(path, "rb") as fh:
        fh.seek(0, 2)
        fh.seek(max(0, fh.tell() - EOF_WINDOW))
        return b"%%EOF" not in fh.read()


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
        raise PdfError(FailureReason.MALFORMED, "pdfium could not load the document") from exc
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
    """
    page = doc[index]
    try:
        width, height = page.get_size()
        textpage = page.get_textpage()
        try:
            lines = _lines(textpage, height)
        finally:
            textpage.close()
        if has_usable_text(lines):
            tables = _tables(path, index, height) if _path_count(page) >= MIN_PATHS_FOR_TABLE else []
            return Page(number=index + 1, width=width, height=height, lines=lines, tables=tables)
        if ocr and ocr_available():
            image = page.render(scale=OCR_DPI / 72, grayscale=True).to_pil()
            return Page(index + 1, width, height, ocr_lines(image, height), method="ocr")
        return Page(index + 1, width, height, [], method="needs OCR")
    finally:
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


def _lines(textpage: pdfium.PdfTextPage, height: float) -> list[Line]:
    # Text runs come in content-stream order, which is reading order for the
    # word processors and typesetters that make review PDFs; merging only
    # consecutive runs on one baseline keeps two columns apart.
    lines: list[Line] = []
    for i in range(textpage.count_rects()):
        left, bottom, right, top = textpage.get_rect(i)
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
    return lines


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
    import ctypes

    buffer = ctypes.create_string_buffer(128)
    flags = ctypes.c_int()
    length = pdfium_c.FPDFText_GetFontInfo(textpage.raw, index, buffer, len(buffer), ctypes.byref(flags))
    return buffer.value.decode("utf-8", "replace") if length else ""


def _path_count(page: pdfium.PdfPage) -> int:
    return sum(1 for _ in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_PATH], max_depth=1))


def _tables(path: Path, index: int, height: float) -> list[Table]:
    import pdfplumber  # imported here: most pages never need it

    with pdfplumber.open(str(path), pages=[index + 1]) as pdf:
        page = pdf.pages[0]
        found = []
        for table in page.find_tables():
            rows = [[" ".join((cell or "").split()) for cell in row] for row in table.extract()]
            rows = [row for row in rows if any(row)]
            if len(rows) >= 2 and max(len(r) for r in rows) >= 2:
                x0, top, x1, bottom = table.bbox
                found.append(Table(rows=rows, top=top, bottom=bottom, x0=x0, x1=x1))
        return found


# --- viewing: a page as an image, and where a passage sits on it ---------------

VIEW_SCALE = 1.5  # 108 dpi: readable on screen, small enough to send quickly
OUTLINE_WORDS = 6
OUTLINE_COLOUR = (212, 53, 28)  # GOV.UK red: visible on white and on scans


def render_page_png(path: Path, page_number: int, scale: float = VIEW_SCALE, outline: list | None = None) -> bytes:
    """Render one page (1-based) to PNG bytes, outlining boxes given as fractions of the page.

    The outline is drawn into the image so that it shows without scripts or styles.
    """
    import io

    from PIL import ImageDraw

    with open_pdf(path) as doc:
        if not 1 <= page_number <= len(doc):
            raise PdfError(FailureReason.NO_PAGES, f"page {page_number} is not in the document")
        page = doc[page_number - 1]
        try:
            image = page.render(scale=scale).to_pil()
        finally:
            page.close()
    if outline:
        draw = ImageDraw.Draw(image)
        width, height = image.size
        for x0, top, x1, bottom in outline:
            draw.rectangle(
                [x0 * width - 4, top * height - 3, x1 * width + 4, bottom * height + 3],
                outline=OUTLINE_COLOUR, width=3,
            )
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def passage_boxes(path: Path, page_number: int, text: str, starts_here: bool, ends_here: bool) -> list[tuple[float, float, float, float]]:
    """Line boxes, as fractions of the page (x0, top, x1, bottom), covering a passage's text on a page.

    The passage is found by its first and last few words in pdfplumber's
    characters, which follow reading order; every character between them is
    grouped into lines. A page without characters (a scan) gives no boxes.
    """
    import re

    import pdfplumber

    words = text.split()
    with pdfplumber.open(str(path), pages=[page_number]) as pdf:
        page = pdf.pages[0]
        chars = [c for c in page.chars if c["text"].strip()]
        if not chars or not words:
            return []
        squeeze = lambda ws: re.sub(r"[\W_]+", "", "".join(ws)).lower()  # noqa: E731  (spacing and hyphens vary)
        flat = squeeze(c["text"] for c in chars)
        index = _char_index(chars)
        first = flat.find(squeeze(words[:OUTLINE_WORDS])) if starts_here else 0
        last_key = squeeze(words[-OUTLINE_WORDS:])
        last = flat.find(last_key, max(first, 0)) if ends_here else len(flat) - len(last_key)
        if first < 0 or last < 0:
            return []
        start, end = index[first], index[min(len(index) - 1, last + len(last_key) - 1)]
        lines: dict[int, list[dict]] = {}
        for char in chars[start : end + 1]:
            lines.setdefault(round(char["top"] / 3), []).append(char)
        width, height = float(page.width), float(page.height)
        return [
            (min(c["x0"] for c in line) / width, min(c["top"] for c in line) / height,
             max(c["x1"] for c in line) / width, max(c["bottom"] for c in line) / height)
            for line in lines.values()
        ]


def _char_index(chars: list[dict]) -> list[int]:
    """Map each position of the squeezed page text back to its character."""
    import re

    index = []
    for i, char in enumerate(chars):
        if not re.fullmatch(r"[\W_]+", char["text"]):
            index.extend([i] * len(char["text"]))
    return index
