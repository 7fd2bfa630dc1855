"""Download the catalogue's public report PDFs into a folder, resumably, with a manifest naming each file's row.

Only the standard library speaks HTTP here, so fetching adds no dependency; and
only the URLs in the catalogue are requested (redirects aside).
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import re
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from urllib.error import HTTPError, URLError
from urllib.parse import urlsplit
from urllib.request import Request, urlopen

from kb import __version__
from kb.pdf import looks_like_pdf
from kb.sources.report_catalogue import MANIFEST_NAME, CatalogueEntry, ReportCatalogue

USER_AGENT = f"scrkb/{__version__}"
PDF_TYPES = {"application/pdf", "application/x-pdf"}
# Pages that describe a report and link to it, rather than the report itself. Scripts
# (.aspx, .php) often serve the file itself, so those are asked for their Content-Type.
LANDING_PAGE = re.compile(r"^/government/(?:publications|news|consultations)/|\.html?$", re.I)
CONTENT_RANGE = re.compile(r"bytes (\d+)-\d+/(\d+|\*)")
CHUNK = 1 << 16


@dataclass
class FetchResult:
    id: str
    url: str | None
    status: str  # "fetched" | "unchanged" | "skipped" | "failed"
    reason: str | None = None
    detail: str | None = None
    size: int = 0
    resumed: bool = False


@dataclass
class FetchReport:
    dest: Path
    results: list[FetchResult] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(r.status == status for r in self.results)

    def of(self, status: str) -> list[FetchResult]:
        return [r for r in self.results if r.status == status]

    def as_json(self) -> dict:
        return {
            "fetched": self.count("fetched"),
            "unchanged": self.count("unchanged"),
            "skipped": [{"id": r.id, "reason": r.reason} for r in self.of("skipped")],
            "failed": [
                {"id": r.id, "url": r.url, "reason": r.reason, "detail": r.detail} for r in self.of("failed")
            ],
            "dest": str(self.dest),
        }


class NotAPdfLink(Exception):
    """The server says the URL is not a PDF (its Content-Type)."""


class Incomplete(Exception):
    """The connection closed before the whole file arrived."""


def select_entries(catalogue: ReportCatalogue, only: Iterable[str] = ()) -> list[CatalogueEntry]:
    """Pick the rows to fetch, in catalogue order; raise KeyError naming ids the catalogue lacks."""
    wanted = {i.strip() for item in only for i in item.split(",") if i.strip()}
    unknown = sorted(wanted - catalogue.entries.keys())
    if unknown:
        raise KeyError(", ".join(unknown))
    return [e for e in catalogue.entries.values() if not wanted or e.id in wanted]


def fetch_catalogue(
    entries: Iterable[CatalogueEntry], dest: Path, timeout: float = 60,
    on_progress: Callable[[FetchResult], None] | None = None,
) -> FetchReport:
    """Download each row's PDF into dest as <id>.pdf; a failed row is reported and never stops the others."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    manifest = _load_manifest(dest)
    report = FetchReport(dest)
    for entry in entries:
        result = fetch_entry(entry, dest, manifest, timeout)
        if result.status == "fetched":
            _save_manifest(dest, manifest)  # after each file, so an interrupted run keeps what it got
        report.results.append(result)
        if on_progress:
            on_progress(result)
    return report


