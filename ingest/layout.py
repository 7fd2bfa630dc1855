"""Turn positioned lines into reading-order blocks: furniture removed, words and paragraphs rejoined."""

from __future__ import annotations

import math
import re
from collections import Counter
from statistics import median

from kb.models import Block, Line, Page

# Share of the page height at the top and bottom where running headers, footers
# and page numbers live.
MARGIN_BAND = 0.08
# A line seen in the margin band on at least this share of pages is furniture.
RUNNING_SHARE = 0.4
HEADING_SIZE_RATIO = 1.15
MAJOR_HEADING_SIZE_RATIO = 1.35
MAX_HEADING_CHARS = 160
SMALL_PRINT = 0.9
MAX_FURNITURE_WORDS = 12
# A line ending a sentence with at least this many words is prose, whatever its font.
SENTENCE_WORDS = 8

PAGE_NUMBER = re.compile(
    r"^(?:page\s*)?[-–—(]?\s*(?:\d{1,4}|[ivxlc]{1,6})\s*[-–—)]?(?:\s*(?:of|/)\s*\d{1,4})?$",
    re.IGNORECASE,
)
NEW_ITEM = re.compile(
    r"^(?:\d{1,2}(?:\.\d{1,3}){1,3}\.?\s+\S"  # numbered paragraph: 4.12
    r"|\d{1,3}[.)]\s+[A-Z(\"'‘“]"  # numbered list item: 3. The
    r"|[•●▪◦·■\-–]\s+\S"  # bullet
    r"|\(?[a-z]{1,3}\)\s+\S"  # (a) or ii)
    r")"
)
NUMBERED_HEADING = re.compile(r"^(?:part\s+|section\s+|chapter\s+)?\d{1,2}\.?\s+[A-Z]", re.IGNORECASE)
SENTENCE_END = re.compile(r"[.!?:;]['\"’”)\]]*$")
SOFT_HYPHENS = ("\x02", "\ufffe", "\xad")
LIGATURES = str.maketrans({"ﬁ": "fi", "ﬂ": "fl", "ﬀ": "ff", "ﬃ": "ffi", "ﬄ": "ffl", "\u00a0": " "})
# Prefixes whose hyphen is part of the word when it falls at a line end
# ("multi-\nagency" is "multi-agency", but "investi-\ngation" is "investigation").
KEEP_HYPHEN = {
    "multi", "inter", "non", "self", "co", "cross", "ex", "step", "half", "well", "pre",
    "post", "under", "over", "re", "sub", "anti", "semi", "long", "short", "full", "part",
    "follow", "child", "face", "first", "second", "third", "one", "two", "three", "year",
    "day", "week", "month", "high", "low", "sexual", "health", "school", "case", "risk",
}


def page_blocks(pages: list[Page]) -> list[Block]:
    """Rebuild the document's headings, paragraphs and table rows in reading order."""
    furniture = running_lines(pages)
    body = body_size(pages)
    blocks: list[Block] = []
    for page in pages:
        lines = [ln for ln in page.lines if not _is_furniture(ln, page, furniture, body)]
        page_blocks_ = _blocks_on_page(page, lines, body)
        # A paragraph broken by the page (perhaps with a table carried over first) joins up again.
        first = next((i for i, b in enumerate(page_blocks_) if not b.kind.startswith("table")), None)
        if blocks and first is not None and _continues_across_pages(blocks[-1], page_blocks_[first]):
            carried = page_blocks_.pop(first)
            blocks[-1].text = join_lines(blocks[-1].text, carried.text)
            blocks[-1].page_end = page.number
        blocks.extend(page_blocks_)
    return [b for b in blocks if b.text]


def running_lines(pages: list[Page]) -> set[str]:
    """Find running headers and footers: the same text in the margin band on many pages."""
    if len(pages) < 2:
        return set()
    seen: Counter[str] = Counter()
    for page in pages:
        keys = {_key(ln.text) for ln in page.lines if _in_margin(ln, page)}
        seen.update(k for k in keys if k)
    needed = max(2, math.ceil(RUNNING_SHARE * len(pages)))
    return {key for key, count in seen.items() if count >= needed}


def body_size(pages: list[Page]) -> float:
    """The font size most of the text is set in, margins left out."""
    sizes: Counter[float] = Counter()
    for page in pages:
        for ln in page.lines:
            if ln.size and not _in_margin(ln, page):
                sizes[ln.size] += len(ln.text)
    return sizes.most_common(1)[0][0] if sizes else 0.0


def join_lines(left: str, right: str) -> str:
    """Join two lines of one paragraph, rejoining a word hyphenated across them."""
    if not left:
        return right
    # pdfium marks a hyphen it judged to be hyphenation; treat it as the hyphen it was
    left = left.rstrip("".join(SOFT_HYPHENS)) + "-" if left.endswith(SOFT_HYPHENS) else left
    match = re.search(r"(\w+)-$", left)
    if match and right[:1].islower():
        if match.group(1).lower() in KEEP_HYPHEN:
            return left + right
        return left[:-1] + right
    return left + " " + right


def clean_text(text: str) -> str:
    text = text.translate(LIGATURES)
    # pdfium leaves its hyphenation marker inside a run when it joined the halves itself
    text = re.sub("[\x02\ufffe\xad]\\s*(?=\\w)", "", text)
    return " ".join(text.split())


def _key(text: str) -> str:
    return re.sub(r"\d+", "#", " ".join(text.lower().split()))


def _in_margin(line: Line, page: Page) -> bool:
    band = MARGIN_BAND * page.height
    return line.bottom <= band or line.top >= page.height - band


