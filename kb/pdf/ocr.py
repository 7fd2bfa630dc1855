"""The one module that runs Tesseract: OCR of pages that have no usable text layer."""

from __future__ import annotations

import os
import re
import shutil
from functools import lru_cache

from kb.models import Line

# Tesseract's OpenMP threads spin against each other on a small machine: one
# thread per page was 5x faster here than letting it take both cores.
os.environ.setdefault("OMP_THREAD_LIMIT", "1")
# 300 dpi is where Tesseract's accuracy on report typefaces levels off.
OCR_DPI = 300
LANGUAGE = "eng"
MIN_CONFIDENCE = 30
MARGIN_NUMBER = re.compile(r"^\d{1,2}(?:\.\d{1,3})*\.?$")
MAX_NUMBER_GAP = 60  # points between a hanging number and its text


@lru_cache(maxsize=1)
def ocr_available() -> bool:
    """True when the tesseract binary and its English data are installed."""
    if shutil.which("tesseract") is None:
        return False
    import pytesseract

    try:
        return LANGUAGE in pytesseract.get_languages(config="")
    except pytesseract.TesseractError:
        return False


def ocr_lines(image, page_height_pt: float, dpi: int = OCR_DPI) -> list[Line]:
    """Recognise a rendered page image into lines positioned in PDF points from the top-left."""
    import pytesseract

    data = pytesseract.image_to_data(image, lang=LANGUAGE, output_type=pytesseract.Output.DICT)
    scale = 72.0 / dpi
    lines: dict[tuple[int, int, int], list[int]] = {}
    for i, word in enumerate(data["text"]):
        if word.strip() and float(data["conf"][i]) >= MIN_CONFIDENCE:
            lines.setdefault((data["block_num"][i], data["par_num"][i], data["line_num"][i]), []).append(i)
    result = []
    for indices in lines.values():
        x0 = min(data["left"][i] for i in indices) * scale
        top = min(data["top"][i] for i in indices) * scale
        x1 = max(data["left"][i] + data["width"][i] for i in indices) * scale
        bottom = max(data["top"][i] + data["height"][i] for i in indices) * scale
        # A line's box spans ascender to descender, about 1.2 times the font size.
        heights = sorted(data["height"][i] for i in indices)
        size = round(heights[len(heights) // 2] * scale / 1.2 * 1.5) / 1.5
        text = " ".join(data["text"][i] for i in indices)
        result.append(Line(text, x0, top, x1, bottom, size, False))
    return _attach_margin_numbers(result)


def _attach_margin_numbers(lines: list[Line]) -> list[Line]:
    """Put a paragraph number set in the margin back at the start of its line.

    Tesseract reads a column of hanging numbers as a block of its own, so "4.12"
    would otherwise follow the paragraph instead of opening it.
    """
    kept = []
    for line in lines:
        if not MARGIN_NUMBER.match(line.text):
            kept.append(line)
            continue
        target = next(
            (
                other for other in lines
                if other is not line
                and not MARGIN_NUMBER.match(other.text)
                and 0 <= other.x0 - line.x1 <= MAX_NUMBER_GAP
                and min(other.bottom, line.bottom) - max(other.top, line.top) > 0.5 * (line.bottom - line.top)
            ),
            None,
        )
        if target is None:
            kept.append(line)
        else:
            target.text = f"{line.text} {target.text}"
            target.x0 = line.x0
    return kept
