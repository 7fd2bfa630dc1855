"""Chunk a document's blocks into passages that follow paragraphs and fit the embedding window."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from kb.models import Block, Passage
from kb.nlp.sections import section_kind
from kb.nlp.text import sentences

# all-MiniLM-L6-v2 reads 256 wordpieces including its two special tokens and
# silently drops the rest, so a passage stays under this many.
MAX_TOKENS = 240
# Paragraphs shorter than this are merged with their neighbours in one section.
MERGE_BELOW_TOKENS = 90


@dataclass
class _Draft:
    section: str | None
    kind: str
    blocks: list[Block] = field(default_factory=list)
    tokens: int = 0


def passage_id(sha256: str, page: int, index_on_page: int) -> str:
    """A stable id: the same file chunked again gives the same ids."""
    return f"{sha256[:16]}-p{page:04d}-{index_on_page:02d}"


def chunk_blocks(
    blocks: list[Block],
    doc_id: str,
    sha256: str,
    count_tokens: Callable[[str], int],
    ocr_pages: frozenset[int] = frozenset(),
) -> list[Passage]:
    drafts = _drafts(blocks, count_tokens)
    passages: list[Passage] = []
    on_page: Counter[int] = Counter()
    for draft in drafts:
        start = draft.blocks[0].page_start
        end = max(b.page_end for b in draft.blocks)
        separator = "\n" if draft.kind == "table" else "\n\n"
        text = separator.join(b.text for b in draft.blocks)
        passages.append(
            Passage(
                passage_id=passage_id(sha256, start, on_page[start]),
                doc_id=doc_id,
                seq=len(passages),
                text=text,
                page_start=start,
                page_end=end,
                section=draft.section,
                section_kind=_kind_of(draft.section),
                ocr=any(page in ocr_pages for page in range(start, end + 1)),
            )
        )
        on_page[start] += 1
    return passages


def only_addresses(text: str) -> bool:
    """True for a block that is nothing but web addresses (a list of sources), wrapped over lines.

    Such a block holds no words a reader searches for, and its addresses repeat the case's name,
    so as a passage it would crowd the report's own text out of the results; it is not indexed."""
    tokens = text.split()
    if not any(t.lower().startswith(("http://", "https://")) for t in tokens):
        return False
    previous = ""
    for token in tokens:
        # an address, a wrapped piece of one (it breaks after '/' or before '-', '_', '.', '?', '&', '=';
        # OCR may split it at digits), or a bullet or stray OCR mark
        if not (token.lower().startswith(("http://", "https://")) or _ADDRESS_PART.search(token)
                or token.isdigit() or previous.endswith("/") or len(token) <= 2):
            return False
        previous = token
    return True


_ADDRESS_PART = re.compile(r"[-_.?&=/%]")


def _drafts(blocks: list[Block], count_tokens: Callable[[str], int]) -> list[_Draft]:
    major: str | None = None
    minor: str | None = None
    header: Block | None = None
    drafts: list[_Draft] = []
    current: _Draft | None = None
    for block in blocks:
        if block.kind != "heading" and only_addresses(block.text):
            continue
        if block.kind == "heading":
            if block.level <= 1:
                major, minor = block.text, None
            else:
                minor = block.text
            current = None
            continue
        section = f"{major} › {minor}" if major and minor else (minor or major)
        kind = "table" if block.kind.startswith("table") else "prose"
        if block.kind == "table_header":
            header = block
        for piece in _fit(block, count_tokens):
            tokens = count_tokens(piece.text)
            fits = current is not None and current.tokens + tokens <= MAX_TOKENS
            same = current is not None and current.section == section and current.kind == kind
            small = current is not None and (kind == "table" or current.tokens < MERGE_BELOW_TOKENS)
            if same and fits and small and piece.kind != "table_header":
                current.blocks.append(piece)
                current.tokens += tokens
                continue
            current = _Draft(section, kind, [piece], tokens)
            # A chronology split over several passages keeps its column names in each.
            if piece.kind == "table" and header is not None and header is not piece:
                head_tokens = count_tokens(header.text)
                if head_tokens + tokens <= MAX_TOKENS:
                    current.blocks.insert(0, Block("table_header", header.text, piece.page_start, piece.page_start))
                    current.tokens += head_tokens
            drafts.append(current)
        if block.kind not in ("table", "table_header"):
            header = None
    return drafts


def _fit(block: Block, count_tokens: Callable[[str], int]) -> list[Block]:
    """Split a block that is too long for one passage at sentence, then word, boundaries."""
    if count_tokens(block.text) <= MAX_TOKENS:
        return [block]
    pieces: list[str] = []
    current = ""
    for sentence in _sentences(block.text, count_tokens):
        candidate = f"{current} {sentence}".strip()
        if current and count_tokens(candidate) > MAX_TOKENS:
            pieces.append(current)
            current = sentence
        else:
            current = candidate
    if current:
        pieces.append(current)
    return [Block(block.kind, p, block.page_start, block.page_end, block.level) for p in pieces]


def _sentences(text: str, count_tokens: Callable[[str], int]) -> list[str]:
    out: list[str] = []
    for sentence in sentences(text):
        if count_tokens(sentence) <= MAX_TOKENS:
            out.append(sentence)
            continue
        words = sentence.split()
        step = max(20, len(words) * MAX_TOKENS // (2 * count_tokens(sentence)))
        out.extend(" ".join(words[i : i + step]) for i in range(0, len(words), step))
    return out


def _kind_of(section: str | None) -> str | None:
    if not section:
        return None
    parts = section.split(" › ")
    for part in reversed(parts):
        kind = section_kind(part)
        if kind:
            return kind
    return None
