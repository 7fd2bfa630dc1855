"""The one module that reads PDF files (pypdfium2 for text and images, pdfplumber for geometry).

pypdfium2 gives a page's text runs with their boxes about 80 times faster than
pdfplumber's ``extract_text()``, so every page's lines come from it; pdfplumber
is opened only for pages that draw enough ruling to hold a table, or a dark box
that may sit on text a failed redaction left in the text layer.
"""

from __future__ import annotations

import contextlib
import ctypes
import re
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
# One drawing more is a map or a chart; looking for a table in it can take minutes.
MAX_PATHS_FOR_TABLE = 20000
# A fill darker than this (0 black, 1 white) can hide text; a light highlight cannot.
DARK_FILL = 0.35
OPAQUE = 0.8  # fill alpha from which a box hides what is under it
MIN_COVER = 2.0  # points: a thinner dark fill is a rule or a border
COVER_SHARE = 0.5  # share of a letter's height a box must span to hide it
# Text and box shades closer than this cannot be told apart: the text is unreadable.
MIN_CONTRAST = 0.25
# Share of the hidden characters pdfplumber finds that must be found again among pdfium's.
MIN_LOCATED = 0.5
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
    Text that a dark box is drawn over is left out, and counted in `hidden_chars`.
    """
    page = doc[index]
    geometry = _PlumberPage(path, index)
    try:
        width, height = page.get_size()
        paths, dark_fills = _survey_paths(page)
        textpage = page.get_textpage()
        try:
            suspect = dark_fills and _text_under(textpage, dark_fills)
            hidden = _hidden_chars_checked(geometry, index + 1) if suspect else []
            lines = _lines(textpage, height, _PdfiumChars(textpage, geometry.page, hidden, index + 1) if hidden else None)
        finally:
            textpage.close()
        if has_usable_text(lines):
            tables = _tables(geometry, hidden) if MIN_PATHS_FOR_TABLE <= paths <= MAX_PATHS_FOR_TABLE else []
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


def _lines(textpage: pdfium.PdfTextPage, height: float, chars: _PdfiumChars | None = None) -> list[Line]:
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
        if _is_dark_fill(obj):
            dark.append(obj.get_bounds() if obj.level == 0 else None)
    return count, dark


def _text_under(textpage: pdfium.PdfTextPage, boxes: list[tuple | None]) -> bool:
    """Whether any character's centre lies in one of the boxes (a None box counts as yes)."""
    if None in boxes:
        return True
    for i in range(textpage.count_chars()):
        left, bottom, right, top = textpage.get_charbox(i)
        x, y = (left + right) / 2, (bottom + top) / 2
        if any(b[0] <= x <= b[2] and b[1] <= y <= b[3] for b in boxes):
            return True
    return False


def _is_dark_fill(obj: pdfium.PdfObject) -> bool:
    fill_mode, stroke = ctypes.c_int(), ctypes.c_int()
    if not pdfium_c.FPDFPath_GetDrawMode(obj.raw, ctypes.byref(fill_mode), ctypes.byref(stroke)) or not fill_mode.value:
        return False
    rgba = [ctypes.c_uint() for _ in range(4)]
    if not pdfium_c.FPDFPageObj_GetFillColor(obj.raw, *map(ctypes.byref, rgba)):
        return False  # a pattern or shading: not a plain box
    red, green, blue, alpha = (c.value / 255 for c in rgba)
    left, bottom, right, top = obj.get_bounds()
    return (
        alpha >= OPAQUE and _shade((red, green, blue)) < DARK_FILL
        and right - left >= MIN_COVER and top - bottom >= MIN_COVER
    )


# --- failed redactions: text left in the text layer under a dark box ------------

Box = tuple[float, float, float, float]  # x0, top, x1, bottom in points from the top-left


