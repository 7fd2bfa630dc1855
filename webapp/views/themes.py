"""Themes: the list with counts and accuracy, and one theme's definition, spread, accuracy and strongest evidence."""

from flask import Blueprint, render_template, request

from kb.themes.quality import estimate
from webapp import access, params
from webapp.errors import not_found

bp = Blueprint("themes", __name__)


@bp.get("/themes")
def index():
    kb = params.store()
    counts, quality = kb.theme_counts(), kb.theme_quality
    estimates = {t.id: estimate(quality.of(t.id), counts.get(t.id, {}).get("shows", 0),
                                counts.get(t.id, {}).get("reviewed", 0)) for t in kb.tagger.taxonomy.themes}
    return render_template("themes.html", taxonomy=kb.tagger.taxonomy, counts=counts, quality=quality,
                           estimates=estimates, documents=kb.stats()["documents"],
                           other_model_tags=kb.tags_from_other_models())


@bp.get("/themes/<theme_id>")
def show(theme_id: str):
    kb = params.store()
    theme = kb.tagger.taxonomy.get(theme_id)
    if theme is None:
        raise not_found("That theme")
    evidence = kb.theme_evidence(theme_id, per_document=2, limit=12)
    documents = {p.doc_id: kb.document(p.doc_id) for p in evidence}
    counts = kb.theme_counts().get(theme_id, {})
    quality = kb.theme_quality.of(theme_id)
    reviews = kb.reviews.of_passages(p.passage_id for p in evidence) if access.can("review") else {}
    return render_template("theme.html", theme=theme, counts=counts, evidence=evidence, documents=documents,
                           total=kb.stats()["documents"], taxonomy=kb.tagger.taxonomy, quality=quality,
                           quality_record=kb.theme_quality, other_model_tags=kb.tags_from_other_models(),
                           estimate=estimate(quality, counts.get("shows", 0), counts.get("reviewed", 0)),
                           reviews=reviews, here=request.full_path.rstrip("?"))
