"""Learning packs: a trainer's ordered selection of passages, each with a heading, a note and its citation.

A pack stores passage ids only; the quoted text and the citation are read from the
catalogue whenever the pack is opened, so they always match the stored report.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from kb.models import Document, Passage
from kb.store.catalogue import Catalogue

TITLE_MAX = 200
INTRODUCTION_MAX = 10_000
HEADING_MAX = 200
NOTE_MAX = 4000


class PackError(ValueError):
    """A value a pack cannot hold; the message is written for the person who typed it."""


class Missing(LookupError):
    """No such pack, item or passage; `what` names it for a message."""

    def __init__(self, what: str):
        super().__init__(f"{what} was not found.")
        self.what = what


@dataclass
class PackItem:
    item_id: int
    pack_id: int
    position: int  # 0-based, contiguous within the pack
    passage_id: str
    heading: str = ""
    note: str = ""
    passage: Passage | None = None  # None once a re-ingested report no longer has this passage
    document: Document | None = None

    @property
    def number(self) -> int:
        return self.position + 1

    @property
    def citation(self) -> str | None:
        if self.passage is None:
            return None
        return citation(self.document, self.passage)


@dataclass
class Pack:
    pack_id: int
    title: str
    introduction: str = ""
    created: str = ""
    updated: str = ""
    item_count: int = 0
    items: list[PackItem] = field(default_factory=list)

    @property
    def sources(self) -> list[Document]:
        """Each cited report once, in the order the pack first cites it."""
        seen: dict[str, Document] = {}
        for item in self.items:
            if item.document is not None:
                seen.setdefault(item.document.doc_id, item.document)
        return list(seen.values())


def pages(start: int, end: int) -> str:
    return f"p. {start}" if start == end else f"pp. {start}–{end}"


def citation(document: Document | None, passage: Passage) -> str:
    """'Title (year), p. N': the form a trainer pastes under a quotation."""
    meta = document.meta if document else None
    title = (meta.title if meta else None) or "Untitled report"
    year = f" ({meta.year_published})" if meta and meta.year_published else ""
    return f"{title}{year}, {pages(passage.page_start, passage.page_end)}"


def source_line(document: Document) -> str:
    """A report as a reference: title, publisher, year and URL, leaving out what is unknown."""
    meta = document.meta
    parts = [meta.title or "Untitled report"]
    published = ", ".join(str(x) for x in (meta.publisher, meta.year_published) if x)
    if published:
        parts.append(published)
    if meta.url:
        parts.append(meta.url)
    return ". ".join(p.rstrip(".") for p in parts)


# Form fields arrive with CRLF line ends and, pasted from elsewhere, control
# characters that Word's XML cannot hold; keep tabs and line breaks only.
_CONTROL = re.compile(r"[^\S\n\t]|[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def clean_text(text: str) -> str:
    text = unicodedata.normalize("NFC", (text or "").replace("\r\n", "\n").replace("\r", "\n"))
    text = "".join(ch for ch in text if not 0xD800 <= ord(ch) <= 0xDFFF)
    return _CONTROL.sub(lambda m: " " if m.group().isspace() else "", text).strip()


def clean_line(text: str) -> str:
    return " ".join(clean_text(text).split())


def _checked(value: str, limit: int, what: str, required: bool = False) -> str:
    if required and not value:
        raise PackError(f"{what} cannot be empty.")
    if len(value) > limit:
        raise PackError(f"{what} can be at most {limit} characters; this one has {len(value)}.")
    return value


def checked_title(title: str) -> str:
    return _checked(clean_line(title), TITLE_MAX, "A pack's title", required=True)


def checked_introduction(text: str) -> str:
    return _checked(clean_text(text), INTRODUCTION_MAX, "The introduction")


def checked_heading(text: str) -> str:
    return _checked(clean_line(text), HEADING_MAX, "A heading")


def checked_note(text: str) -> str:
    return _checked(clean_text(text), NOTE_MAX, "A note")


class Packs:
    """Create, edit and read learning packs; values are checked here, whoever calls."""

    def __init__(self, catalogue: Catalogue):
        self.catalogue = catalogue

    # --- packs ---------------------------------------------------------------

    def create(self, title: str, introduction: str = "") -> Pack:
        pack_id = self.catalogue.create_pack(checked_title(title), checked_introduction(introduction))
        return self._pack(self.catalogue.pack_row(pack_id))

    def rename(self, pack_id: int, title: str) -> None:
        self._require(self.catalogue.update_pack(pack_id, title=checked_title(title)), "That learning pack")

    def set_introduction(self, pack_id: int, introduction: str) -> None:
        self._require(
            self.catalogue.update_pack(pack_id, introduction=checked_introduction(introduction)), "That learning pack"
        )

    def update(self, pack_id: int, title: str, introduction: str) -> None:
        """Change title and introduction together (both are checked before either is stored)."""
        title, introduction = checked_title(title), checked_introduction(introduction)
        self._require(self.catalogue.update_pack(pack_id, title, introduction), "That learning pack")

    def delete(self, pack_id: int) -> None:
        self._require(self.catalogue.delete_pack(pack_id), "That learning pack")

    def list(self) -> list[Pack]:
        """Every pack without its items, the most recently changed first."""
        return [self._pack(row) for row in self.catalogue.pack_rows()]

    def get(self, pack_id: int) -> Pack | None:
        """A pack with its items in order, each with its passage and report from the catalogue."""
        row = self.catalogue.pack_row(pack_id)
        if row is None:
            return None
        pack = self._pack(row)
        rows = self.catalogue.pack_item_rows(pack_id)
        passages = self.catalogue.passages_by_id(r["passage_id"] for r in rows)
        documents: dict[str, Document | None] = {}
        for r in rows:
            passage = passages.get(r["passage_id"])
            document = None
            if passage is not None:
                if passage.doc_id not in documents:
                    documents[passage.doc_id] = self.catalogue.document(passage.doc_id)
                document = documents[passage.doc_id]
            pack.items.append(PackItem(
                item_id=r["item_id"], pack_id=pack_id, position=r["position"], passage_id=r["passage_id"],
                heading=r["heading"], note=r["note"], passage=passage, document=document,
            ))
        return pack

    def holding(self, passage_id: str) -> list[int]:
        """The ids of the packs a passage is already in."""
        return self.catalogue.packs_holding(passage_id)

    # --- items ---------------------------------------------------------------

    def add(self, pack_id: int, passage_id: str, heading: str = "", note: str = "") -> int:
        """Add a passage to the end of a pack and return its item id (the existing one if it is there)."""
        heading, note = checked_heading(heading), checked_note(note)
        if not self.catalogue.passages_by_id([passage_id]):
            raise Missing("That passage")
        item_id = self.catalogue.add_pack_item(pack_id, passage_id, heading, note)
        if item_id is None:
            raise Missing("That learning pack")
        return item_id

    def edit(self, pack_id: int, item_id: int, heading: str | None = None, note: str | None = None) -> None:
        """Set an item's heading and/or note (None leaves it as it is)."""
        heading = None if heading is None else checked_heading(heading)
        note = None if note is None else checked_note(note)
        self._require(self.catalogue.update_pack_item(pack_id, item_id, heading, note), "That item")

    def remove(self, pack_id: int, item_id: int) -> None:
        self._require(self.catalogue.remove_pack_item(pack_id, item_id), "That item")

    def move(self, pack_id: int, item_id: int, position: int) -> None:
        """Move an item to a 0-based position; beyond either end means to that end."""
        self._require(self.catalogue.move_pack_item(pack_id, item_id, position), "That item")

    def move_up(self, pack_id: int, item_id: int) -> None:
        self.move(pack_id, item_id, self._position(pack_id, item_id) - 1)

    def move_down(self, pack_id: int, item_id: int) -> None:
        self.move(pack_id, item_id, self._position(pack_id, item_id) + 1)

    def _position(self, pack_id: int, item_id: int) -> int:
        for row in self.catalogue.pack_item_rows(pack_id):
            if row["item_id"] == item_id:
                return row["position"]
        raise Missing("That item")

    @staticmethod
    def _require(found: bool, what: str) -> None:
        if not found:
            raise Missing(what)

    @staticmethod
    def _pack(row: dict) -> Pack:
        return Pack(
            pack_id=row["pack_id"], title=row["title"], introduction=row["introduction"],
            created=row["created"], updated=row["updated"], item_count=row.get("item_count", 0),
        )
