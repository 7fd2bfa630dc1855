"""Citations of passages, ready to paste: a line of text, RIS and BibTeX for reference managers, and CSV.

Zotero, EndNote and Mendeley import RIS and BibTeX. A citation names the report
(title, publisher, year, its kind), the pages the passage is on and the report's
public address when the catalogue knows it; the passage itself goes in the note,
so an imported reference keeps what was quoted. Unknown facts are left out, never
guessed. The store's own file path is never part of a citation.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PurePath

from kb.csv_safe import write_csv
from kb.knowledge_base import KnowledgeBase
from kb.models import Document, Hit, Passage

FORMATS = {  # format -> (file extension, media type)
    "ris": ("ris", "application/x-research-info-systems"),
    "bibtex": ("bib", "application/x-bibtex; charset=utf-8"),
    "csv": ("csv", "text/csv; charset=utf-8"),
}
CSV_COLUMNS = ["citation", "title", "publisher", "year", "pages", "page_start", "page_end", "url", "file_name",
               "case", "review_type", "section", "passage_id", "doc_id", "text"]
_BIBTEX_SPECIAL = re.compile(r"[\\{}&%$#_^~]")
_BIBTEX_ESCAPES = {"\\": r"\textbackslash{}", "^": r"\^{}", "~": r"\~{}"}


class CitationError(ValueError):
    """A citation that cannot be made (an unknown format or passage), in plain words."""


@dataclass(frozen=True)
class Citation:
    passage_id: str
    doc_id: str
    title: str | None
    publisher: str | None
    year: int | None
    page_start: int
    page_end: int
    url: str | None = None
    file_name: str = ""
    case: str | None = None
    review_type: str | None = None
    author: str | None = None
    section: str | None = None
    text: str = ""

    @property
    def pages(self) -> str:
        return f"p. {self.page_start}" if self.page_start == self.page_end else f"pp. {self.page_start}–{self.page_end}"

    @property
    def line(self) -> str:
        """Harvard style, the report's publisher as its author: 'Publisher (year) Title, p. N. Available at: URL'."""
        title = (self.title or self.file_name or "Untitled report").rstrip(".")
        year = f"({self.year})" if self.year else "(n.d.)"
        head = f"{self.publisher} {year} {title}" if self.publisher else f"{title} {year}"
        return f"{head}, {self.pages}." + (f" Available at: {self.url}" if self.url else "")


def cite(document: Document | None, passage_id: str, page_start: int, page_end: int,
         section: str | None = None, text: str = "") -> Citation:
    meta = document.meta if document else None
    return Citation(
        passage_id=passage_id, doc_id=document.doc_id if document else "", title=meta.title if meta else None,
        publisher=meta.publisher if meta else None, year=meta.year_published if meta else None,
        page_start=page_start, page_end=page_end, url=meta.url if meta else None,
        file_name=PurePath(document.source_path).name if document else "", case=meta.case if meta else None,
        review_type=meta.review_type if meta else None, author=meta.author if meta else None,
        section=section, text=text,
    )


def cite_passage(document: Document | None, passage: Passage) -> Citation:
    return cite(document, passage.passage_id, passage.page_start, passage.page_end, passage.section, passage.text)


def for_passages(kb: KnowledgeBase, passage_ids: Iterable[str]) -> list[Citation]:
    """Citations of these passages in the order given, each once; CitationError names one the store lacks."""
    wanted = list(dict.fromkeys(passage_ids))
    found = kb.catalogue.passages_by_id(wanted)
    missing = [pid for pid in wanted if pid not in found]
    if missing:
        raise CitationError(f"No passage {missing[0]!r} in the knowledge base.")
    documents: dict[str, Document | None] = {}
    return [cite_passage(documents.setdefault(found[pid].doc_id, kb.document(found[pid].doc_id)), found[pid])
            for pid in wanted]


def for_hits(kb: KnowledgeBase, hits: Iterable[Hit]) -> dict[str, Citation]:
    """Each search hit's citation, by passage id."""
    documents: dict[str, Document | None] = {}
    return {
        hit.passage_id: cite(documents.setdefault(hit.doc_id, kb.document(hit.doc_id)), hit.passage_id,
                             hit.page, hit.page_end, hit.section, hit.text)
        for hit in hits
    }


