"""Multi-agency chronologies: dated events, the agencies in each, and who was in contact when.

Reviews say nobody joined the dots; this puts each report's contacts in date order.
Events come from chronology tables (rows "Date | Agency | Event") and from narrative
sentences that carry both a date and a named agency or role. Agencies are the
stored AGENCY and ROLE entities (their canonical names), never guessed from text.
Only dates that parse become events; sentences and rows without one are counted
and reported, not placed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from kb.knowledge_base import KnowledgeBase
from kb.models import Passage

MONTHS = {
    "january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3, "april": 4, "apr": 4, "may": 5,
    "june": 6, "jun": 6, "july": 7, "jul": 7, "august": 8, "aug": 8, "september": 9, "sept": 9, "sep": 9,
    "october": 10, "oct": 10, "november": 11, "nov": 11, "december": 12, "dec": 12,
}
# A season or part of a year is placed at its first month, and keeps its own precision.
SEASONS = {"spring": 3, "summer": 6, "autumn": 9, "fall": 9, "winter": 12}
PARTS = {"early": 2, "beginning of": 1, "start of": 1, "mid": 6, "middle of": 6, "late": 10, "end of": 12}
DECADE_PARTS = {"": (0, 9), "early": (0, 3), "mid": (4, 6), "late": (7, 9)}
# A bare year right after one of these words names a law or guidance, not when something happened.
NOT_A_DATE_BEFORE = {"act", "acts", "regulations", "rules", "order", "together", "guidance", "measure", "bill", "no",
                     "para", "paragraph", "section", "page"}
METADATA_LABEL = re.compile(r"\b(?:year|published|date|publication)\s*:\s*$", re.I)
# Sections that recommend or define rather than narrate what happened.
NOT_NARRATIVE = {"recommendations", "glossary", "appendix"}
AGENCY_LABELS = ("AGENCY", "ROLE")

_MONTH = r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
_YEAR = r"(?:19|20)\d{2}(?!\d)"
_DAY = r"(?:[12]\d|3[01]|0?[1-9])(?:st|nd|rd|th)?"
_TO = r"\s*(?:-|–|—|to|and|until|till)\s*"
_PART = r"(?:early|mid|late|(?:the\s+)?(?:beginning|start|middle|end)\s+of)"
_SEASON = r"(?:spring|summer|autumn|fall|winter)"

# Most specific first: at one position the first pattern that matches wins, and longer matches win ties.
PATTERNS: list[tuple[str, re.Pattern]] = [
    (kind, re.compile(rf"(?<![\w/.]){pattern}(?![\w/])", re.I)) for kind, pattern in [
        ("day_range", rf"(?:between\s+|from\s+)?(?P<d1>{_DAY})(?:\s+(?:of\s+)?(?P<m1>{_MONTH})(?:,?\s+(?P<y1>{_YEAR}))?)?{_TO}(?P<d2>{_DAY})\s+(?:of\s+)?(?P<m2>{_MONTH}),?\s+(?P<y2>{_YEAR})"),
        ("month_range", rf"(?:between\s+|from\s+)?(?P<m1>{_MONTH})(?:,?\s+(?P<y1>{_YEAR}))?{_TO}(?P<m2>{_MONTH}),?\s+(?P<y2>{_YEAR})"),
        ("year_month_range", rf"(?:between\s+|from\s+)?(?P<y1>{_YEAR}){_TO}(?P<m2>{_MONTH}),?\s+(?P<y2>{_YEAR})"),
        ("season_range", rf"(?:between\s+|from\s+)?(?:the\s+)?(?P<s1>{_SEASON})(?:\s+(?:of\s+)?(?P<y1>{_YEAR}))?{_TO}(?:the\s+)?(?P<s2>{_SEASON})\s+(?:of\s+)?(?P<y2>{_YEAR})"),
        ("day", rf"(?P<d>{_DAY})\s+(?:of\s+)?(?P<m>{_MONTH}),?\s+(?P<y>{_YEAR})"),
        ("month_day", rf"(?P<m>{_MONTH})\s+(?P<d>{_DAY}),?\s+(?P<y>{_YEAR})"),
        ("numeric", r"(?P<d>[12]\d|3[01]|0?[1-9])[/.](?P<m>1[0-2]|0?[1-9])[/.](?P<y>(?:19|20)\d{2})(?!\d)"),
        ("month", rf"(?P<m>{_MONTH}),?\s+(?:of\s+)?(?P<y>{_YEAR})"),
        ("season", rf"(?:the\s+)?(?P<s>{_SEASON})\s+(?:of\s+)?(?P<y>{_YEAR})"),
        ("part", rf"(?P<p>{_PART})[\s-]+(?:in\s+)?(?P<y>{_YEAR})"),
        ("decade_range", rf"(?:between\s+|from\s+)?(?:the\s+)?(?P<y1>(?:19|20)\d0)s{_TO}(?:the\s+)?(?P<y2>(?:19|20)\d0)s"),
        ("decade", r"(?:(?P<p>early|mid|late)[\s-]+)?(?P<y>(?:19|20)\d0)s"),
        ("year_range", rf"(?:between\s+|from\s+)?(?P<y1>{_YEAR}){_TO}(?P<y2>{_YEAR}|\d{{2}}(?!\d))"),
        ("year", rf"(?P<y>{_YEAR})"),
    ]
]
MIN_YEAR, MAX_YEAR = 1900, 2100


@dataclass(frozen=True)
class EventDate:
    """A date or period as written, placed at a sortable (year, month); month 0 when only the year is known."""

    text: str
    year: int
    month: int = 0
    day: int = 0
    precision: str = "month"  # "day", "month", "season", "part of year", "year" or "decade"
    end_year: int | None = None  # the end of a period ("May–June 1987"), when it is one
    end_month: int = 0

    @property
    def key(self) -> tuple[int, int, int]:
        return (self.year, self.month, self.day)

    @property
    def sortable(self) -> str:
        """"2007-03", or "2007" when the month is unknown: sorts correctly as text too."""
        return f"{self.year:04d}-{self.month:02d}" if self.month else f"{self.year:04d}"

    def as_dict(self) -> dict:
        return {"text": self.text, "sortable": self.sortable, "year": self.year, "month": self.month or None,
                "day": self.day or None, "precision": self.precision, "end_year": self.end_year,
                "end_month": self.end_month or None}


def _month(text: str | None) -> int:
    return MONTHS.get((text or "").lower().rstrip("."), 0)


def _year(text: str | None, base: int | None = None) -> int | None:
    if not text:
        return None
    if len(text) == 2 and base is not None:  # "2011-14"
        year = base - base % 100 + int(text)
        return year if year > base else None
    year = int(text)
    return year if MIN_YEAR <= year <= MAX_YEAR else None


def _build(kind: str, m: re.Match, text: str) -> EventDate | None:
    g = m.groupdict()
    if any(g.get(name) == "may" for name in ("m", "m1", "m2")):
        return None  # "may" in lower case is the verb
    if kind in ("day", "month_day", "numeric"):
        year, day = _year(g["y"]), int(re.sub(r"\D", "", g["d"]))
        month = int(g["m"]) if kind == "numeric" else _month(g["m"])
        return EventDate(text, year, month, day, "day") if year and month else None
    if kind == "month":
        year = _year(g["y"])
        return EventDate(text, year, _month(g["m"]), 0, "month") if year else None
    if kind == "season":
        year = _year(g["y"])
        return EventDate(text, year, SEASONS[g["s"].lower()], 0, "season") if year else None
    if kind == "part":
        year = _year(g["y"])
        part = re.sub(r"^the\s+", "", " ".join(g["p"].lower().split()))
        return EventDate(text, year, PARTS[part], 0, "part of year") if year else None
    if kind == "decade":  # "the 1990s", "early 2000s": placed at the part of the decade meant
        decade = int(g["y"])
        first, last = DECADE_PARTS[(g["p"] or "").lower()]
        return EventDate(text, decade + first, 0, 0, "decade", decade + last, 0)
    if kind == "decade_range":
        start, end = int(g["y1"]), int(g["y2"])
        return EventDate(text, start, 0, 0, "decade", end + 9, 0) if start < end else None
    if kind == "year":
        year = _year(g["y"])
        return EventDate(text, year, 0, 0, "year") if year else None
    end_year = _year(g["y2"], _year(g.get("y1")) if kind == "year_range" else None)
    if end_year is None:
        return None
    start_year = _year(g.get("y1")) or end_year
    if kind == "year_range":
        return EventDate(text, start_year, 0, 0, "year", end_year, 0) if start_year < end_year else None
    if kind == "season_range":
        return EventDate(text, start_year, SEASONS[g["s1"].lower()], 0, "season", end_year, SEASONS[g["s2"].lower()])
    if kind == "year_month_range":
        return EventDate(text, start_year, 0, 0, "year", end_year, _month(g["m2"]))
    day = int(re.sub(r"\D", "", g["d1"])) if kind == "day_range" else 0
    start_month = _month(g["m1"]) or _month(g["m2"])  # "12 to 14 March 2007"
    return EventDate(text, start_year, start_month, day, "day" if day else "month", end_year, _month(g["m2"]))


def find_dates(text: str) -> list[EventDate]:
    """Every date or period in a text that can be placed, left to right, none overlapping."""
    candidates = []
    for priority, (kind, pattern) in enumerate(PATTERNS):
        for m in pattern.finditer(text):
            if kind == "year" and _names_a_law(text, m.start()):
                continue
            candidates.append((m.start(), -(m.end() - m.start()), priority, kind, m))
    found, taken_until = [], -1
    for start, _, _, kind, m in sorted(candidates, key=lambda c: c[:3]):
        if start < taken_until:
            continue
        date = _build(kind, m, " ".join(m.group(0).split()))
        if date is not None:
            found.append(date)
            taken_until = m.end()
    return found


def parse_date(text: str) -> EventDate | None:
    """The first date or period in `text`, or None when nothing in it can be placed in time."""
    found = find_dates(text)
    return found[0] if found else None


def _names_a_law(text: str, start: int) -> bool:
    """A bare year that names a law ("Children Act 1989") or labels metadata ("Year: 2009")."""
    before = text[max(0, start - 20):start]
    words = re.findall(r"[A-Za-z]+", before)
    return bool(words) and (words[-1].lower() in NOT_A_DATE_BEFORE or bool(METADATA_LABEL.search(before)))


@dataclass
class ChronologyEvent:
    date: EventDate
    source: str  # "table" (a chronology row) or "narrative" (a sentence)
    text: str  # the row's event cell, or the sentence
    agencies: tuple[str, ...]  # canonical AGENCY names in the row or sentence
    roles: tuple[str, ...]  # canonical ROLE names
    doc_id: str
    passage_id: str
    page: int
    agency_text: str | None = None  # the table's agency cell as written
    order: tuple[int, int] = (0, 0)  # (passage seq, character offset): reading order within the report

    def as_dict(self) -> dict:
        return {"date": self.date.as_dict(), "source": self.source, "text": self.text,
                "agencies": list(self.agencies), "roles": list(self.roles), "agency_text": self.agency_text,
                "doc_id": self.doc_id, "passage_id": self.passage_id, "page": self.page}


@dataclass
class AgencyContact:
    name: str
    label: str  # "AGENCY" or "ROLE"
    events: int
    first: EventDate
    last: EventDate

    def as_dict(self) -> dict:
        return {"name": self.name, "label": self.label, "events": self.events,
                "first": self.first.as_dict(), "last": self.last.as_dict()}


@dataclass
class Chronology:
    doc_id: str
    title: str | None
    case: str | None
    year_of_incident: int | None
    events: list[ChronologyEvent]
    contacts: list[AgencyContact]
    counts: dict = field(default_factory=dict)  # rows and sentences seen, and how many had no date

    @property
    def distinct_agencies(self) -> int:
        return sum(1 for c in self.contacts if c.label == "AGENCY")

    def as_dict(self) -> dict:
        return {"doc_id": self.doc_id, "title": self.title, "case": self.case,
                "year_of_incident": self.year_of_incident, "distinct_agencies": self.distinct_agencies,
                "distinct_roles": sum(1 for c in self.contacts if c.label == "ROLE"), "counts": self.counts,
                "events": [e.as_dict() for e in self.events], "contacts": [c.as_dict() for c in self.contacts]}


# --- extracting events from passages -----------------------------------------------------


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.split("|")]


def _columns(header: list[str]) -> tuple[int, int | None, int] | None:
    """(date, agency, event) column indexes of a chronology table's header row, if it is one."""
    lowered = [c.lower() for c in header]
    date = next((i for i, c in enumerate(lowered) if c.startswith(("date", "when", "period"))), None)
    if date is None:
        return None
    agency = next((i for i, c in enumerate(lowered) if i != date and any(
        w in c for w in ("agenc", "who", "organisation", "service", "professional"))), None)
    event = next((i for i, c in enumerate(lowered) if i not in (date, agency) and any(
        w in c for w in ("event", "what", "contact", "detail", "action", "summary", "description"))), None)
    if event is None:
        event = max(i for i in range(len(header)) if i not in (date, agency)) if len(header) > 1 else date
    return date, agency, event


