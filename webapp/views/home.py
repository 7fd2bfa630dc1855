"""The home page: a search box and what the store holds."""

from flask import Blueprint, render_template

from webapp.params import store

bp = Blueprint("home", __name__)


@bp.get("/")
def index():
    kb = store()
    counts = kb.theme_counts()
    top = sorted(counts.items(), key=lambda kv: -kv[1]["documents"])[:8]
    documents = kb.documents()
    years = sorted({d.meta.year_published for d in documents if d.meta.year_published})
    return render_template(
        "home.html", stats=kb.stats(), documents=documents[:8], years=years,
        top_themes=top, taxonomy=kb.tagger.taxonomy,
    )