def _is_furniture(line: Line, page: Page, running: set[str], body: float) -> bool:
    if not _in_margin(line, page):
        return False
    if _key(line.text) in running or PAGE_NUMBER.match(line.text.strip()):
        return True
    # Headers and footers are set smaller than the body; this catches them on a
    # first page or a one-page document, where nothing repeats.
    return bool(body) and line.size < body * SMALL_PRINT and len(line.text.split()) <= MAX_FURNITURE_WORDS


def _blocks_on_page(page: Page, lines: list[Line], body: float) -> list[Block]:
    text_lines = [ln for ln in lines if _table_of(ln, page) is None]
    gaps = [b.top - a.bottom for a, b in zip(text_lines, text_lines[1:]) if 0 <= b.top - a.bottom < 2 * max(a.size, 6)]
    usual_gap = median(gaps) if gaps else 2.0
    blocks: list[Block] = []
    current: list[Line] = []
    placed: set[int] = set()
    previous: Line | None = None

    def flush():
        if current:
            text = ""
            for ln in current:
                text = join_lines(text, ln.text)
            blocks.append(Block("paragraph", clean_text(text), page.number, page.number))
            current.clear()

    for line in lines:
        table = _table_of(line, page)
        if table is not None:
            # Tables come from pdfplumber; they go where their text sits in the reading order.
            if table not in placed:
                flush()
                blocks.extend(_table_blocks(page.tables[table], page.number))
                placed.add(table)
            continue
        level = _heading_level(line, body)
        last = blocks[-1] if blocks else None
        # Straight after a heading line, with no text between (so `previous` is that line).
        after_heading = not current and last is not None and last.kind == "heading" and previous is not None
        # A heading wrapped onto a second line keeps the first line's level, and its second line
        # joins it even when it would not pass for a heading alone ("(Cm" / "412)").
        wrapped = after_heading and _close(previous, line) and _wrapped_heading(previous, line) and (
            line.bold or (body and line.size >= body * HEADING_SIZE_RATIO))
        if level or wrapped:
            flush()
            if wrapped or (after_heading and last.level == level and _close(previous, line)):
                last.text = clean_text(last.text + " " + line.text)
            else:
                blocks.append(Block("heading", clean_text(line.text), page.number, page.number, level))
        elif current and _continues(current[-1], line, usual_gap, body):
            current.append(line)
        else:
            flush()
            current.append(line)
        previous = line
    flush()
    for i, table in enumerate(page.tables):
        if i not in placed:  # a table whose cells pdfium read as no text at all
            blocks.extend(_table_blocks(table, page.number))
    return blocks


def _table_blocks(table, page_number: int) -> list[Block]:
    return [
        Block("table_header" if i == 0 else "table", clean_text(" | ".join(row)), page_number, page_number)
        for i, row in enumerate(table.rows)
    ]


def _table_of(line: Line, page: Page) -> int | None:
    middle = (line.top + line.bottom) / 2
    centre = (line.x0 + line.x1) / 2
    for i, t in enumerate(page.tables):
        if t.top - 1 <= middle <= t.bottom + 1 and t.x0 - 1 <= centre <= t.x1 + 1:
            return i
    return None


def _heading_level(line: Line, body: float) -> int:
    text = line.text.strip()
    if not text or len(text) > MAX_HEADING_CHARS or PAGE_NUMBER.match(text):
        return 0
    if SENTENCE_END.search(text) and len(text.split()) >= SENTENCE_WORDS:
        return 0
    if body and line.size >= body * MAJOR_HEADING_SIZE_RATIO:
        return 1
    if body and line.size >= body * HEADING_SIZE_RATIO:
        return 1 if NUMBERED_HEADING.match(text) else 2
    if line.bold and not SENTENCE_END.search(text) and len(text) < 120:
        return 1 if NUMBERED_HEADING.match(text) and not NEW_ITEM.match(text) else 2
    letters = [c for c in text if c.isalpha()]
    if len(letters) >= 6 and all(c.isupper() for c in letters) and len(text.split()) <= 10:
        return 1
    return 0


def _wrapped_heading(first: Line, second: Line) -> bool:
    """Whether `second` carries on the heading line `first`: set alike, starting no number of its own.

    "3. Chronology of agency" wrapped before "involvement" reads as a numbered heading
    and an unnumbered one, so their levels differ though they are one heading.
    """
    return (
        abs(first.size - second.size) < 0.5
        and first.bold == second.bold
        and not NUMBERED_HEADING.match(second.text.strip())
        and not NEW_ITEM.match(second.text.strip())
        # set from the heading's left edge, or centred under it: not indented beneath it
        and (second.x0 <= first.x0 + 2 or abs((first.x0 + first.x1) - (second.x0 + second.x1)) < 6)
    )


def _close(a: Line, b: Line) -> bool:
    return 0 <= b.top - a.bottom < max(a.size, b.size, 6)


def _continues(prev: Line, line: Line, usual_gap: float, body: float) -> bool:
    if NEW_ITEM.match(line.text):
        return False
    ended = bool(SENTENCE_END.search(prev.text))
    if line.top < prev.top - 1:  # moved up: the next column; only a sentence in mid-flow carries on
        return not ended
    if line.top - prev.bottom > usual_gap + 0.6 * max(body, line.size, 6):
        return False
    if ended and line.x0 > prev.x0 + 8 and line.x1 <= prev.x1 + 1:
        return False  # a first-line indent starts a new paragraph
    return True


def _continues_across_pages(last: Block, first: Block) -> bool:
    return (
        last.kind == "paragraph"
        and first.kind == "paragraph"
        and not SENTENCE_END.search(last.text)
        and not NEW_ITEM.match(first.text)
    )