def _lines(text: str) -> list[tuple[int, int, str]]:
    spans, offset = [], 0
    for line in text.splitlines(keepends=True):
        spans.append((offset, offset + len(line.rstrip("\r\n")), line.rstrip("\r\n")))
        offset += len(line)
    return spans


SENTENCE_END = re.compile(r"(?<=[.!?])[\"'”’)]?\s+(?=[\"'“‘(]?[A-Z0-9])|\n\s*\n")


def _sentences(text: str, start: int, end: int) -> list[tuple[int, int]]:
    spans, last = [], start
    for m in SENTENCE_END.finditer(text, start, end):
        spans.append((last, m.start()))
        last = m.end()
    spans.append((last, end))
    return [(a, b) for a, b in spans if text[a:b].strip()]


def _named(passage: Passage, start: int, end: int) -> tuple[tuple[str, ...], tuple[str, ...]]:
    agencies, roles = {}, {}
    for e in passage.entities:
        if e.label in AGENCY_LABELS and start <= e.start and e.end <= end:
            (agencies if e.label == "AGENCY" else roles).setdefault(e.canonical or e.text, None)
    return tuple(agencies), tuple(roles)


def events_of(passages: list[Passage]) -> tuple[list[ChronologyEvent], dict]:
    """Dated events from a document's passages (with their entities), ordered by date then reading order."""
    events: list[ChronologyEvent] = []
    counts = {"table_rows": 0, "table_rows_without_date": 0, "sentences_naming_an_agency": 0,
              "sentences_without_date": 0, "dated_sentences_without_agency": 0}
    for passage in passages:
        text = passage.text
        narrative: list[tuple[int, int]] = []  # stretches of the passage that are not table rows
        columns = None
        for start, end, line in _lines(text):
            if "|" not in line:
                columns = None
                narrative.append((start, end))
                continue
            cells = _cells(line)
            header = _columns(cells)
            if header is not None and parse_date(cells[header[0]]) is None:
                columns = header
                continue
            if columns is None:
                # A table without a header row counts as a chronology only inside a chronology section.
                if passage.section_kind != "chronology" or len(cells) < 2 or parse_date(cells[0]) is None:
                    continue
                columns = (0, 1 if len(cells) > 2 else None, len(cells) - 1)
            date_col, agency_col, event_col = columns
            if max(c for c in columns if c is not None) >= len(cells):
                continue
            counts["table_rows"] += 1
            date = parse_date(cells[date_col])
            if date is None:
                counts["table_rows_without_date"] += 1
                continue
            agencies, roles = _named(passage, start, end)
            events.append(ChronologyEvent(
                date, "table", cells[event_col], agencies, roles, passage.doc_id, passage.passage_id,
                passage.page_start, cells[agency_col] if agency_col is not None else None, (passage.seq, start),
            ))
        if passage.section_kind in NOT_NARRATIVE:
            continue
        for stretch_start, stretch_end in _merge(narrative):
            for start, end in _sentences(text, stretch_start, stretch_end):
                agencies, roles = _named(passage, start, end)
                sentence = " ".join(text[start:end].split())
                date = parse_date(sentence)
                if not (agencies or roles):
                    counts["dated_sentences_without_agency"] += date is not None
                    continue
                counts["sentences_naming_an_agency"] += 1
                if date is None:
                    counts["sentences_without_date"] += 1
                    continue
                events.append(ChronologyEvent(date, "narrative", sentence, agencies, roles, passage.doc_id,
                                              passage.passage_id, passage.page_start, None, (passage.seq, start)))
    events.sort(key=lambda e: (e.date.key, e.order))
    counts["events"] = len(events)
    return events, counts


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Join consecutive lines into stretches, so a sentence may run across a line break."""
    merged: list[list[int]] = []
    for start, end in spans:
        if merged and start - merged[-1][1] <= 1:
            merged[-1][1] = end
        else:
            merged.append([start, end])
    return [(a, b) for a, b in merged]


def contacts_of(events: list[ChronologyEvent]) -> list[AgencyContact]:
    """Each agency and role: how many events name it, and its first and last dated contact."""
    found: dict[tuple[str, str], AgencyContact] = {}
    for event in events:  # already in date order
        for label, names in (("AGENCY", event.agencies), ("ROLE", event.roles)):
            for name in names:
                contact = found.get((label, name))
                if contact is None:
                    found[(label, name)] = AgencyContact(name, label, 1, event.date, event.date)
                else:
                    contact.events += 1
                    contact.last = event.date
    return sorted(found.values(), key=lambda c: (c.label, -c.events, c.first.key, c.name))


def chronology(kb: KnowledgeBase, doc_id: str) -> Chronology:
    """A stored document's multi-agency chronology; KeyError when there is no such document."""
    document = kb.document(doc_id)
    if document is None:
        raise KeyError(doc_id)
    events, counts = events_of(kb.passages(doc_id))
    return Chronology(doc_id, document.meta.title, document.meta.case, document.meta.year_of_incident, events,
                      contacts_of(events), counts)


