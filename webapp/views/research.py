"""The research dashboard: case x theme heatmap, prevalence bars, trend lines, and the evidence behind a count.

Charts are drawn on the server as plain HTML and inline SVG (no script library, no
style attributes: the CSP forbids them), and every chart has its numbers in a table
and a CSV download from the API's exports.
"""

from __future__ import annotations

from flask import Blueprint, render_template, request, url_for

from kb.research import analytics
from kb.research import chronology as chronologies
from webapp import access, params
from webapp.api import also_theme, choice, counting_rules, known_theme, rules_args

bp = Blueprint("research", __name__, url_prefix="/research")
TREND_LINES = 5  # themes drawn by default: the most prevalent
MEASURES = {"n_ab": "passages or reports showing both", "jaccard": "Jaccard", "lift": "lift"}
TOP_PAIRS = 12  # pairs listed under the co-occurrence matrix
MIN_PAIR_COUNT = 2  # a pair seen once has a lift that means little
PALETTE = [("#1d70b8", ""), ("#d4351c", "6 3"), ("#00703c", "2 3"), ("#4c2c92", "8 3 2 3"), ("#f47738", "1 2"),
           ("#0b0c0c", "10 4")]
HEAT_LEVELS = 5
# Year labels on the trend chart's axis stay this far apart (viewBox units): four digits at
# font size 12 take about 30, and the chart shrinks to about half on a phone.
MIN_LABEL_GAP = 44


def heat(value: int, top: int) -> int:
    """A shade 0-5 for a heatmap cell: 0 only for zero, so any evidence at all is visible."""
    if not value or not top:
        return 0
    return max(1, round(HEAT_LEVELS * value / top))


def line_chart(periods: list[int], series: list[dict], width: int = 640, height: int = 260) -> dict:
    """Coordinates for a line chart of shares (0-1) by period, for the template to draw as SVG."""
    left, right, top, bottom = 48, 16, 12, 36
    plot_w, plot_h = width - left - right, height - top - bottom
    span = max(periods[-1] - periods[0], 1) if periods else 1
    highest = max((v for s in series for v in s["values"] if v is not None), default=0)
    # The axis ends at the first of these above the data, so small shares are not drawn flat.
    ceiling = next(c for c in (0.05, 0.1, 0.2, 0.25, 0.5, 0.75, 1.0) if highest <= c)

    def x(period: int) -> float:
        return round(left + plot_w * ((period - periods[0]) / span if len(periods) > 1 else 0.5), 1)

    def y(share: float) -> float:
        return round(top + plot_h * (1 - share / ceiling), 1)

    lines = []
    for n, s in enumerate(series):
        colour, dash = PALETTE[n % len(PALETTE)]
        points = [(x(p), y(v), p, v) for p, v in zip(periods, s["values"]) if v is not None]
        lines.append({**s, "colour": colour, "dash": dash, "points": points,
                      "path": " ".join(f"{px},{py}" for px, py, _, _ in points)})
    return {
        "width": width, "height": height, "left": left, "right": width - right, "top": top,
        "bottom": height - bottom, "lines": lines,
        "y_ticks": [(y(ceiling * f), f"{ceiling * f * 100:.4g}%") for f in (0, 0.25, 0.5, 0.75, 1)],
        "x_ticks": [x(p) for p in periods],  # a mark for every period, a label only where it has room
        "x_labels": [(x(p), p) for p in _spaced(periods, x)],
    }


def _spaced(periods: list[int], x) -> list[int]:
    """The periods to label on the axis: the first, the last, and between them none closer than a label's room."""
    labelled: list[int] = []
    for p in periods:
        if not labelled or x(p) - x(labelled[-1]) >= MIN_LABEL_GAP:
            labelled.append(p)
    if periods and labelled[-1] != periods[-1]:
        if x(periods[-1]) - x(labelled[-1]) < MIN_LABEL_GAP and len(labelled) > 1:
            labelled.pop()
        labelled.append(periods[-1])
    return labelled