def fetch_entry(entry: CatalogueEntry, dest: Path, manifest: dict, timeout: float) -> FetchResult:
    """Fetch one row's file unless it is on disk as the manifest recorded it; record it in manifest."""
    url = entry.url
    skip = _why_skip(url)
    if skip:
        return FetchResult(entry.id, url, "skipped", skip)
    name = f"{entry.id}.pdf"
    target, part = dest / name, dest / f"{name}.part"
    if _unchanged(target, manifest["files"].get(name), url):
        return FetchResult(entry.id, url, "unchanged", size=target.stat().st_size)
    says_pdf = urlsplit(url).path.lower().endswith(".pdf")
    try:
        resumed = _download(url, part, timeout, check_type=not says_pdf)
    except NotAPdfLink as exc:
        return FetchResult(entry.id, url, "skipped", "not a PDF link", str(exc))
    except HTTPError as exc:
        exc.close()
        return FetchResult(entry.id, url, "failed", f"HTTP {exc.code}", exc.reason)
    except (OSError, http.client.HTTPException, Incomplete) as exc:
        reason, detail = _describe_error(exc)
        return FetchResult(entry.id, url, "failed", reason, detail)
    if not looks_like_pdf(part):
        part.unlink()  # an error page or a login form: nothing worth resuming
        return FetchResult(entry.id, url, "failed", "not a PDF", "no %PDF- header in the first 1024 bytes")
    sha, size = _sha256(part), part.stat().st_size
    os.replace(part, target)
    manifest["files"][name] = {
        "id": entry.id, "url": url, "sha256": sha, "size": size,
        "fetched_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    return FetchResult(entry.id, url, "fetched", size=size, resumed=resumed)


def _why_skip(url: str | None) -> str | None:
    if not url:
        return "no URL"
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        # urllib would also read file:// and ftp:// URLs; a catalogue row must not reach local files.
        return "not an http(s) link"
    if LANDING_PAGE.search(parts.path):
        return "not a PDF link"
    return None


def _unchanged(target: Path, listed: dict | None, url: str) -> bool:
    if not listed or listed.get("url") != url or not target.is_file():
        return False
    # Size first: it is free, and hashing a large report is not.
    return target.stat().st_size == listed.get("size") and _sha256(target) == listed.get("sha256")


def _download(url: str, part: Path, timeout: float, check_type: bool) -> bool:
    """Stream url into part, resuming from part's length when the server honours Range; True if resumed."""
    offset = part.stat().st_size if part.exists() else 0
    headers = {"User-Agent": USER_AGENT}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    try:
        response = urlopen(Request(url, headers=headers), timeout=timeout)
    except HTTPError as exc:
        if exc.code != 416 or not offset:
            raise
        # The part is longer than the file now is: it is stale, so start again.
        exc.close()
        part.unlink()
        return _download(url, part, timeout, check_type)
    with response:
        if check_type and response.headers.get_content_type() not in PDF_TYPES:
            raise NotAPdfLink(f"Content-Type {response.headers.get_content_type()}")
        resumed = response.status == 206
        start, total = _range_of(response) if resumed else (0, None)
        if resumed and start != offset:
            if not offset:
                raise http.client.HTTPException("a partial answer to a request for the whole file")
            part.unlink()  # a range we did not ask for: do not splice it onto ours
            return _download(url, part, timeout, check_type)
        length = response.headers.get("Content-Length")
        expected = total if total is not None else (int(length) + start if length and length.isdigit() else None)
        with open(part, "ab" if resumed else "wb") as fh:
            while chunk := response.read(CHUNK):
                fh.write(chunk)
            got = fh.tell()
    if expected is not None and got != expected:
        # The part stays, so the next run resumes from here.
        raise Incomplete(f"got {got} of {expected} bytes")
    return resumed


def _range_of(response) -> tuple[int, int | None]:
    found = CONTENT_RANGE.match(response.headers.get("Content-Range", ""))
    if not found:
        return -1, None
    return int(found.group(1)), int(found.group(2)) if found.group(2).isdigit() else None


def _describe_error(exc: Exception) -> tuple[str, str]:
    if isinstance(exc, Incomplete):
        return "incomplete", str(exc)
    # urllib wraps failures to connect in URLError but lets a read that times out through bare.
    cause = exc.reason if isinstance(exc, URLError) else exc
    if isinstance(cause, TimeoutError):
        return "timeout", str(cause) or "no answer in time"
    if isinstance(exc, (URLError, http.client.HTTPException, ConnectionError)):
        return "connection error", str(cause)
    return "I/O error", str(exc)


def _sha256(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def _load_manifest(dest: Path) -> dict:
    try:
        data = json.loads((dest / MANIFEST_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        data = {}
    if not isinstance(data, dict) or not isinstance(data.get("files"), dict):
        data = {**(data if isinstance(data, dict) else {}), "files": {}}
    return data


def _save_manifest(dest: Path, manifest: dict) -> None:
    """Write the manifest whole or not at all: a reader never sees half of it."""
    fd, tmp = tempfile.mkstemp(dir=dest, prefix=".manifest-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(manifest, fh, indent=2, ensure_ascii=False)
            fh.write("\n")
        os.replace(tmp, dest / MANIFEST_NAME)
    except BaseException:
        os.unlink(tmp)
        raise
