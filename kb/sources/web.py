"""HTTP for `scrkb fetch`: bounded pages, and PDFs streamed into a resumable part file.

Only the standard library speaks HTTP here, so fetching adds no dependency. Every
failure becomes a FetchError with a short reason, and says whether the address is
dead (gone, unknown, refusing connections, or serving a page instead of a file):
only a dead address is worth looking up in the Internet Archive.
"""

from __future__ import annotations

import http.client
import socket
from dataclasses import dataclass
from pathlib import Path
from urllib.error import HTTPError, URLError
from urllib.parse import urlsplit
from urllib.request import HTTPRedirectHandler, OpenerDirector, Request, build_opener

from kb import __version__
from kb.pdf import looks_like_pdf

USER_AGENT = f"scrkb/{__version__}"
PDF_MAGIC = b"%PDF-"
MAGIC_WINDOW = 1024  # the header may follow a little junk, as kb.pdf allows
CHUNK = 1 << 16
MAX_REDIRECTS = 10
PAGE_LIMIT = 8 << 20  # a landing page, an API answer or a capture list; reports are far larger
GONE = {404, 410}


class FetchError(Exception):
    """A request that gave no usable answer: a short reason, a detail, and whether the address is dead."""

    def __init__(self, reason: str, detail: str = "", dead: bool = False, status: int | None = None):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason, self.detail, self.dead, self.status = reason, detail, dead, status


@dataclass(frozen=True)
class Limits:
    timeout: float = 60.0  # seconds for the connection and for each read, so a silent server cannot hang a run
    max_bytes: int = 512 << 20
    max_redirects: int = MAX_REDIRECTS


@dataclass
class Answer:
    url: str  # after redirects
    body: bytes
    content_type: str
    charset: str


@dataclass
class Downloaded:
    url: str  # after redirects
    resumed: bool


class _Redirects(HTTPRedirectHandler):
    """Follow at most `limit` redirects, to http(s) only, and name a loop as a loop."""

    def __init__(self, limit: int):
        super().__init__()
        self.limit = limit
        self.max_redirections = limit + 1  # urllib's own count stays a backstop behind ours

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        chain = getattr(req, "scrkb_chain", [req.full_url])
        problem = None
        if urlsplit(newurl).scheme not in ("http", "https"):
            # urllib would follow a redirect to ftp://; a catalogue row must reach web pages only.
            problem = FetchError("redirect refused", f"{chain[-1]} redirects to {newurl}")
        elif newurl in chain:
            problem = FetchError("redirect loop", " -> ".join([*chain[chain.index(newurl):], newurl]))
        elif len(chain) > self.limit:
            problem = FetchError("too many redirects", f"more than {self.limit}, from {chain[0]}")
        if problem:
            fp.close()
            raise problem
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if new is not None:
            new.scrkb_chain = [*chain, newurl]
        return new


