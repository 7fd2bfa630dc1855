"""Failed redactions: text left in the text layer under an opaque dark box, found so it is never stored."""

from __future__ import annotations

import ctypes
import re

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from kb.models import FailureReason
from kb.pdf.errors import PdfError
from kb.pdf.tables import PlumberPage

# A fill darker than this (0 black, 1 white) can hide text; a light highlight cannot.
DARK_FILL = 0.35
OPAQUE = 0.8  # fill alpha from which a box hides what is under it
MIN_COVER = 2.0  # points: a thinner dark fill is a rule or a border
COVER_SHARE = 0.5  # share of a letter's height a box must span to hide it
# Text and box shades closer than this cannot be told apart: the text is unreadable.
MIN_CONTRAST = 0.25
# Share of the hidden characters pdfplumber finds that must be found again among pdfium's.
MIN_LOCATED = 0.5

Box = tuple[float, float, float, float]  # x0, top, x1, bottom in points from the top-left


def text_under(textpage: pdfium.PdfTextPage, boxes: list[tuple | None]) -> bool:
    """Whether any character's centre lies in one of the boxes (a None box counts as yes)."""
    if None in boxes:
        return True
    for i in range(textpage.count_chars()):
        left, bottom, right, top = textpage.get_charbox(i)
        x, y = (left + right) / 2, (bottom + top) / 2
        if any(b[0] <= x <= b[2] and b[1] <= y <= b[3] for b in boxes):
            return True
    return False


def is_dark_fill(obj: pdfium.PdfObject) -> bool:
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


def hidden_chars_checked(geometry: PlumberPage, number: int) -> list[dict]:
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


class PdfiumChars:
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
