"""Describe a document: from its catalogue row when it has one, else from what its first pages state."""

from __future__ import annotations

import re

from kb.models import Block, DocumentMeta, ExtractedDocument
from kb.sources.report_catalogue import CatalogueEntry

# Checked in order: the more specific names first.
REVIEW_TYPES = [
    ("child safeguarding practice review", re.compile(r"child safeguarding practice review|\bLCSPR\b|\bCSPR\b", re.I)),
    ("child practice review", re.compile(r"\bchild practice review\b", re.I)),
    ("national review", re.compile(r"\bnational (?:child safeguarding practice )?review\b", re.I)),
    ("serious case review", re.compile(r"serious case review|\bSCR\b", re.I)),
    ("thematic review", re.compile(r"thematic review", re.I)),
    ("inquiry", re.compile(r"\binquiry\b", re.I)),
]
SUBJECT = re.compile(r"\b(?:Child|Baby|Family|Young Person|Children)\s+[A-Z](?:\d|[A-Z])?\b(?![a-z])")
AREA = re.compile(
    r"\b((?:[A-Z][a-z]+(?:\s|&|and|of|upon|-)*){1,4}?)\s*(?:Local\s+)?Safeguarding\s+"
    r"(?:Children\s+|Adults\s+and\s+Children\s+)?(?:Board|Partnership)"
)
STATED_YEAR = re.compile(
    r"\b(?:published|publication date|date of publication|final report|report date)\b[^\n]{0,40}?\b((?:19|20)\d\d)\b",
    re.I,
)
UNHELPFUL_TITLE = re.compile(r"^(?:untitled|microsoft word|document\d*|\S+\.(?:docx?|pdf|rtf))", re.I)
FRONT_PAGES = 2


def describe_document(
    extracted: ExtractedDocument, blocks: list[Block], entry: CatalogueEntry | None
) -> DocumentMeta:
    """Take facts from the catalogue row first, then the text; leave the rest empty."""
    front = "\n".join(b.text for b in blocks if b.page_start <= FRONT_PAGES)
    from_text = DocumentMeta(
        title=_title(extracted, blocks),
        review_type=_first_review_type(front),
        case=_subject(front),
        area=_area(front),
        year_published=_stated_year(front),
    )
    if entry is None:
        return from_text
    return DocumentMeta(
        title=entry.title or from_text.title,
        review_type=entry.review_type or from_text.review_type,
        case=entry.case or from_text.case,
        area=entry.area or from_text.area,
        nation=entry.nation,
        year_published=entry.year_published or from_text.year_published,
        year_of_incident=entry.year_of_incident,
        catalogue_id=entry.id,
        url=entry.url or entry.landing_url,
        publisher=entry.publisher,
        author=entry.author,
        source="catalogue",
    )


def _title(extracted: ExtractedDocument, blocks: list[Block]) -> str | None:
    stated = extracted.pdf_metadata.get("Title", "")
    if stated and not UNHELPFUL_TITLE.match(stated):
        return stated
    for block in blocks:
        if block.page_start > 1:
            break
        if block.kind == "heading" and len(block.text) > 8:
            return block.text
    return None


def _first_review_type(text: str) -> str | None:
    for name, pattern in REVIEW_TYPES:
        if pattern.search(text):
            return name
    return None


def _subject(text: str) -> str | None:
    found = SUBJECT.search(text)
    return found.group(0) if found else None


def _area(text: str) -> str | None:
    found = AREA.search(text)
    return found.group(1).strip() if found else None


def _stated_year(text: str) -> int | None:
    found = STATED_YEAR.search(text)
    return int(found.group(1)) if found else None
