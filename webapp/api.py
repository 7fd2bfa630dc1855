"""The JSON API at /api/v1: search, documents, themes, research counts, chronologies and exports.

Thin, like the pages: parse and check arguments, call kb, return JSON. Errors are
{"error": {"status", "message"}} (webapp/errors.py for the app, the handler below for
counting-rule mistakes). webapp/openapi.py describes every route; a test keeps the two in step.
"""

from __future__ import annotations

from dataclasses import asdict

from flask import Blueprint, Response, jsonify, request

from kb.models import Document, Passage
from kb.research import analytics, citations, exports
from kb.research import chronology as chronologies
from kb.research.analytics import AnalyticsError, CountingRules
from webapp import params
from webapp.access import can
from webapp.errors import AppError, not_found

bp = Blueprint("api", __name__, url_prefix="/api/v1")
MAX_K = 50  # passages per search page: more is a bulk download, which the exports are for
DEFAULT_LIMIT, MAX_LIMIT = 20, 100
EXPORTS = ("counts", "prevalence", "evidence", "cooccurrence", "trends", "coded", "before_incident")
TRUE, FALSE = {"1", "true", "yes", "on"}, {"", "0", "false", "no", "off"}


@bp.errorhandler(AnalyticsError)
def analytics_error(exc: AnalyticsError):
    return jsonify({"error": {"status": 400, "message": str(exc)}}), 400


# --- arguments ---------------------------------------------------------------------------------


def flag(name: str) -> bool:
    value = request.args.get(name, "").strip().lower()
    if value in TRUE:
        return True
    if value in FALSE:
        return False
    raise AppError(400, f"'{name}' must be true or false.")


def choice(name: str, allowed: tuple[str, ...] | list[str], default: str) -> str:
    value = request.args.get(name, default).strip() or default
    if value not in allowed:
        raise AppError(400, f"'{name}' must be one of {', '.join(allowed)}.")
    return value


def counting_rules() -> CountingRules:
    """min_score, include_names, unit and reviewed_only from the query string (shared with the dashboard)."""
    raw = request.args.get("min_score", "").strip()
    try:
        min_score = float(raw) if raw else 0.0
    except ValueError:
        raise AppError(400, "'min_score' must be a number between 0 and 1.") from None
    if not 0 <= min_score <= 1:
        raise AppError(400, "'min_score' must be a number between 0 and 1.")
    return CountingRules(min_score=min_score, kinds="shows+names" if flag("include_names") else "shows",
                         unit=choice("unit", analytics.UNITS, "passages"), reviewed_only=flag("reviewed_only"))


def rules_args(rules: CountingRules) -> dict:
    """The query-string form of counting rules, for links that keep them."""
    args = {}
    if rules.min_score:
        args["min_score"] = f"{rules.min_score:g}"
    if rules.kinds == "shows+names":
        args["include_names"] = "1"
    if rules.unit != "passages":
        args["unit"] = rules.unit
    if rules.reviewed_only:
        args["reviewed_only"] = "1"
    return args


def known_theme(theme_id: str) -> str:
    if params.store().tagger.taxonomy.get(theme_id) is None:
        raise not_found(f"The theme {theme_id!r}")
    return theme_id


def analysis_for(name: str, rules: CountingRules) -> analytics.Analysis:
    """One research output from the query string; the exports route and the JSON routes share it."""
    kb = params.store()
    if name == "counts":
        return analytics.counts(kb, choice("by", list(analytics.GROUPINGS), "document"), rules)
    if name == "prevalence":
        return analytics.prevalence(kb, rules)
    if name == "cooccurrence":
        return analytics.cooccurrence(kb, rules)
    if name == "trends":
        return analytics.trends(kb, rules, basis=choice("basis", list(analytics.BASES), "published"),
                                span=params.integer("span", 1, low=1, high=50))
    if name == "coded":
        return analytics.evidence(kb, None, rules)
    if name == "before_incident":
        years = params.integer("years_before", 1, low=0, high=20)
        return exports.before_incident_analysis(chronologies.agencies_before_incident(kb, years))
    theme = request.args.get("theme", "").strip()
    if not theme:
        raise AppError(400, "'theme' is required: the id of the theme whose evidence to list.")
    return analytics.evidence(kb, known_theme(theme), rules, case=request.args.get("case") or None, also=also_theme())