def _hidden_chars_checked(geometry: "_PlumberPage", number: int) -> list[dict]:
    try:
        return _hidden_chars(geometry.page)
    except MemoryError:
        raise
    except Exception as exc:  # pdfminer cannot read a page pdfium could (a damaged cross-reference table)
        # Without the check, a hidden name could be stored: refuse the file instead.
        raise PdfError(
            FailureReason.MALFORMED,
            f"page {number} draws dark boxes, and pdfminer could not read it to check for text under them "
            f"({type(exc).__name__})",
        ) from exc


def _hidden_chars(page) -> list[dict]:
    """pdfplumber characters that a reader cannot see because an opaque dark box sits on them.

    A box hides a character whose centre it contains when it is painted after the
    character, or when the character is as dark as the box (black text on a black
    highlight). White text on a dark banner is painted after its banner and stays.
    """
    covers, chars = [], []
    for order, obj in enumerate(page.iter_layout_objects(page.layout)):
        if obj["object_type"] == "char" and obj["text"].strip():
            chars.append((order, obj))
        elif obj["object_type"] == "rect" and obj.get("fill"):
            shade = _shade(obj.get("non_stroking_color"))
            if shade is not None and shade < DARK_FILL:
                covers.append((order, shade, obj))
    if not covers:
        return []
    hidden = []
    for order, char in chars:
        x, y = (char["x0"] + char["x1"]) / 2, (char["top"] + char["bottom"]) / 2
        char_shade = _shade(char.get("non_stroking_color"))
        for cover_order, cover_shade, rect in covers:
            if not (rect["x0"] <= x <= rect["x1"] and rect["top"] <= y <= rect["bottom"]):
                continue
            # A strike-through or underline bar crosses the centre but covers little of the letter.
            if rect["bottom"] - rect["top"] < COVER_SHARE * (char["bottom"] - char["top"]):
                continue
            same_shade = abs((0.0 if char_shade is None else char_shade) - cover_shade) < MIN_CONTRAST
            if cover_order > order or same_shade:
                hidden.append(char)
                break
    return hidden


def _shade(colour) -> float | None:
    """0 for black to 1 for white, from grey, RGB or CMYK components; None for a pattern or unknown space."""
    if isinstance(colour, (int, float)):
        colour = (colour,)
    if not isinstance(colour, (tuple, list)):
        return None
    try:
        values = [float(v) for v in colour]
    except (TypeError, ValueError):
        return None
    if len(values) == 1:
        return values[0]
    if len(values) == 3:
        red, green, blue = values
    elif len(values) == 4:
        cyan, magenta, yellow, black = values
        red, green, blue = ((1 - v) * (1 - black) for v in (cyan, magenta, yellow))
    else:
        return None
    return 0.299 * red + 0.587 * green + 0.114 * blue


class _PdfiumChars:
    """pdfium's characters of a page, with those that are hidden pdfplumber characters marked.

    pdfium's own bounded-text call takes every character a run's box touches, so
    the runs that touch a hidden character are rebuilt here one character at a time.
    """

    def __init__(self, textpage: pdfium.PdfTextPage, plumber_page, hidden: list[dict], number: int):
        count = textpage.count_chars()
        self.boxes = [textpage.get_charbox(i) for i in range(count)]  # left, bottom, right, top
        self.codes = [pdfium_c.FPDFText_GetUnicode(textpage.raw, i) for i in range(count)]
        boxes = [(c["x0"], c["top"], c["x1"], c["bottom"]) for c in hidden]
        self.hidden = {
            i for i, (left, bottom, right, top) in enumerate(self.boxes)
            if right > left and top > bottom
            and _inside(*_plumber_point(plumber_page, (left + right) / 2, (bottom + top) / 2), boxes)
        }
        # Should the two libraries ever place the page differently, store nothing rather than the hidden text.
        if len(self.hidden) < MIN_LOCATED * len(hidden):
            raise PdfError(
                FailureReason.MALFORMED,
                f"page {number}: text under dark boxes could not be located to leave it out "
                f"({len(self.hidden)} of {len(hidden)} characters)",
            )

    def touches_hidden(self, rect: tuple[float, float, float, float]) -> bool:
        return any(_overlaps(rect, self.boxes[i]) for i in self.hidden)

    def visible_text(self, rect: tuple[float, float, float, float]) -> str:
        # The same walk as pdfium's GetTextByPredicate: a space generated between
        # words is kept after a character that was taken.
        out: list[str] = []
        taken = False
        for i, (box, code) in enumerate(zip(self.boxes, self.codes)):
            char = chr(code) if code else ""
            if _overlaps(rect, box):
                if i in self.hidden:
                    if out and out[-1] != " ":
                        out.append(" ")
                    taken = False
                else:
                    out.append(char)
                    taken = True
            elif char == " " and taken:
                out.append(" ")
                taken = False
            else:
                taken = False
        # pdfium gives UTF-16 units: pair any surrogates back into characters.
        text = "".join(out).encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
        return re.sub(" {2,}", " ", text)


