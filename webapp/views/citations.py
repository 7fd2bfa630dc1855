"""Citations to download for reference managers: chosen passages, or every passage a search found."""

from flask import Blueprint, Response, request

from kb.research import citations
from webapp import params
from webapp.errors import AppError

bp = Blueprint("citations", __name__)
MAX_PASSAGES = 200  # chosen by hand, far fewer; stops a query string of thousands
WHOLE_SEARCH = 200  # a search ranks about this many passages at most (kb.search.searcher.CANDIDATES per ranking)


def _format() -> str:
    fmt = request.args.get("format", "").strip()
    if fmt not in citations.FORMATS:
        raise AppError(400, f"Choose a citation format: {', '.join(citations.FORMATS)}.")
    return fmt


def _download(found: list[citations.Citation], fmt: str, stem: str) -> Response:
    return Response(citations.render(found, fmt), content_type=citations.FORMATS[fmt][1],
                    headers={"Content-Disposition": f'attachment; filename="{citations.filename(fmt, stem)}"'})


@bp.get("/citations")
def selected():
    fmt = _format()
    ids = [pid.strip() for pid in request.args.getlist("passage") if pid.strip()]
    if not ids:
        raise AppError(400, "Select at least one passage to cite: tick “Select” under the passages you want.")
    if len(ids) > MAX_PASSAGES or any(len(pid) > 100 for pid in ids):
        raise AppError(400, f"At most {MAX_PASSAGES} passages can be cited at once.")
    try:
        found = citations.for_passages(params.store(), ids)
    except citations.CitationError as exc:
        raise AppError(404, str(exc)) from None
    return _download(found, fmt, "scrkb-citations")


@bp.get("/search/citations")
def whole_search():
    fmt = _format()
    query = params.query_text()
    if not query:
        raise AppError(400, "Search first: 'q' names the search whose passages to cite.")
    kb = params.store()
    result = kb.search(query, k=WHOLE_SEARCH, mode=params.mode(), filters=params.search_filters(),
                       exact=params.exact())
    return _download(list(citations.for_hits(kb, result.hits).values()), fmt, "scrkb-search-citations")
