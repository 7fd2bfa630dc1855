"""Turn request arguments into kb's typed values; anything else is a 400, never passed through."""

from __future__ import annotations

from flask import current_app, request

from kb import KnowledgeBase
from kb.search.filters import SearchFilters
from kb.search.searcher import MODES
from webapp.errors import AppError

MAX_QUERY_CHARS = 500
PAGE_SIZE = 10
MAX_PAGE = 50
MAX_FILTER_VALUES, MAX_FILTER_CHARS = 50, 300  # far past any real choice; stops a query string of thousands
LIST_FILTERS = {  # query-string name -> SearchFilters field
    "theme": "themes", "case": "cases", "type": "review_types", "nation": "nations",
    "area": "areas", "agency": "agencies", "section": "sections",
}


def store() -> KnowledgeBase:
    return current_app.extensions["scrkb"]


def query_text() -> str:
    text = request.args.get("q", "").strip()
    if len(text) > MAX_QUERY_CHARS:
        raise AppError(400, f"Searches are limited to {MAX_QUERY_CHARS} characters.")
    return text


def mode() -> str:
    value = request.args.get("mode", "hybrid")
    if value not in MODES:
        raise AppError(400, f"Search mode must be one of {', '.join(MODES)}.")
    return value


def exact() -> bool:
    """Whether to search the words exactly as typed, with no spelling correction."""
    return request.args.get("exact", "").strip().lower() in ("1", "true", "yes", "on")


def integer(name: str, default: int | None = None, low: int = 0, high: int = 10_000) -> int | None:
    raw = request.args.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise AppError(400, f"'{name}' must be a whole number.") from None
    if not low <= value <= high:
        raise AppError(400, f"'{name}' must be between {low} and {high}.")
    return value


def search_filters() -> SearchFilters:
    values = {field: tuple(v for v in request.args.getlist(name) if v.strip()) for name, field in LIST_FILTERS.items()}
    for name, field in LIST_FILTERS.items():
        if len(values[field]) > MAX_FILTER_VALUES or any(len(v) > MAX_FILTER_CHARS for v in values[field]):
            raise AppError(400, f"At most {MAX_FILTER_VALUES} '{name}' filters of {MAX_FILTER_CHARS} characters each.")
    return SearchFilters(year_from=integer("year_from", low=1900, high=2100),
                         year_to=integer("year_to", low=1900, high=2100), **values)
