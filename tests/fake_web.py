"""Local stand-ins for the web `scrkb fetch` reads, each a real HTTP server on 127.0.0.1.

`Site` serves pages and files by path (with Range, redirects, a server that never
answers, one that stops halfway); `ContentApi` serves GOV.UK content items in the
documented shape (docs.publishing.service.gov.uk/content-schemas/publication.html);
`Archive` answers the Wayback CDX API (url, output=json, fl, filter, collapse,
limit as its README documents them) and replays captures at /web/<ts>id_/<url>.
"""

from __future__ import annotations

import hashlib
import json
import re
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass
class Reply:
    status: int = 200
    type: str = "text/html; charset=utf-8"
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)


class Server:
    """An HTTP server answering each GET with `self.answer(handler)`; keeps (path, Range) of every request."""

    def __init__(self):
        self.requests: list[tuple[str, str | None]] = []
        self.release = threading.Event()  # a handler that never answers waits on this until the server stops
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def answer(self, handler) -> Reply | None:
        raise NotImplementedError

    def paths(self) -> list[str]:
        return [path for path, _ in self.requests]

    def close(self) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


def _handler(server: Server):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            server.requests.append((self.path, self.headers.get("Range")))
            reply = server.answer(self)
            if reply is not None:
                send(self, reply)

        def log_message(self, *args):
            pass

    return Handler


def send(handler, reply: Reply) -> None:
    try:
        handler.send_response(reply.status)
        handler.send_header("Content-Type", reply.type)
        handler.send_header("Content-Length", str(len(reply.body)))
        for name, value in reply.headers:
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(reply.body)
    except OSError:
        pass  # the client gave up, as a client with a timeout should


def ranged_reply(handler, body: bytes) -> Reply:
    asked = handler.headers.get("Range")
    if not asked:
        return Reply(200, "application/pdf", body, [("Accept-Ranges", "bytes")])
    start = int(asked.removeprefix("bytes=").split("-")[0])
    if start >= len(body):
        return Reply(416, "text/plain", b"", [("Content-Range", f"bytes */{len(body)}")])
    return Reply(206, "application/pdf", body[start:], [("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")])


