"""The Internet Archive's captures of an address: its CDX API lists them, its replay serves them.

`<wayback>/cdx/search/cdx?url=U&output=json&fl=...&filter=statuscode:200` answers a
JSON array whose first row names the fields; the newest captures come last. A
capture's original bytes are at `<wayback>/web/<timestamp>id_/<original>` (the
`id_` flag asks for the file as captured, without the archive's rewriting).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

FIELDS = ("timestamp", "original", "mimetype", "statuscode", "digest")
NEWEST = 50  # captures listed per address: the newest, which is where a live copy was last seen
PDF_TYPES = {"application/pdf", "application/x-pdf"}
HTML_TYPES = {"text/html", "application/xhtml+xml"}
REPLAY = re.compile(r"/web/(\d{14})id_/")


@dataclass
class Capture:
    timestamp: str  # yyyyMMddhhmmss, UTC
    original: str
    mimetype: str

    @property
    def captured_at(self) -> str:
        t = self.timestamp
        return f"{t[0:4]}-{t[4:6]}-{t[6:8]}T{t[8:10]}:{t[10:12]}:{t[12:14]}Z"


def cdx_url(wayback: str, url: str) -> str:
    """The CDX query for the newest successful captures of exactly this address."""
    query = urlencode({
        "url": url, "output": "json", "fl": ",".join(FIELDS), "filter": "statuscode:200",
        "collapse": "digest", "limit": -NEWEST,
    })
    return f"{wayback.rstrip('/')}/cdx/search/cdx?{query}"


def replay_url(wayback: str, capture: Capture) -> str:
    return f"{wayback.rstrip('/')}/web/{capture.timestamp}id_/{capture.original}"


def replayed_at(url: str, capture: Capture) -> str:
    """When the copy served from url was captured: the archive may redirect to a neighbouring capture."""
    found = REPLAY.search(urlsplit(url).path)
    return Capture(found.group(1), capture.original, capture.mimetype).captured_at if found else capture.captured_at


def parse_captures(body: bytes) -> list[Capture]:
    """The captures in a CDX JSON answer, newest first; ValueError if it is not one."""
    text = body.decode("utf-8").strip()
    rows = json.loads(text) if text else []  # the CDX server answers nothing at all when nothing matches
    if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
        raise ValueError("not a CDX answer (a JSON array of rows)")
    if not rows:
        return []
    header, captures = rows[0], []
    if not {"timestamp", "original", "mimetype"} <= set(header):
        raise ValueError(f"the CDX answer names fields {header}")
    at = {name: header.index(name) for name in ("timestamp", "original", "mimetype")}
    for row in rows[1:]:
        if len(row) != len(header):
            continue  # the blank row and resume key the server adds when asked to
        timestamp = str(row[at["timestamp"]])
        if re.fullmatch(r"\d{14}", timestamp):
            captures.append(Capture(timestamp, str(row[at["original"]]), str(row[at["mimetype"]]).lower()))
    return sorted(captures, key=lambda c: c.timestamp, reverse=True)


def describe_types(captures: list[Capture]) -> str:
    kinds = sorted({c.mimetype for c in captures})
    return ", ".join(kinds[:4]) + (" ..." if len(kinds) > 4 else "")
