"""The links to PDF files on an HTML page, with the words that describe each one."""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import PurePosixPath
from urllib.parse import unquote, urljoin, urlsplit

# A link is taken for a PDF when its address ends in .pdf, when the page says so
# ("Download the report (PDF, 2.1 MB)", type="application/pdf"), or when it goes to a
# download script (/downloads/file/279/...), which councils' sites use without naming
# the file. The bytes decide in the end: a link that is no PDF fails as "not a PDF".
SAYS_PDF = re.compile(r"\bpdf\b", re.I)
DOWNLOAD_PATH = re.compile(r"/downloads?/", re.I)
SPACE = re.compile(r"\s+")


@dataclass
class Link:
    url: str
    text: str  # the link's own words, with its title attribute
    filename: str  # the last part of its path, unquoted


def file_name(url: str) -> str:
    return unquote(PurePosixPath(urlsplit(url).path).name)


def pdf_links(html: str, base_url: str) -> list[Link]:
    """Every link on the page that leads to a PDF, once per address, in page order."""
    parser = _Anchors(base_url)
    parser.feed(html)
    parser.close()
    found: dict[str, Link] = {}
    for url, text, says_pdf in parser.anchors:
        if urlsplit(url).scheme not in ("http", "https"):
            continue
        if not (file_name(url).lower().endswith(".pdf") or says_pdf or SAYS_PDF.search(text)
                or DOWNLOAD_PATH.search(urlsplit(url).path)):
            continue
        if url in found:
            # A thumbnail and a title often link to the same file: keep the words of both.
            if text and text not in found[url].text:
                found[url].text = f"{found[url].text} {text}".strip()
        else:
            found[url] = Link(url, text, file_name(url))
    return list(found.values())


class _Anchors(HTMLParser):
    """Collect (absolute address, words, declared PDF) for each <a href>, honouring <base href>."""

    def __init__(self, base_url: str):
        super().__init__(convert_charrefs=True)
        self.base = base_url
        self.anchors: list[tuple[str, str, bool]] = []
        self._open: tuple[str, list[str], bool] | None = None

    def handle_starttag(self, tag, attrs):
        attrs = {k: v or "" for k, v in attrs}
        if tag == "base" and attrs.get("href"):
            self.base = urljoin(self.base, attrs["href"].strip())
        elif tag == "a" and attrs.get("href"):
            self._close()
            url = urljoin(self.base, attrs["href"].strip()).split("#")[0]
            words = [attrs.get("title", ""), attrs.get("aria-label", "")]
            self._open = (url, words, "pdf" in attrs.get("type", "").lower())
        elif tag == "img" and self._open and attrs.get("alt"):
            self._open[1].append(attrs["alt"])

    def handle_data(self, data):
        if self._open:
            self._open[1].append(data)

    def handle_endtag(self, tag):
        if tag == "a":
            self._close()

    def close(self):
        super().close()
        self._close()

    def _close(self):
        if self._open:
            url, words, says_pdf = self._open
            self.anchors.append((url, SPACE.sub(" ", " ".join(words)).strip(), says_pdf))
            self._open = None