def render(citations: list[Citation], fmt: str) -> bytes:
    """The citations as a file in one of FORMATS."""
    if fmt == "ris":
        return to_ris(citations).encode("utf-8")
    if fmt == "bibtex":
        return to_bibtex(citations).encode("utf-8")
    if fmt == "csv":
        return to_csv(citations)
    raise CitationError(f"Citations can be downloaded as {', '.join(FORMATS)}, not {fmt!r}.")


def _one_line(text: str | None) -> str:
    return " ".join((text or "").split())


def _note(c: Citation) -> str:
    parts = [f"Case: {c.case}" if c.case else "", f"Section: {_one_line(c.section)}" if c.section else "",
             f"Quoted ({c.pages}): “{_one_line(c.text)}”" if c.text else ""]
    return ". ".join(p for p in parts if p)


def to_ris(citations: list[Citation]) -> str:
    """RIS records (TY RPRT ... ER), CRLF line ends as the format asks."""
    records = []
    for c in citations:
        fields = [("TY", "RPRT"), ("TI", c.title or c.file_name or "Untitled report"), ("AU", c.author),
                  ("PB", c.publisher), ("PY", c.year), ("SP", c.page_start), ("EP", c.page_end), ("UR", c.url),
                  ("M3", c.review_type), ("N1", _note(c)), ("ID", c.passage_id)]
        lines = [f"{tag}  - {_one_line(str(value))}" for tag, value in fields if value not in (None, "")]
        records.append("\r\n".join([*lines, "ER  - "]) + "\r\n")
    return "\r\n".join(records)


def _bibtex_escape(text: str) -> str:
    return _BIBTEX_SPECIAL.sub(lambda m: _BIBTEX_ESCAPES.get(m.group(), "\\" + m.group()), _one_line(text))


def _bibtex_url(url: str) -> str:
    # biblatex reads a url verbatim: only its braces would break the entry.
    return _one_line(url).replace("{", "%7B").replace("}", "%7D")


def _bibtex_key(c: Citation, taken: set[str]) -> str:
    name = unicodedata.normalize("NFKD", c.case or c.title or c.doc_id or "report")
    stem = re.sub(r"[^a-z0-9]+", "", name.lower())[:24] or "report"
    key = base = f"{stem}{c.year or 'nd'}p{c.page_start}"
    n = 0
    while key in taken:
        n += 1
        key = f"{base}{chr(ord('a') + n - 1) if n <= 26 else n}"
    taken.add(key)
    return key


def to_bibtex(citations: list[Citation]) -> str:
    """biblatex @report entries; titles, authors and publishers are braced so their capitals stay."""
    entries, taken = [], set()
    for c in citations:
        pages = str(c.page_start) if c.page_start == c.page_end else f"{c.page_start}--{c.page_end}"
        fields = [("title", "{" + _bibtex_escape(c.title or c.file_name or "Untitled report") + "}"),
                  ("author", "{" + _bibtex_escape(c.author) + "}" if c.author else None),
                  ("institution", "{" + _bibtex_escape(c.publisher) + "}" if c.publisher else None),
                  ("type", _bibtex_escape(c.review_type) if c.review_type else None),
                  ("year", str(c.year) if c.year else None), ("pages", pages),
                  ("url", _bibtex_url(c.url) if c.url else None), ("note", _bibtex_escape(_note(c)) or None)]
        body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields if value)
        entries.append(f"@report{{{_bibtex_key(c, taken)},\n{body}\n}}\n")
    return "\n".join(entries)


def to_csv(citations: list[Citation]) -> bytes:
    return write_csv(CSV_COLUMNS, [
        [c.line, c.title, c.publisher, c.year, c.pages, c.page_start, c.page_end, c.url, c.file_name, c.case,
         c.review_type, c.section, c.passage_id, c.doc_id, c.text]
        for c in citations
    ])


def filename(fmt: str, stem: str = "scrkb-citations") -> str:
    return f"{stem}.{FORMATS[fmt][0]}"
