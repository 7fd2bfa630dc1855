"""Themes: the list with counts, and one theme's definition, spread and strongest evidence."""

from flask import Blueprint, render_template

from webapp import params
from webapp.errors import not_found

bp = Blueprint("themes", __name__)


@bp.get("/themes")
def index():
    kb = params.store()
    return render_template("themes.html", taxonomy=kb.tagger.taxonomy, counts=kb.theme_counts(),
                           documents=kb.stats()["documents"])


@bp.get("/themes/<theme_id>")
def show(theme_id: str):
    kb = params.store()
    theme = kb.tagger.taxonomy.get(theme_id)
    if theme is None:
        raise not_found("That theme")
    evidence = kb.theme_evidence(theme_id, per_document=2, limit=12)
    documents = {p.doc_id: kb.document(p.doc_id) for p in evidence}
    return render_template("theme.html", theme=theme, counts=kb.theme_counts().get(theme_id, {}),
                           evidence=evidence, documents=documents, total=kb.stats()["documents"],
                           taxonomy=kb.tagger.taxonomy)
