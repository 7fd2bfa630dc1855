"""Compare cases side by side: their reports, the themes they share, the agencies named, and matching passages.

The point is "the same failures, years apart": a theme every chosen case shows,
with the strongest passage from each, so a reader sees the failure recur.
"""

from __future__ import annotations

from flask import Blueprint, render_template, request

from kb import KnowledgeBase
from webapp import params
from webapp.errors import not_found

bp = Blueprint("compare", __name__)
MIN_CASES, MAX_CASES = 2, 4
MATCHING_THEMES = 8  # the shared themes given passages side by side; the table lists them all


def _chosen() -> list[str]:
    """The cases asked for, once each, in the order given."""
    chosen: list[str] = []
    for value in request.args.getlist("case"):
        value = value.strip()
        if value and value not in chosen:
            chosen.append(value)
    return chosen


@bp.get("/compare")
def index():
    kb = params.store()
    known = kb.cases()
    chosen = _chosen()
    page = {"known": known, "chosen": chosen, "taxonomy": kb.tagger.taxonomy, "comparison": None, "error": None,
            "min_cases": MIN_CASES, "max_cases": MAX_CASES}
    if not chosen:
        return render_template("compare.html", **page)
    if not MIN_CASES <= len(chosen) <= MAX_CASES:
        page["error"] = (
            f"Choose between {MIN_CASES} and {MAX_CASES} different cases to compare; "
            f"you chose {len(chosen)}."
        )
        return render_template("compare.html", **page), 400
    for case in chosen:
        if case not in known:
            raise not_found(f"The case “{case[:100]}”")
    page["comparison"] = _comparison(kb, chosen)
    return render_template("compare.html", **page)


def _comparison(kb: KnowledgeBase, cases: list[str]) -> dict:
    profiles = []
    for case in cases:
        documents = kb.case_documents(case)
        years = sorted({d.meta.year_published for d in documents if d.meta.year_published})
        profiles.append({"case": case, "documents": documents, "years": years,
                         "themes": kb.case_themes(case), "agencies": kb.case_agencies(case)})
    shown = {t for p in profiles for t in p["themes"]}
    shared = {t for t in shown if all(t in p["themes"] for p in profiles)}
    # shared themes first, then the rest; the most evidenced first within each
    themes = sorted(shown, key=lambda t: (t not in shared, -sum(p["themes"].get(t, 0) for p in profiles), t))
    agencies_everywhere = set.intersection(*(set(p["agencies"]) for p in profiles))
    documents = {d.doc_id: d for p in profiles for d in p["documents"]}
    matching = []
    for theme_id in [t for t in themes if t in shared][:MATCHING_THEMES]:
        row = []
        for p in profiles:
            found = kb.case_theme_evidence(theme_id, p["case"], limit=1)
            row.append((p["case"], found[0] if found else None))
        matching.append((theme_id, row))
    return {
        "profiles": profiles, "themes": themes, "shared": shared, "agencies_everywhere": agencies_everywhere,
        "matching": matching, "documents": documents,
        "earliest": min(((p["years"][0], p["case"]) for p in profiles if p["years"]), default=None),
        "latest": max(((p["years"][-1], p["case"]) for p in profiles if p["years"]), default=None),
    }