def agencies_before_incident(kb: KnowledgeBase, years_before: int = 1) -> dict:
    """Across the store: which agencies and roles appear in dated events from `years_before` years
    before the incident's year to the end of that year. Documents without a year of incident are skipped.

    The incident's month is not recorded, so its whole year is included.
    """
    per_agency: dict[tuple[str, str], dict] = {}
    considered, skipped, events_in_window = [], [], 0
    for document in sorted(kb.documents(), key=lambda d: d.doc_id):
        incident = document.meta.year_of_incident
        if incident is None:
            skipped.append(document.doc_id)
            continue
        considered.append(document.doc_id)
        events, _ = events_of(kb.passages(document.doc_id))
        for event in events:
            if not incident - years_before <= event.date.year <= incident:
                continue
            events_in_window += 1
            for label, names in (("AGENCY", event.agencies), ("ROLE", event.roles)):
                for name in names:
                    entry = per_agency.setdefault((label, name), {"name": name, "label": label, "documents": set(),
                                                                 "events": 0})
                    entry["documents"].add(document.doc_id)
                    entry["events"] += 1
    rows = sorted(per_agency.values(), key=lambda e: (-len(e["documents"]), -e["events"], e["label"], e["name"]))
    return {
        "window": f"events dated from {years_before} year(s) before the year of the incident to the end of that year",
        "years_before": years_before,
        "documents_considered": len(considered),
        "documents_skipped_without_incident_year": skipped,
        "events_in_window": events_in_window,
        "agencies": [{"name": e["name"], "label": e["label"], "documents": len(e["documents"]),
                      "events": e["events"]} for e in rows],
    }
