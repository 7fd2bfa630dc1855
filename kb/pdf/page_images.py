"""Viewing: a page as an image, and where a passage sits on it."""

from __future__ import annotations

import io
import re
from pathlib import Path

from kb.models import FailureReason
from kb.pdf.errors import PdfError
from kb.pdf.reading import open_pdf

VIEW_SCALE = 1.5  # 108 dpi: readable on screen, small enough to send quickly
OUTLINE_WORDS = 6
OUTLINE_COLOUR = (212, 53, 28)  # GOV.UK red: visible on white and on scans


def render_page_png(path: Path, page_number: int, scale: float = VIEW_SCALE, outline: list | None = None) -> bytes:
    """Render one page (1-based) to PNG bytes, outlining boxes given as fractions of the page.

    The outline is drawn into the image so that it shows without scripts or styles.
    """
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
    index = []
    for i, char in enumerate(chars):
        if not re.fullmatch(r"[\W_]+", char["text"]):
            index.extend([i] * len(char["text"]))
    return index
