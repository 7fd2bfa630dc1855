"""Find a catalogue row's report: its own link, its landing page, or the Internet Archive.

In order: (1) the row's `url`, if it answers with a PDF; (2) a GOV.UK landing page
through the Content API, or (3) any other landing page through its links to PDFs,
choosing the report among them (kb.sources.choose); (4) for every address found
dead on the way (gone, unknown, refusing connections, or serving a page instead of
a file), the newest PDF the Internet Archive captured there, or for a dead landing
page the newest archived copy that still links the report. Every attempt that
failed is kept, so a row that fails says what was tried and why each try failed.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from kb.sources.choose import Candidate, choose
from kb.sources.govuk import api_url, attachments, is_govuk, parse_item
from kb.sources.links import pdf_links
from kb.sources.report_catalogue import CatalogueEntry
from kb.sources.wayback import (
    HTML_TYPES,
    PDF_TYPES,
    Capture,
    cdx_url,
    describe_types,
    parse_captures,
    replay_url,
    replayed_at,
)
from kb.sources.web import Downloaded, FetchError, Web

# A `url` cell holding a page about the report rather than the file: read as its landing page.
LANDING_PAGE = re.compile(r"^/government/(?:publications|news|consultations)/|\.html?$", re.I)
PDF_CAPTURES_TRIED = 3  # a capture can be damaged; more than a few bad ones means the archive has no good copy
PAGE_CAPTURES_TRIED = 5  # a parked domain's newest captures are the parking page: go back a little


@dataclass
class Attempt:
    route: str
    url: str
    reason: str
    detail: str = ""


@dataclass
class Resolved:
    """How a row's file was got: the fields of its manifest record (and of kb.models.Provenance)."""

    route: str
    asked_url: str
    fetched_url: str
    landing_url: str | None = None
    title: str | None = None
    captured_at: str | None = None
    chosen_because: str | None = None
    resumed: bool = False


class Unresolved(Exception):
    """Every route failed; `attempts` says how, first to last."""

    def __init__(self, attempts: list[Attempt]):
        super().__init__("; ".join(f"{a.route} <{a.url}>: {a.reason}" for a in attempts))
        self.attempts = attempts


@dataclass
class _Wanted:
    url: str
    landing_url: str | None = None
    title: str | None = None
    chosen_because: str | None = None


@dataclass
class Resolver:
    """The routes, with what they need: a client, a way to download into the row's part file, the API bases."""

    web: Web
    download: Callable[[str], Downloaded]
    govuk_api: str
    wayback: str

    def resolve(self, entry: CatalogueEntry) -> tuple[Resolved, list[Attempt]]:
        """The row's file, and the attempts that failed before it; Unresolved if every one failed."""
        row = _Row(self, entry)
        return row.run(), row.attempts


