"""Search results with filters and facets, and "more like this"."""

from flask import Blueprint, render_template, request

from kb.nlp.sections import section_kinds
from webapp import params
from webapp.errors import not_found

bp = Blueprint("search", __name__)


def documents_of(kb, items) -> dict:
    """The documents of these hits or passages, by id: their citations need publisher and address."""
    return {doc_id: kb.document(doc_id) for doc_id in {item.doc_id for item in items}}


@bp.get("/search")
def results():
    kb = params.store()
    query, mode, filters, exact = params.query_text(), params.mode(), params.search_filters(), params.exact()
    page = params.integer("page", 1, low=1, high=params.MAX_PAGE)
    result = None
    if query:
        result = kb.search(query, k=params.PAGE_SIZE, mode=mode, filters=filters,
                           offset=(page - 1) * params.PAGE_SIZE, facets=True, exact=exact)
    return render_template(
        "search.html", query=query, mode=mode, filters=filters, result=result, page=page, exact=exact,
        page_size=params.PAGE_SIZE, taxonomy=kb.tagger.taxonomy, args=request.args,
        sections=sorted(section_kinds()), documents=documents_of(kb, result.hits) if result else {},
    )


@bp.get("/passages/<passage_id>/similar")
def similar(passage_id: str):
    kb = params.store()
    passage = kb.passage(passage_id)
    if passage is None:
        raise not_found("That passage")
    hits = kb.similar(passage_id, k=10)
    return render_template("similar.html", passage=passage, document=kb.document(passage.doc_id),
                           hits=hits, documents=documents_of(kb, hits), taxonomy=kb.tagger.taxonomy)