def also_theme() -> str | None:
    """`with`: a second theme, for the evidence behind a co-occurrence count."""
    other = request.args.get("with", "").strip()
    return known_theme(other) if other else None


def analysis_json(analysis: analytics.Analysis):
    return jsonify(exports.json_data(analysis, exports.about(params.store(), analysis)))


# --- records as JSON -----------------------------------------------------------------------------


def document_json(document: Document) -> dict:
    meta = document.meta
    return {
        "doc_id": document.doc_id, "title": meta.title, "case": meta.case, "review_type": meta.review_type,
        "nation": meta.nation, "area": meta.area, "year_published": meta.year_published,
        "year_of_incident": meta.year_of_incident, "page_count": document.page_count, "url": meta.url,
        "publisher": meta.publisher, "described_from": meta.source,
    }


def passage_json(passage: Passage) -> dict:
    return {
        "passage_id": passage.passage_id, "seq": passage.seq, "page_start": passage.page_start,
        "page_end": passage.page_end, "section": passage.section, "section_kind": passage.section_kind,
        "ocr": passage.ocr, "text": passage.text,
        "themes": [asdict(m) for m in passage.themes],
        "entities": [asdict(e) for e in passage.entities],
    }


def hit_json(hit, citation: citations.Citation) -> dict:
    """A search hit with its citation; the file's place on the server only for admins (and the CLI)."""
    data = asdict(hit)
    path = data.pop("source_path")
    data.update(file_name=citation.file_name, url=citation.url, citation=citation.line)
    if can("admin"):
        data["source_path"] = path
    return data


# --- routes ----------------------------------------------------------------------------------------


@bp.get("/search")
def search():
    kb = params.store()
    query = params.query_text()
    if not query:
        raise AppError(400, "'q' is required: the words to search for.")
    k = min(params.integer("k", 10, low=1, high=10_000), MAX_K)
    offset = params.integer("offset", 0, low=0, high=10_000)
    result = kb.search(query, k=k, mode=params.mode(), filters=params.search_filters(), offset=offset, facets=True,
                       exact=params.exact())
    cited = citations.for_hits(kb, result.hits)
    return jsonify({
        "query": result.query, "mode": result.mode, "k": k, "offset": result.offset, "total": result.total,
        "total_is_estimate": result.total_is_estimate, "corrections": [list(c) for c in result.corrections],
        "searched_as": result.searched_as, "no_match": result.no_match,
        "hits": [hit_json(hit, cited[hit.passage_id]) for hit in result.hits], "facets": result.facets,
    })


@bp.get("/citations")
def cite():
    """Citations of chosen passages: JSON, or a file for a reference manager (RIS, BibTeX, CSV)."""
    ids = [pid.strip() for pid in request.args.getlist("passage") if pid.strip()]
    if not ids:
        raise AppError(400, "'passage' is required: the id of a passage to cite (repeat it for more).")
    if len(ids) > MAX_LIMIT or any(len(pid) > 100 for pid in ids):
        raise AppError(400, f"At most {MAX_LIMIT} passages can be cited at once.")
    fmt = choice("format", ["json", *citations.FORMATS], "json")
    try:
        found = citations.for_passages(params.store(), ids)
    except citations.CitationError as exc:
        raise AppError(404, str(exc)) from None
    if fmt == "json":
        return jsonify({"citations": [{**asdict(c), "pages": c.pages, "citation": c.line} for c in found]})
    return Response(citations.render(found, fmt), content_type=citations.FORMATS[fmt][1],
                    headers={"Content-Disposition": f'attachment; filename="{citations.filename(fmt)}"'})