def _plumber_point(page, x: float, y: float) -> tuple[float, float]:
    """Where pdfplumber puts a point of PDF user space (pdfium's frame): its (x, top).

    pdfminer first maps user space to a device space that undoes the page's
    rotation and the MediaBox origin (PDFPageInterpreter.process_page); pdfplumber
    then measures from the top (Page.point2coord).
    """
    x0, y0, x1, y1 = page.page_obj.mediabox
    rotation = page.rotation
    if rotation == 90:
        device = (y - y0, x1 - x)
    elif rotation == 180:
        device = (x1 - x, y1 - y)
    elif rotation == 270:
        device = (y1 - y, x - x0)
    else:
        device = (x - x0, y - y0)
    return page.point2coord(device)


def _inside(x: float, y: float, boxes: list[Box]) -> bool:
    return any(x0 - 0.5 <= x <= x1 + 0.5 and top - 0.5 <= y <= bottom + 0.5 for x0, top, x1, bottom in boxes)


def _overlaps(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    """Whether two (left, bottom, right, top) boxes share some area, as pdfium decides it."""
    return min(a[2], b[2]) > max(a[0], b[0]) and min(a[3], b[3]) > max(a[1], b[1])


# --- tables ----------------------------------------------------------------------


class _PlumberPage:
    """One page opened with pdfplumber on first use: only pages with tables or dark boxes need it."""

    def __init__(self, path: Path, index: int):
        self.path, self.index, self._pdf = path, index, None

    @property
    def page(self):
        if self._pdf is None:
            import pdfplumber  # imported here: most pages never need it

            self._pdf = pdfplumber.open(str(self.path), pages=[self.index + 1])
        return self._pdf.pages[0]

    def close(self) -> None:
        if self._pdf is not None:
            self._pdf.close()


def _tables(geometry: _PlumberPage, hidden: list[dict]) -> list[Table]:
    try:
        return _find_tables(geometry.page, hidden)
    except MemoryError:
        raise
    except Exception:  # pdfminer cannot read a page pdfium could: keep its text, without tables
        return []


def _find_tables(page, hidden: list[dict]) -> list[Table]:
    if hidden:  # a hidden name in a table cell must not come back through the table
        keys = {_char_key(char) for char in hidden}
        page = page.filter(lambda obj: obj.get("object_type") != "char" or _char_key(obj) not in keys)
    found = []
    for table in page.find_tables():
        rows = [[" ".join((cell or "").split()) for cell in row] for row in table.extract()]
        rows = [row for row in rows if any(row)]
        if len(rows) >= 2 and max(len(r) for r in rows) >= 2:
            x0, top, x1, bottom = table.bbox
            found.append(Table(rows=rows, top=top, bottom=bottom, x0=x0, x1=x1))
    return found


def _char_key(char: dict) -> tuple:
    return (char["text"], round(char["x0"], 2), round(char["top"], 2))


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
