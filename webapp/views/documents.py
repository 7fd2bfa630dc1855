"""Documents: the list, one document's page, and the page viewer with the cited passage outlined."""

from itertools import groupby

from flask import Blueprint, Response, render_template, request

from kb.pdf import PdfError
from webapp import access, params
from webapp.errors import AppError, not_found

bp = Blueprint("documents", __name__)


def _document(doc_id: str):
    document = params.store().document(doc_id)
    if document is None:
        raise not_found("That document")
    return document


@bp.get("/documents")
def index():
    return render_template("documents.html", documents=params.store().documents())


@bp.get("/documents/<doc_id>")
def show(doc_id: str):
    kb = params.store()
    document = _document(doc_id)
    passages = kb.passages(doc_id)
    sections = [(name, list(items)) for name, items in groupby(passages, key=lambda p: p.section or "Front matter")]
    reviews = kb.reviews.of_passages(p.passage_id for p in passages) if access.can("review") else {}
    return render_template(
        "document.html", document=document, sections=sections, themes=kb.document_themes(doc_id),
        agencies=kb.document_agencies(doc_id), taxonomy=kb.tagger.taxonomy, reviews=reviews,
        here=request.full_path.rstrip("?"),
    )


@bp.get("/documents/<doc_id>/pages/<int:number>")
def page(doc_id: str, number: int):
    kb = params.store()
    document = _document(doc_id)
    if not 1 <= number <= document.page_count:
        raise not_found(f"Page {number}")
    passage_id = request.args.get("passage", "")
    passage = kb.passage(passage_id) if passage_id else None
    if passage_id and (passage is None or passage.doc_id != doc_id):
        raise not_found("That passage")
    boxes = []
    if passage and passage.page_start <= number <= passage.page_end:
        try:
            boxes = kb.passage_outline(passage, number)
        except (FileNotFoundError, PdfError):
            boxes = []
    return render_template("page.html", document=document, number=number, passage=passage, boxes=boxes)


@bp.get("/documents/<doc_id>/pages/<int:number>.png")
def page_image(doc_id: str, number: int):
    document = _document(doc_id)
    if not 1 <= number <= document.page_count:
        raise not_found(f"Page {number}")
    kb = params.store()
    passage_id = request.args.get("passage", "")
    passage = kb.passage(passage_id) if passage_id else None
    try:
        png = kb.page_png(doc_id, number, passage if passage and passage.doc_id == doc_id else None)
    except (FileNotFoundError, PdfError) as exc:
        raise AppError(410, f"The original file is not available: {exc}") from None
    return Response(png, mimetype="image/png", headers={"Cache-Control": "private, max-age=3600"})