class Web:
    """One client for a fetch run: its limits, and an opener that applies them."""

    def __init__(self, limits: Limits = Limits()):
        self.limits = limits
        self.opener: OpenerDirector = build_opener(_Redirects(limits.max_redirects))

    def open(self, url: str, headers: dict[str, str] | None = None):
        """The response to a GET of url (the caller closes it); FetchError when there is none."""
        if urlsplit(url).scheme not in ("http", "https"):
            # urllib would also read file:// and ftp:// URLs.
            raise FetchError("not an http(s) link", url)
        request = Request(url, headers={"User-Agent": USER_AGENT, **(headers or {})})
        try:
            return self.opener.open(request, timeout=self.limits.timeout)
        except HTTPError as exc:
            exc.close()
            # urllib's own guards, behind ours: a loop, and a redirect to a scheme it will not follow.
            if 300 <= exc.code < 400 and "infinite loop" in str(exc.reason):
                raise FetchError("too many redirects", f"from {url}", status=exc.code) from None
            if 300 <= exc.code < 400 and "not allowed" in str(exc.reason):
                raise FetchError("redirect refused", str(exc.reason), status=exc.code) from None
            where = f" at {exc.filename}" if exc.filename != url else ""  # after a redirect
            raise FetchError(f"HTTP {exc.code}", f"{exc.reason}{where}", dead=exc.code in GONE, status=exc.code) from None
        except (OSError, http.client.HTTPException) as exc:
            raise describe(exc) from None

    def page(self, url: str, limit: int = PAGE_LIMIT) -> Answer:
        """A whole small answer (HTML or JSON), refused past `limit` bytes."""
        with self.open(url) as response:
            try:
                body = response.read(limit + 1)
            except (OSError, http.client.HTTPException) as exc:
                raise describe(exc) from None
            if len(body) > limit:
                raise FetchError("too large", f"{url} is over {limit >> 20} MB, too large for a page")
            return Answer(response.url, body, response.headers.get_content_type(),
                          response.headers.get_content_charset() or "utf-8")

    def download_pdf(self, url: str, part: Path) -> Downloaded:
        """Stream url into part, resuming from part's length when the server honours Range.

        The first bytes must be a PDF's, whatever the Content-Type says; anything
        else is dropped at once. A transfer cut short keeps its part to resume.
        """
        offset = part.stat().st_size if part.exists() else 0
        try:
            response = self.open(url, {"Range": f"bytes={offset}-"} if offset else None)
        except FetchError as exc:
            if exc.status != 416 or not offset:
                raise
            part.unlink()  # the part is longer than the file now is: it is stale, so start again
            return self.download_pdf(url, part)
        with response:
            resumed = response.status == 206
            if resumed and _range_start(response) != offset:
                part.unlink(missing_ok=True)  # a range we did not ask for: do not splice it onto ours
                if not offset:
                    raise FetchError("connection error", f"a partial answer to a request for the whole of {url}")
                return self.download_pdf(url, part)
            length = response.headers.get("Content-Length")
            expected = (offset if resumed else 0) + int(length) if length and length.isdigit() else None
            if expected is not None and expected > self.limits.max_bytes:
                part.unlink(missing_ok=True)
                raise FetchError("too large", f"{expected} bytes, over the limit of {self.limits.max_bytes} (SCRKB_MAX_FILE_MB)")
            got = self._stream(response, part, resumed, url)
        if expected is not None and got != expected:
            raise FetchError("incomplete", f"got {got} of {expected} bytes")  # the part stays, to resume
        if resumed and not looks_like_pdf(part):
            part.unlink()
            raise FetchError("not a PDF", f"{url} resumed into a file with no %PDF- header", dead=True)
        return Downloaded(response.url, resumed)

    def _stream(self, response, part: Path, resumed: bool, url: str) -> int:
        head = b"" if resumed else None
        with open(part, "ab" if resumed else "wb") as fh:
            try:
                while chunk := response.read(CHUNK):
                    if head is None:
                        head = chunk
                        while len(head) < MAGIC_WINDOW and (more := response.read(MAGIC_WINDOW - len(head))):
                            head += more
                        if PDF_MAGIC not in head[:MAGIC_WINDOW]:
                            fh.close()
                            part.unlink()  # an error page, a login form, a parked domain: nothing to resume
                            raise FetchError("not a PDF", f"{url} sent {response.headers.get_content_type()} "
                                             "with no %PDF- header", dead=True)
                        chunk = head
                    fh.write(chunk)
                    if fh.tell() > self.limits.max_bytes:
                        fh.close()
                        part.unlink()
                        raise FetchError("too large", f"over the limit of {self.limits.max_bytes} bytes (SCRKB_MAX_FILE_MB)")
            except (OSError, http.client.HTTPException) as exc:
                error = describe(exc)
                if fh.tell() == 0:  # nothing worth resuming
                    fh.close()
                    part.unlink(missing_ok=True)
                    raise error from None
                raise FetchError(error.reason, f"{error.detail}; {fh.tell()} bytes kept to resume") from None
            return fh.tell()


def describe(exc: BaseException) -> FetchError:
    """Name what went wrong with a connection, and whether it means the address is dead."""
    cause = exc.reason if isinstance(exc, URLError) and isinstance(exc.reason, BaseException) else exc
    if isinstance(cause, (TimeoutError, socket.timeout)):
        return FetchError("timeout", str(cause) or "no answer in time")
    if isinstance(cause, socket.gaierror):
        return FetchError("DNS failure", str(cause), dead=True)
    if isinstance(cause, ConnectionRefusedError):
        return FetchError("connection refused", str(cause), dead=True)
    if isinstance(exc, (URLError, http.client.HTTPException, ConnectionError)):
        return FetchError("connection error", str(cause))
    return FetchError("I/O error", str(exc))


def _range_start(response) -> int:
    found = (response.headers.get("Content-Range") or "").removeprefix("bytes ").split("-")[0]
    return int(found) if found.isdigit() else -1