@bp.get("/")
def dashboard():
    kb = params.store()
    rules = counting_rules()
    basis = choice("basis", list(analytics.BASES), "published")
    span = params.integer("span", 1, low=1, high=50)
    taxonomy = kb.tagger.taxonomy
    counts = analytics.counts(kb, "case", rules)
    matrix = counts.table("matrix")
    themes = matrix.columns[2:]
    top = max((v for row in matrix.rows for v in row[2:]), default=0)
    cases = [{"case": row[0], "documents": row[1],
              "cells": [(t, v, heat(v, top)) for t, v in zip(themes, row[2:])]} for row in matrix.rows]
    prevalence = analytics.prevalence(kb, rules).table("prevalence").records()
    chosen = [known_theme(t) for t in request.args.getlist("theme") if t.strip()]
    if not chosen:
        ranked = sorted(prevalence, key=lambda r: (-r["documents_showing"], -r["passages_showing"], r["theme_id"]))
        chosen = [r["theme_id"] for r in ranked[:TREND_LINES] if r["documents_showing"]]
    trend = analytics.trends(kb, rules, basis=basis, span=span).table("trends")
    share = "share_of_documents" if rules.unit == "documents" else "share_of_passages"
    by_period: dict[int, dict] = {}
    for r in trend.records():
        entry = by_period.setdefault(r["period_start"], {"end": r["period_end"], "documents": r["documents"],
                                                         "passages": r["passages"], "values": {}})
        entry["values"][r["theme_id"]] = (r[share], r["documents_showing"], r["passages_showing"])
    periods = sorted(by_period)
    series = [{"theme_id": t, "label": taxonomy.get(t).label if taxonomy.get(t) else t,
               "values": [by_period[p]["values"][t][0] for p in periods]} for t in chosen]
    args = rules_args(rules)
    measure = choice("measure", list(MEASURES), "n_ab")
    return render_template(
        "research/dashboard.html", rules=rules, args=args, basis=basis, span=span, taxonomy=taxonomy,
        themes=themes, cases=cases, top=top, prevalence=prevalence, chart=line_chart(periods, series),
        periods=[(p, by_period[p]) for p in periods], chosen=chosen, share=share, trend_notes=trend.notes,
        counts_notes=matrix.notes, before=chronologies.agencies_before_incident(kb),
        documents=len(kb.catalogue.analytics_documents()), quality=kb.theme_quality, measure=measure, measures=MEASURES,
        other_model_tags=kb.tags_from_other_models(),
        cooccurrence=cooccurrence_view(kb, rules, measure),
    )


def cooccurrence_view(kb, rules, measure: str) -> dict:
    """The theme x theme matrix (lower triangle) shaded by the measure shown, and the pairs most above chance."""
    themes, cells = analytics.cooccurrence_matrix(kb, rules)
    args = rules_args(rules)

    def both(a: str, b: str) -> str:
        return url_for("research.evidence", theme_id=a, **args, **{"with": b})

    top = max((r[measure] or 0 for r in cells.values()), default=0)
    rows = [{"theme": a, "cells": [(b, cells[(a, b)], heat(cells[(a, b)][measure] or 0, top), both(a, b))
                                   for b in themes[:i]]}
            for i, a in enumerate(themes) if i]
    pairs = sorted(({**r, "href": both(r["theme_a"], r["theme_b"])} for (a, _), r in cells.items()
                    if a == r["theme_a"] and r["n_ab"] >= MIN_PAIR_COUNT),
                   key=lambda r: (-(r["lift"] or 0), -r["n_ab"], r["theme_a"], r["theme_b"]))
    return {"themes": themes[:-1], "rows": rows, "top": top, "pairs": pairs[:TOP_PAIRS]}


@bp.get("/evidence/<theme_id>")
def evidence(theme_id: str):
    kb = params.store()
    rules = counting_rules()
    case = request.args.get("case") or None
    theme = kb.tagger.taxonomy.get(known_theme(theme_id))
    also = also_theme()
    table = analytics.evidence(kb, theme_id, rules, case=case, also=also).table("evidence")
    rows = table.records()
    reviews = kb.reviews.of_passages(r["passage_id"] for r in rows) if access.can("review") else {}
    return render_template("research/evidence.html", theme=theme, case=case, rows=rows,
                           also=kb.tagger.taxonomy.get(also) if also else None,
                           download_args={**rules_args(rules), "theme": theme_id, "case": case,
                                          **({"with": also} if also else {})},
                           documents={d: kb.document(d) for d in {r["doc_id"] for r in rows}},
                           notes=table.notes, rules=rules, args=rules_args(rules), reviews=reviews,
                           here=request.full_path.rstrip("?"), quality=kb.theme_quality.of(theme.id))

