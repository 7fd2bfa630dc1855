"""Jinja filters: highlights built from escaped pieces, citations, theme labels."""

from __future__ import annotations

from pathlib import PurePath
from urllib.parse import urlencode

from flask import Flask
from markupsafe import Markup, escape

from kb.models import Hit
from kb.research import citations


def highlight(text: str, spans: list, best: tuple[int, int] | None = None) -> Markup:
    """Mark query terms (<mark>) and the best sentence (<strong class=best>) in escaped text."""
    cuts = {0, len(text)}
    for start, end in spans or []:
        cuts.update((start, end))
    if best:
        cuts.update(best)
    points = sorted(c for c in cuts if 0 <= c <= len(text))
    pieces = []
    for start, end in zip(points, points[1:]):
        piece = escape(text[start:end])
        if any(s <= start and end <= e for s, e in spans or []):
            piece = Markup("<mark>") + piece + Markup("</mark>")
        if best and best[0] <= start and end <= best[1]:
            piece = Markup('<strong class="best">') + piece + Markup("</strong>")
        pieces.append(piece)
    return Markup("").join(pieces)


def paragraphs(text: str) -> Markup:
    """Escaped text with its paragraph breaks kept."""
    return Markup("").join(Markup("<p>") + escape(p) + Markup("</p>") for p in text.split("\n\n") if p.strip())


def pages(start: int, end: int) -> str:
    return f"p. {start}" if start == end else f"pp. {start}–{end}"


def args_with(args: dict, **changes) -> str:
    """The current query string with some arguments replaced (for paging links)."""
    merged = {k: v for k, v in args.items() if k not in changes}
    merged.update({k: [str(v)] for k, v in changes.items()})
    return urlencode([(k, v) for k, values in merged.items() for v in values])


def cite(item, document) -> citations.Citation:
    """The ready citation of a passage or a search hit, from its document."""
    if isinstance(item, Hit):
        return citations.cite(document, item.passage_id, item.page, item.page_end, item.section, item.text)
    if isinstance(item, dict):  # a row of a research table
        return citations.cite(document, item["passage_id"], item["page_start"], item["page_end"],
                              item.get("section"), item.get("text") or "")
    return citations.cite_passage(document, item)


def file_name(path: str) -> str:
    """A stored file's name without the server's folders: pages never show where files live."""
    return PurePath(path).name


def register(app: Flask) -> None:
    app.add_template_filter(cite)
    app.add_template_filter(file_name)
    app.add_template_global(args_with)
    app.add_template_filter(highlight)
    app.add_template_filter(paragraphs)
    app.add_template_filter(pages)
