"""A GOV.UK publication's files, read through the GOV.UK Content API rather than its HTML.

`<api>/<path of the page>` answers the page's content item as JSON (the
"publication" schema of docs.publishing.service.gov.uk/content-schemas): its
`details.attachments` are objects (`url`, `title`, `filename`, `content_type`,
`attachment_type`: "file", "html" or "external"), and `details.documents` are the
rendered attachment blocks, HTML snippets whose links carry the titles. Older
items have only one of the two, so both are read and merged by address.
"""

from __future__ import annotations

import json
from urllib.parse import urljoin, urlsplit

from kb.sources.choose import Candidate
from kb.sources.links import file_name, pdf_links

HOSTS = {"www.gov.uk", "gov.uk"}
PDF_TYPES = {"application/pdf", "application/x-pdf"}


def is_govuk(url: str) -> bool:
    return (urlsplit(url).hostname or "").lower() in HOSTS


def api_url(api_base: str, page_url: str) -> str:
    """The Content API address of a GOV.UK page: the page's path under the API's base."""
    return api_base.rstrip("/") + (urlsplit(page_url).path or "/")


def parse_item(body: bytes) -> dict:
    """The content item, or ValueError naming what is wrong with the answer."""
    item = json.loads(body.decode("utf-8"))
    if not isinstance(item, dict) or not isinstance(item.get("details", {}), dict):
        raise ValueError("not a content item (no details object)")
    return item


def attachments(item: dict, page_url: str) -> tuple[list[Candidate], list[str]]:
    """The item's PDF attachments, and the titles of those that are not PDFs (HTML publications...)."""
    details = item.get("details") or {}
    found: dict[str, Candidate] = {}
    others: list[str] = []
    for attachment in details.get("attachments") or []:
        if not isinstance(attachment, dict) or not isinstance(attachment.get("url"), str):
            continue
        url = urljoin(page_url, attachment["url"])
        title = str(attachment.get("title") or "")
        name = str(attachment.get("filename") or file_name(url))
        is_pdf = attachment.get("content_type") in PDF_TYPES or name.lower().endswith(".pdf")
        if attachment.get("attachment_type", "file") != "file" or not is_pdf:
            others.append(title or url)
            continue
        found.setdefault(url, Candidate(url, title, name))
    for snippet in details.get("documents") or []:
        if not isinstance(snippet, str):
            continue
        for link in pdf_links(snippet, page_url):
            if link.url in found:
                found[link.url].title = found[link.url].title or link.text
            else:
                found[link.url] = Candidate(link.url, link.text, link.filename)
    return list(found.values()), others
