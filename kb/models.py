"""The records that cross a stage boundary: plain dataclasses, nothing else."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


@dataclass
class Line:
    """One line of text on a page, in PDF points measured from the top-left corner."""

    text: str
    x0: float
    top: float
    x1: float
    bottom: float
    size: float = 0.0
    bold: bool = False


@dataclass
class Table:
    """A ruled table found on a page: rows of cell texts and its bounding box."""

    rows: list[list[str]]
    top: float
    bottom: float
    x0: float = 0.0
    x1: float = float("inf")


@dataclass
class Page:
    number: int  # 1-based, as printed in a citation
    width: float
    height: float
    lines: list[Line] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    method: str = "text"  # "text" (text layer) or "ocr"
    hidden_chars: int = 0  # characters of the text layer left out because a dark box covers them


@dataclass
class ExtractedDocument:
    path: str
    sha256: str
    size: int
    page_count: int
    pages: list[Page]
    pdf_metadata: dict[str, str] = field(default_factory=dict)
    redacted_pages: list[int] = field(default_factory=list)  # pages with text under dark boxes: a possible failed redaction


@dataclass
class Block:
    """A heading, paragraph or table row rebuilt from lines, with its pages."""

    kind: str  # "heading" | "paragraph" | "table"
    text: str
    page_start: int
    page_end: int
    level: int = 0  # heading level: 1 for a major heading, 2 below it


@dataclass
class DocumentMeta:
    """What a document is; every field may be unknown (None), never guessed."""

    title: str | None = None
    review_type: str | None = None
    case: str | None = None
    area: str | None = None
    nation: str | None = None
    year_published: int | None = None
    year_of_incident: int | None = None
    catalogue_id: str | None = None
    url: str | None = None
    publisher: str | None = None
    author: str | None = None
    source: str = "text"  # where the description came from: "catalogue" or "text"


@dataclass
class EntitySpan:
    label: str  # AGENCY, ROLE, SUBJECT, PERSON, ORG, GPE, DATE
    text: str
    start: int  # character offsets into the passage text
    end: int
    canonical: str | None = None  # e.g. "children's social care" for "CSC"


@dataclass
class Evidence:
    text: str
    start: int
    end: int


@dataclass
class ThemeMatch:
    theme_id: str
    score: float
    kind: str  # "shows" or "names"
    evidence: list[Evidence] = field(default_factory=list)
    review: str | None = None  # a reviewer's latest verdict: "confirm", "reject", "add", or None

    @property
    def shown(self) -> bool:
        """Whether the passage counts for this theme: the reviewer's word, else the tagger's "shows"."""
        if self.review is not None:
            return self.review != "reject"
        return self.kind == "shows"


@dataclass
class Sentence:
    """A sentence of a passage: offsets into the passage text and its content lemmas."""

    start: int
    end: int
    lemmas: tuple[str, ...] = ()


@dataclass
class Passage:
    passage_id: str
    doc_id: str
    seq: int  # position in the document's reading order
    text: str
    page_start: int
    page_end: int
    section: str | None = None
    section_kind: str | None = None
    ocr: bool = False  # text recognised from a page image, not read from a text layer
    entities: list[EntitySpan] = field(default_factory=list)
    themes: list[ThemeMatch] = field(default_factory=list)
    sentences: list[Sentence] = field(default_factory=list)


ROUTES = ("direct", "govuk", "landing", "archive")
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December")


@dataclass
class Provenance:
    """Where a downloaded file came from, as `scrkb fetch` recorded it in its manifest."""

    route: str  # one of ROUTES: the row's own URL, a GOV.UK attachment, a landing page's link, the Internet Archive
    asked_url: str  # the address of the file that was wanted
    fetched_url: str  # the address its bytes came from (after redirects; an archive copy's replay address)
    landing_url: str | None = None  # the page the file was found on, if any
    title: str | None = None  # the attachment's or link's title on that page
    captured_at: str | None = None  # when the archive captured it (ISO 8601, UTC), archive copies only
    chosen_because: str | None = None
    sha256: str | None = None
    size: int | None = None
    fetched_at: str | None = None

    @property
    def summary(self) -> str:
        """One sentence for a reader: which copy this is, of what."""
        if self.route == "archive" and self.captured_at:
            year, month, day = (int(p) for p in self.captured_at[:10].split("-"))
            return f"Internet Archive copy of {day} {MONTHS[month - 1]} {year} of {self.asked_url}"
        if self.route == "govuk" and self.landing_url:
            return f"GOV.UK attachment '{self.title or self.asked_url}' of {self.landing_url}"
        if self.route == "landing" and self.landing_url:
            return f"Linked as '{self.title or self.asked_url}' from {self.landing_url}"
        moved = f" (redirected to {self.fetched_url})" if self.fetched_url != self.asked_url else ""
        return f"Downloaded from {self.asked_url}{moved}"


@dataclass
class Document:
    doc_id: str
    sha256: str
    source_path: str
    size: int
    page_count: int
    meta: DocumentMeta
    pdf_metadata: dict[str, str] = field(default_factory=dict)
    redacted_pages: list[int] = field(default_factory=list)  # possible failed redaction on these pages
    provenance: Provenance | None = None  # for a file `scrkb fetch` downloaded


@dataclass
class Hit:
    passage_id: str
    doc_id: str
    title: str | None
    case: str | None
    year: int | None
    source_path: str
    page: int
    page_end: int
    section: str | None
    text: str
    score: float
    section_kind: str | None = None
    review_type: str | None = None
    keyword_score: float | None = None
    semantic_score: float | None = None
    keyword_rank: int | None = None
    semantic_rank: int | None = None
    best_sentence: str | None = None
    best_sentence_span: tuple[int, int] | None = None
    highlights: list[tuple[int, int]] = field(default_factory=list)  # query terms in `text`
    themes: list[ThemeMatch] = field(default_factory=list)
    also_in: list[dict] = field(default_factory=list)  # near-identical passages elsewhere
    ocr: bool = False


class FailureReason(str, Enum):
    NOT_PDF = "not a PDF"
    ENCRYPTED = "encrypted"
    MALFORMED = "malformed"
    NO_PAGES = "no pages"
    NO_TEXT = "needs OCR"
    TOO_LARGE = "too large"
    TIMEOUT = "timeout"
    UNREADABLE = "unreadable"
    TOO_MANY_PAGES = "too many pages"
    OUT_OF_MEMORY = "out of memory"
    CRASHED = "crashed"


@dataclass
class Failure:
    path: str
    reason: FailureReason
    detail: str = ""

    @property
    def error(self) -> str:
        return f"{self.reason.value}: {self.detail}" if self.detail else self.reason.value


@dataclass
class IngestReport:
    ingested: int = 0
    unchanged: int = 0
    replaced: int = 0
    failed: list[Failure] = field(default_factory=list)
    documents: int = 0
    pages: int = 0
    passages: int = 0
    seconds: float = 0.0
    pages_processed: int = 0
    needs_ocr: dict[str, list[int]] = field(default_factory=dict)  # path -> pages stored without text
    possible_failed_redaction: dict[str, list[int]] = field(default_factory=dict)  # path -> pages with covered text
    resumed: int = 0  # documents an interrupted run had stored without their vectors, indexed first

    def as_json(self) -> dict:
        return {
            "ingested": self.ingested,
            "unchanged": self.unchanged,
            "replaced": self.replaced,
            "failed": [
                {"path": f.path, "reason": f.reason.value, "error": f.error} for f in self.failed
            ],
            "documents": self.documents,
            "pages": self.pages,
            "passages": self.passages,
            "needs_ocr": [{"path": path, "pages": pages} for path, pages in self.needs_ocr.items()],
            "possible_failed_redaction": [
                {"path": path, "pages": pages} for path, pages in self.possible_failed_redaction.items()
            ],
            "resumed": self.resumed,
            "seconds": round(self.seconds, 2),
            "pages_processed": self.pages_processed,
        }