@bp.get("/documents")
def documents():
    everything = params.store().documents()
    offset = params.integer("offset", 0, low=0, high=1_000_000)
    limit = params.integer("limit", DEFAULT_LIMIT, low=1, high=MAX_LIMIT)
    return jsonify({"total": len(everything), "offset": offset, "limit": limit,
                    "documents": [document_json(d) for d in everything[offset:offset + limit]]})


@bp.get("/documents/<doc_id>")
def document(doc_id: str):
    kb = params.store()
    found = kb.document(doc_id)
    if found is None:
        raise not_found(f"The document {doc_id!r}")
    return jsonify({"document": document_json(found), "themes": kb.document_themes(doc_id),
                    "passages": [passage_json(p) for p in kb.passages(doc_id)]})


@bp.get("/themes")
def themes():
    kb = params.store()
    taxonomy, counts, quality = kb.tagger.taxonomy, kb.theme_counts(), kb.theme_quality
    return jsonify({
        "taxonomy_version": taxonomy.version, "groups": taxonomy.groups, "documents": kb.stats()["documents"],
        "quality": quality.header(),
        "themes": [
            {"id": t.id, "label": t.label, "group": t.group, "definition": t.definition, "terms": list(t.terms),
             "counts": {key: counts.get(t.id, {}).get(key, 0)
                        for key in ("shows", "names", "documents", "reviewed", "rejected")},
             "quality": quality.of(t.id).as_dict()}
            for t in taxonomy.themes
        ],
    })


@bp.get("/counts")
def counts():
    return analysis_json(analysis_for("counts", counting_rules()))


@bp.get("/prevalence")
def prevalence():
    return analysis_json(analysis_for("prevalence", counting_rules()))


@bp.get("/cooccurrence")
def cooccurrence():
    return analysis_json(analysis_for("cooccurrence", counting_rules()))


@bp.get("/trends")
def trends():
    return analysis_json(analysis_for("trends", counting_rules()))


@bp.get("/evidence/<theme_id>")
def evidence(theme_id: str):
    kb = params.store()
    analysis = analytics.evidence(kb, known_theme(theme_id), counting_rules(), case=request.args.get("case") or None,
                                  also=also_theme())
    return analysis_json(analysis)


@bp.get("/chronology")
def before_incident():
    return analysis_json(analysis_for("before_incident", CountingRules()))


@bp.get("/chronology/<doc_id>")
def chronology(doc_id: str):
    kb = params.store()
    try:
        found = chronologies.chronology(kb, doc_id)
    except KeyError:
        raise not_found(f"The document {doc_id!r}") from None
    return jsonify({"about": exports.about(kb, exports.chronology_analysis(found)), "chronology": found.as_dict()})


@bp.get(f"/exports/<any({', '.join(EXPORTS)}):name>.<any(csv, json, xlsx, 'meta.json'):fmt>")
def download(name: str, fmt: str):
    """A file to save: the CSV of one table (its about record at .meta.json), JSON, or an Excel workbook."""
    kb = params.store()
    analysis = analysis_for(name, counting_rules())
    data, meta = exports.render(kb, analysis, "csv" if fmt == "meta.json" else fmt, request.args.get("table") or None)
    if fmt == "meta.json":
        data, mimetype, filename = meta, exports.MIMETYPES["json"], f"scrkb-{name}.csv.meta.json"
    else:
        mimetype, filename = exports.MIMETYPES[fmt], f"scrkb-{name}.{fmt}"
    # content_type, not mimetype: Flask would add a second charset to "text/csv; charset=utf-8"
    return Response(data, content_type=mimetype,
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@bp.get("/openapi.json")
def openapi():
    from webapp.openapi import spec

    return jsonify(spec())