@dataclass
class _Row:
    resolver: Resolver
    entry: CatalogueEntry
    attempts: list[Attempt] = field(default_factory=list)
    dead_files: list[_Wanted] = field(default_factory=list)
    dead_pages: list[str] = field(default_factory=list)

    def run(self) -> Resolved:
        url, landing = addresses(self.entry)
        got = self._file(_Wanted(url), "direct") if url else None
        if not got and landing:
            got = self._landing(landing)
        for wanted in list(self.dead_files):
            got = got or self._archived_file(wanted)
        for page in list(self.dead_pages):
            got = got or self._archived_page(page)
        if not got:
            raise Unresolved(self.attempts)
        return got

    def _failed(self, route: str, url: str, exc: FetchError) -> None:
        self.attempts.append(Attempt(route, url, exc.reason, exc.detail))

    def _file(self, wanted: _Wanted, route: str) -> Resolved | None:
        try:
            done = self.resolver.download(wanted.url)
        except FetchError as exc:
            self._failed(route, wanted.url, exc)
            if exc.dead:
                self.dead_files.append(wanted)
            return None
        return Resolved(route, wanted.url, done.url, wanted.landing_url, wanted.title,
                        chosen_because=wanted.chosen_because, resumed=done.resumed)

    def _landing(self, page: str) -> Resolved | None:
        route = "govuk" if is_govuk(page) else "landing"
        try:
            candidates, note = self._govuk_files(page) if route == "govuk" else (self._linked_files(page), "")
        except FetchError as exc:
            self._failed(route, page, exc)
            if exc.dead:
                self.dead_pages.append(page)
            return None
        choice = choose(candidates, self.entry, lone_plain_ok=route == "govuk")
        if choice.candidate is None:
            self.attempts.append(Attempt(route, page, "no matching file", choice.because + note))
            if route == "landing":
                self.dead_pages.append(page)  # a parked or rebuilt site: an older copy may still link the report
            return None
        found = choice.candidate
        return self._file(_Wanted(found.url, page, found.title or found.filename, choice.because), route)

    def _govuk_files(self, page: str) -> tuple[list[Candidate], str]:
        address = api_url(self.resolver.govuk_api, page)
        answer = self.resolver.web.page(address)
        try:
            item = parse_item(answer.body)
        except ValueError as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
            raise FetchError("not a content item", f"{address}: {exc}") from None
        candidates, others = attachments(item, page)
        return candidates, (f"; attachments that are not PDFs: {', '.join(others)}" if others else "")

    def _linked_files(self, page: str, base: str | None = None, address: str | None = None) -> list[Candidate]:
        answer = self.resolver.web.page(address or page)
        if answer.content_type not in HTML_TYPES:
            raise FetchError("not a web page", f"{address or page} answered {answer.content_type}; "
                             "a file's own address belongs in the url column", dead=answer.content_type not in PDF_TYPES)
        html = answer.body.decode(answer.charset if _known_codec(answer.charset) else "utf-8", errors="replace")
        return [Candidate(link.url, link.text, link.filename) for link in pdf_links(html, base or answer.url)]

    def _captures(self, url: str) -> list[Capture] | None:
        try:
            return parse_captures(self.resolver.web.page(cdx_url(self.resolver.wayback, url)).body)
        except FetchError as exc:
            self.attempts.append(Attempt("archive", url, f"Internet Archive: {exc.reason}", exc.detail))
        except ValueError as exc:
            self.attempts.append(Attempt("archive", url, "Internet Archive: unreadable answer", str(exc)))
        return None

    def _archived_file(self, wanted: _Wanted) -> Resolved | None:
        captures = self._captures(wanted.url)
        if captures is None:
            return None
        pdfs = [c for c in captures if c.mimetype in PDF_TYPES]
        if not pdfs:
            self.attempts.append(_none_archived(wanted.url, captures, "a PDF", "no PDF in the archive"))
        for tried, capture in enumerate(pdfs[:PDF_CAPTURES_TRIED]):
            try:
                done = self.resolver.download(replay_url(self.resolver.wayback, capture))
            except FetchError as exc:
                self._failed("archive", replay_url(self.resolver.wayback, capture), exc)
                continue
            because = (f"the newest of the {len(pdfs)} captures of {wanted.url} archived as a PDF"
                       if len(pdfs) > 1 else f"the only capture of {wanted.url} archived as a PDF")
            if tried:
                because += f" whose bytes are one ({tried} newer were not)"
            return Resolved(
                "archive", wanted.url, done.url, wanted.landing_url, wanted.title, replayed_at(done.url, capture),
                "; ".join(filter(None, [wanted.chosen_because, because])), done.resumed,
            )
        return None

    def _archived_page(self, page: str) -> Resolved | None:
        captures = self._captures(page)
        if captures is None:
            return None
        pages = [c for c in captures if c.mimetype in HTML_TYPES]
        if not pages:
            self.attempts.append(_none_archived(page, captures, "a web page", "no page in the archive"))
        for capture in pages[:PAGE_CAPTURES_TRIED]:
            address = replay_url(self.resolver.wayback, capture)
            try:
                # The archive serves the page as captured, so its links resolve against the original address.
                candidates = self._linked_files(page, base=capture.original, address=address)
            except FetchError as exc:
                self._failed("archive", address, exc)
                continue
            choice = choose(candidates, self.entry)
            if choice.candidate is None:
                self.attempts.append(Attempt("archive", address, "no matching file", choice.because))
                continue
            found, day = choice.candidate, capture.captured_at[:10]
            wanted = _Wanted(found.url, page, found.title or found.filename,
                             f"{choice.because}, on the Internet Archive's copy of {day} of {page}")
            return self._file(wanted, "landing") or (
                self._archived_file(wanted) if wanted in self.dead_files else None
            )
        return None


def addresses(entry: CatalogueEntry) -> tuple[str | None, str | None]:
    """The row's file address and landing page; a page in the url column is read as the landing page."""
    url, landing = entry.url, entry.landing_url
    if url and not landing and LANDING_PAGE.search(urlsplit(url).path):
        return None, url
    return url, landing


def _none_archived(url: str, captures: list[Capture], kind: str, reason: str) -> Attempt:
    if not captures:
        return Attempt("archive", url, "not archived", f"the Internet Archive holds no capture of {url}")
    return Attempt("archive", url, reason, f"{len(captures)} captures of {url}, none {kind} ({describe_types(captures)})")


def _known_codec(name: str) -> bool:
    try:
        codecs.lookup(name)
    except LookupError:
        return False
    return True
