"""Download the catalogue's report PDFs into a folder, resumably, with a manifest saying where each came from.

Each row is resolved by kb.sources.resolve (its link, its landing page, the
Internet Archive); this module keeps the folder: one `<id>.pdf` per row, written
whole or not at all, a `<id>.pdf.part` kept only to resume a transfer cut short,
and manifest.json recording each file's row, route, addresses, size and hash.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlsplit

from kb.hashing import file_sha256
from kb.sources.report_catalogue import MANIFEST_NAME, CatalogueEntry, ReportCatalogue
from kb.sources.resolve import Attempt, Resolved, Resolver, Unresolved, addresses
from kb.sources.web import Downloaded, FetchError, Limits, Web

GOVUK_API = "https://www.gov.uk/api/content"
WAYBACK = "https://web.archive.org"


@dataclass
class FetchResult:
    id: str
    url: str | None  # the row's address that was tried first
    status: str  # "fetched" | "unchanged" | "skipped" | "failed"
    reason: str | None = None
    detail: str | None = None
    size: int = 0
    resumed: bool = False
    resolved: Resolved | None = None
    attempts: list[Attempt] = field(default_factory=list)


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
            "files": [
                {"id": r.id, "size": r.size, **{k: v for k, v in asdict(r.resolved).items() if v not in (None, False)},
                 **({"failed_first": [asdict(a) for a in r.attempts]} if r.attempts else {})}
                for r in self.of("fetched")
            ],
            "skipped": [{"id": r.id, "reason": r.reason} for r in self.of("skipped")],
            "failed": [
                {"id": r.id, "url": r.url, "reason": r.reason, "detail": r.detail,
                 "attempts": [asdict(a) for a in r.attempts]}
                for r in self.of("failed")
            ],
            "dest": str(self.dest),
        }


@dataclass(frozen=True)
class Sources:
    """Where the routes look: the GOV.UK Content API and the Internet Archive (settings, so tests can point them)."""

    govuk_api: str = GOVUK_API
    wayback: str = WAYBACK


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
    sources: Sources = Sources(), max_bytes: int = Limits.max_bytes,
) -> FetchReport:
    """Get each row's PDF into dest as <id>.pdf; a failed row is reported and never stops the others."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    manifest = _load_manifest(dest)
    web = Web(Limits(timeout=timeout, max_bytes=max_bytes))
    report = FetchReport(dest)
    for entry in entries:
        result = fetch_entry(entry, dest, manifest, web, sources)
        report.results.append(result)
        if on_progress:
            on_progress(result)
    return report


def fetch_entry(entry: CatalogueEntry, dest: Path, manifest: dict, web: Web, sources: Sources) -> FetchResult:
    """Fetch one row's file unless it is on disk as the manifest recorded it; record it in the manifest."""
    url, landing = addresses(entry)
    first = url or landing
    skip = _why_skip(url, landing)
    if skip:
        return FetchResult(entry.id, first, "skipped", skip)
    name = f"{entry.id}.pdf"
    target = dest / name
    if _unchanged(target, manifest["files"].get(name), url, landing):
        return FetchResult(entry.id, first, "unchanged", size=target.stat().st_size)
    part = _PartFile(dest, name, manifest, web)
    resolver = Resolver(web, part.download, sources.govuk_api, sources.wayback)
    try:
        resolved, attempts = resolver.resolve(entry)
    except Unresolved as exc:
        first_failure = exc.attempts[0]
        detail = "; ".join(f"{a.route} <{a.url}>: {a.reason}" + (f" ({a.detail})" if a.detail else "")
                           for a in exc.attempts)
        return FetchResult(entry.id, first, "failed", first_failure.reason, detail, attempts=exc.attempts)
    sha, size = file_sha256(part.path), part.path.stat().st_size
    os.replace(part.path, target)
    manifest["partial"].pop(part.path.name, None)
    manifest["files"][name] = {
        "id": entry.id,
        **{k: v for k, v in asdict(resolved).items() if v is not None and k != "resumed"},
        "sha256": sha, "size": size,
        "fetched_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    _save_manifest(dest, manifest)  # after each file, so an interrupted run keeps what it got
    return FetchResult(entry.id, first, "fetched", size=size, resumed=resolved.resumed, resolved=resolved,
                       attempts=attempts)


class _PartFile:
    """The row's <id>.pdf.part, remembering which address it holds the start of.

    A part is resumed only from the address it came from: the routes may try
    several, and splicing the end of one file onto the start of another would
    make a file that is neither.
    """

    def __init__(self, dest: Path, name: str, manifest: dict, web: Web):
        self.path = dest / f"{name}.part"
        self.dest, self.manifest, self.web = dest, manifest, web

    def download(self, url: str) -> Downloaded:
        holds = self.manifest["partial"].get(self.path.name)
        if holds not in (None, url):
            self.path.unlink(missing_ok=True)
        # A part named nowhere (left by an older scrkb) is resumed as before: the server's
        # Range answer and the PDF check on the whole file catch a mismatch.
        try:
            return self.web.download_pdf(url, self.path)
        except FetchError:
            kept = url if self.path.exists() else None
            if self.manifest["partial"].get(self.path.name) != kept:
                self.manifest["partial"].pop(self.path.name, None)
                if kept:
                    self.manifest["partial"][self.path.name] = kept
                _save_manifest(self.dest, self.manifest)
            raise


def _why_skip(url: str | None, landing: str | None) -> str | None:
    given = [u for u in (url, landing) if u]
    if not given:
        return "no URL"
    if not any(urlsplit(u).scheme in ("http", "https") for u in given):
        # urllib would also read file:// and ftp:// URLs; a catalogue row must not reach local files.
        return "not an http(s) link"
    return None


def _unchanged(target: Path, listed: dict | None, url: str | None, landing: str | None) -> bool:
    if not listed or not target.is_file():
        return False
    came_from = {listed.get("asked_url"), listed.get("landing_url"), listed.get("url")} - {None}
    if not came_from & ({url, landing} - {None}):
        return False  # the row now names other addresses
    # Size first: it is free, and hashing a large report is not.
    return target.stat().st_size == listed.get("size") and file_sha256(target) == listed.get("sha256")




def _load_manifest(dest: Path) -> dict:
    try:
        data = json.loads((dest / MANIFEST_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        data = {}
    data = data if isinstance(data, dict) else {}
    for key in ("files", "partial"):
        if not isinstance(data.get(key), dict):
            data[key] = {}
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