class Site(Server):
    """Paths mapped to replies, or to callables that answer themselves (given the handler)."""

    def __init__(self):
        self.routes: dict[str, Reply | Callable] = {}
        super().__init__()

    def answer(self, handler):
        route = self.routes.get(handler.path)
        if route is None:
            return Reply(404, "text/plain", b"not found")
        return route(handler) if callable(route) else route

    def pdf(self, path: str, body: bytes, kind: str = "application/pdf") -> str:
        self.routes[path] = Reply(200, kind, body)
        return self.base + path

    def page(self, path: str, html: str) -> str:
        self.routes[path] = Reply(200, "text/html; charset=utf-8", html.encode())
        return self.base + path

    def redirect(self, path: str, to: str) -> str:
        self.routes[path] = Reply(302, "text/plain", b"", [("Location", to)])
        return self.base + path

    def gone(self, path: str, status: int = 410) -> str:
        self.routes[path] = Reply(status, "text/plain", b"gone")
        return self.base + path

    def ranged(self, path: str, body: bytes) -> str:
        """A file served whole, or from the byte a Range header asks for."""
        self.routes[path] = lambda handler: ranged_reply(handler, body)
        return self.base + path

    def flaky(self, path: str, body: bytes) -> str:
        """The first answer stops halfway through; later ones honour Range."""
        def answer(handler):
            if sum(p == path for p in self.paths()) > 1:
                return ranged_reply(handler, body)
            handler.send_response(200)
            handler.send_header("Content-Type", "application/pdf")
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            handler.wfile.write(body[: len(body) // 2])
            return None
        self.routes[path] = answer
        return self.base + path

    def silent(self, path: str) -> str:
        """Accepts the request and never answers, until the server stops: only a client's timeout ends it."""
        def answer(handler):
            self.release.wait()
            return None
        self.routes[path] = answer
        return self.base + path


class ContentApi(Server):
    """GOV.UK's Content API: GET <base>/api/content/<path> answers the content item stored for <path>."""

    def __init__(self):
        self.items: dict[str, dict] = {}
        super().__init__()

    @property
    def api(self) -> str:
        return self.base + "/api/content"

    def answer(self, handler):
        path = urlsplit(handler.path).path.removeprefix("/api/content")
        item = self.items.get(path)
        if item is None:
            return Reply(404, "application/json", b'{"error": {"code": 404, "message": "Could not find content item"}}')
        if item.get("_gone"):
            return Reply(410, "application/json", b'{"error": {"code": 410}}')
        return Reply(200, "application/json; charset=utf-8", json.dumps(item).encode())


def publication(path: str, title: str, attachments: list[dict], documents: list[str] | None = None) -> dict:
    """A content item of schema `publication`, with the fields the frontend schema documents."""
    return {
        "base_path": path, "content_id": "5f5e1bb5-7631-11e4-a3cb-005056011aef", "document_type": "independent_report",
        "schema_name": "publication", "locale": "en", "title": title, "description": f"About {title}.",
        "first_published_at": "2022-05-26T09:30:00.000+01:00", "publishing_app": "whitehall",
        "details": {
            "body": "<div class=\"govspeak\"><p>The Panel's review.</p></div>",
            "documents": documents or [],
            "featured_attachments": [a["id"] for a in attachments],
            "attachments": attachments,
            "political": False,
            "change_history": [{"public_timestamp": "2022-05-26T09:30:00.000+01:00", "note": "First published."}],
        },
        "links": {},
    }


def file_attachment(ident: str, title: str, url: str, filename: str, content_type: str = "application/pdf") -> dict:
    return {
        "attachment_type": "file", "id": ident, "title": title, "url": url, "filename": filename,
        "content_type": content_type, "file_size": 1024, "number_of_pages": 1, "accessible": False,
        "command_paper_number": "", "hoc_paper_number": "", "isbn": "", "unique_reference": "",
        "unnumbered_command_paper": False, "unnumbered_hoc_paper": False,
        "alternative_format_contact_email": "alternative.formats@example.gov.uk",
    }


def attachment_section(ident: str, title: str, href: str) -> str:
    """A rendered attachment block, as `details.documents` holds them (thumbnail link, then title link)."""
    return (
        f'<section class="attachment embedded" id="attachment_{ident}">\n'
        f'  <div class="attachment-thumb"><a aria-hidden="true" class="thumbnail" href="{href}">'
        f'<img alt="" src="{href}.png" /></a></div>\n'
        f'  <div class="attachment-details"><h2 class="title"><a href="{href}">{title}</a></h2>\n'
        f'    <p class="metadata"><span class="type"><abbr title="Portable Document Format">PDF</abbr></span>, '
        f'<span class="file-size">178KB</span></p></div>\n</section>'
    )


@dataclass
class Capture:
    original: str
    timestamp: str
    mimetype: str
    body: bytes
    status: str = "200"


class Archive(Server):
    """The Wayback Machine: the CDX API at /cdx/search/cdx and replays at /web/<timestamp>id_/<original>."""

    FIELDS = ["urlkey", "timestamp", "original", "mimetype", "statuscode", "digest", "length"]

    def __init__(self):
        self.captures: list[Capture] = []
        super().__init__()

    def capture(self, original: str, timestamp: str, body: bytes, mimetype: str = "application/pdf", status: str = "200"):
        self.captures.append(Capture(original, timestamp, mimetype, body, status))

    def cdx_queries(self) -> list[dict[str, list[str]]]:
        return [parse_qs(urlsplit(p).query) for p in self.paths() if p.startswith("/cdx/search/cdx?")]

    def answer(self, handler):
        parts = urlsplit(handler.path)
        if parts.path == "/cdx/search/cdx":
            return self._cdx(parse_qs(parts.query))
        found = re.fullmatch(r"/web/(\d{14})id_/(.+)", handler.path)
        if found:
            for c in self.captures:
                if c.timestamp == found.group(1) and c.original == found.group(2):
                    return Reply(200, c.mimetype, c.body)
        return Reply(404, "text/html", b"<html>Wayback Machine has not archived that URL.</html>")

    def _cdx(self, query: dict[str, list[str]]) -> Reply:
        url = query["url"][0]
        rows = [self._row(c) for c in sorted(self.captures, key=lambda c: c.timestamp) if c.original == url]
        for rule in query.get("filter", []):
            negate, rule = rule.startswith("!"), rule.lstrip("!")
            name, pattern = rule.split(":", 1)
            rows = [r for r in rows if bool(re.fullmatch(pattern, r[self.FIELDS.index(name)])) != negate]
        for name in query.get("collapse", []):
            at = self.FIELDS.index(name)
            rows = [r for i, r in enumerate(rows) if i == 0 or rows[i - 1][at] != r[at]]
        limit = int(query.get("limit", ["0"])[0])
        rows = rows[limit:] if limit < 0 else rows[:limit] if limit else rows
        chosen = query.get("fl", [",".join(self.FIELDS)])[0].split(",")
        table = [[r[self.FIELDS.index(name)] for name in chosen] for r in rows]
        if query.get("output") != ["json"]:
            return Reply(200, "text/plain", "".join(" ".join(r) + "\n" for r in table).encode())
        return Reply(200, "application/json", json.dumps([chosen, *table] if table else []).encode())

    @staticmethod
    def _row(c: Capture) -> list[str]:
        digest = hashlib.sha1(c.body).hexdigest().upper()[:32]
        return ["urlkey", c.timestamp, c.original, c.mimetype, c.status, digest, str(len(c.body))]


def refusing_address() -> tuple[str, socket.socket]:
    """An address on 127.0.0.1 that refuses connections: a port held bound but never listening."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    return f"http://127.0.0.1:{sock.getsockname()[1]}", sock
