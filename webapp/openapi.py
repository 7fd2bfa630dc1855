"""The OpenAPI 3.1 description of /api/v1, as data; tests check it against the routes and real responses."""

from __future__ import annotations

from copy import deepcopy

from kb.research.analytics import BASES, GROUPINGS, UNITS
from kb.search.searcher import MODES

PREFIX = "/api/v1"
EXPORT_NAMES = ["counts", "prevalence", "evidence", "cooccurrence", "trends", "coded", "before_incident"]


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(kind: str) -> dict:
    return {"type": [kind, "null"]}


def _query(name: str, schema: dict, description: str, required: bool = False, many: bool = False) -> dict:
    if many:
        schema = {"type": "array", "items": schema}
    parameter = {"name": name, "in": "query", "required": required, "description": description, "schema": schema}
    if many:
        parameter.update(style="form", explode=True)
    return parameter


def _path(name: str, description: str, schema: dict | None = None) -> dict:
    return {"name": name, "in": "path", "required": True, "description": description,
            "schema": schema or {"type": "string"}}


RULES = [
    _query("min_score", {"type": "number", "minimum": 0, "maximum": 1, "default": 0},
           "Count a theme tag only when its score is at least this."),
    _query("include_names", {"type": "boolean", "default": False},
           "Also count passages that only name a theme (kind 'names'), not only those showing it."),
    _query("unit", {"type": "string", "enum": list(UNITS), "default": "passages"},
           "What wide tables, co-occurrence and trend shares count."),
    _query("reviewed_only", {"type": "boolean", "default": False},
           "Count only tags a reviewer confirmed or added. Reviewers' verdicts hold either way: a rejected tag "
           "never counts, a confirmed or added one always does."),
]
FILTERS = [
    _query("theme", {"type": "string"}, "Only passages showing this theme (repeat: all of them).", many=True),
    _query("case", {"type": "string"}, "Only these cases.", many=True),
    _query("type", {"type": "string"}, "Only these review types.", many=True),
    _query("nation", {"type": "string"}, "Only these nations.", many=True),
    _query("area", {"type": "string"}, "Only these areas.", many=True),
    _query("agency", {"type": "string"}, "Only passages naming this agency or role (canonical name).", many=True),
    _query("section", {"type": "string"}, "Only these section kinds (findings, chronology...).", many=True),
    _query("year_from", {"type": "integer", "minimum": 1900, "maximum": 2100}, "Published in or after this year."),
    _query("year_to", {"type": "integer", "minimum": 1900, "maximum": 2100}, "Published in or before this year."),
]
EXPORT_ARGS = [
    _query("by", {"type": "string", "enum": list(GROUPINGS), "default": "document"}, "counts: the grouping."),
    _query("theme", {"type": "string"}, "evidence: the theme id (required for evidence)."),
    _query("case", {"type": "string"}, "evidence: only this case."),
    _query("with", {"type": "string"}, "evidence: only passages that also count for this second theme."),
    _query("basis", {"type": "string", "enum": list(BASES), "default": "published"}, "trends: which year."),
    _query("span", {"type": "integer", "minimum": 1, "maximum": 50, "default": 1}, "trends: years per period."),
    _query("years_before", {"type": "integer", "minimum": 0, "maximum": 20, "default": 1},
           "before_incident: years before the incident's year."),
    _query("table", {"type": "string"}, "CSV: which of the output's tables (default the first)."),
]


def _json(schema: dict, description: str = "OK") -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


ERRORS = {
    "400": _json(_ref("Error"), "A parameter is missing or not allowed."),
    "404": _json(_ref("Error"), "No such document, theme or route."),
}


def _get(summary: str, response: dict, parameters: list | None = None, errors=("400",), op: str = "") -> dict:
    return {"get": {
        "operationId": op, "summary": summary, "parameters": parameters or [],
        "responses": {"200": response, **{code: ERRORS[code] for code in errors}},
    }}


SCHEMAS = {
    "Error": {
        "type": "object", "required": ["error"],
        "properties": {"error": {"type": "object", "required": ["status", "message"], "properties": {
            "status": {"type": "integer"}, "message": {"type": "string"}}}},
    },
    "Evidence": {"type": "object", "required": ["text", "start", "end"], "properties": {
        "text": {"type": "string"}, "start": {"type": "integer"}, "end": {"type": "integer"}}},
    "ThemeMatch": {
        "type": "object", "required": ["theme_id", "score", "kind", "evidence"],
        "properties": {"theme_id": {"type": "string"}, "score": {"type": "number"},
                       "kind": {"type": "string", "enum": ["shows", "names"]},
                       "evidence": {"type": "array", "items": _ref("Evidence")},
                       "review": {"enum": ["confirm", "reject", "add", None],
                                  "description": "A reviewer's latest verdict on this tag, if any."}},
    },
    "ThemeQuality": {
        "type": "object", "required": ["precision", "recall", "f1", "support", "experimental", "status"],
        "description": "The tagger's measured accuracy for one theme (status 'measured', or why not).",
        "properties": {"precision": _nullable("number"), "recall": _nullable("number"), "f1": _nullable("number"),
                       "support": {"type": "integer"}, "tagged": {"type": "integer"},
                       "true_count_factor": _nullable("number"),
                       "factor_interval": {"oneOf": [{"type": "array", "items": {"type": "number"}},
                                                     {"type": "null"}]},
                       "experimental": {"type": "boolean"}, "status": {"type": "string"},
                       "in_plain_words": {"type": "string"}},
    },
    "Entity": {
        "type": "object", "required": ["label", "text", "start", "end", "canonical"],
        "properties": {"label": {"type": "string"}, "text": {"type": "string"}, "start": {"type": "integer"},
                       "end": {"type": "integer"}, "canonical": _nullable("string")},
    },
    "Hit": {
        "type": "object",
        "required": ["passage_id", "doc_id", "title", "case", "year", "page", "page_end", "text", "score", "themes",
                     "file_name", "url", "citation"],
        "properties": {
            "passage_id": {"type": "string"}, "doc_id": {"type": "string"}, "title": _nullable("string"),
            "case": _nullable("string"), "year": _nullable("integer"),
            "file_name": {"type": "string", "description": "The report's file name, without the server's folders."},
            "url": {**_nullable("string"), "description": "The report's public address, when known."},
            "citation": {"type": "string", "description": "The passage's citation, ready to paste."},
            "source_path": {"type": "string", "description": "Where the file is on the server: for admins only."},
            "page": {"type": "integer"}, "page_end": {"type": "integer"}, "section": _nullable("string"),
            "section_kind": _nullable("string"), "review_type": _nullable("string"), "text": {"type": "string"},
            "score": {"type": "number"}, "keyword_score": _nullable("number"), "semantic_score": _nullable("number"),
            "best_sentence": _nullable("string"),
            "best_sentence_span": {"type": ["array", "null"], "items": {"type": "integer"}},
            "highlights": {"type": "array", "items": {"type": "array", "items": {"type": "integer"}}},
            "themes": {"type": "array", "items": _ref("ThemeMatch")},
            "also_in": {"type": "array", "items": {"type": "object"}}, "ocr": {"type": "boolean"},
        },
    },
    "SearchResponse": {
        "type": "object", "required": ["query", "mode", "k", "offset", "total", "hits", "facets"],
        "properties": {
            "query": {"type": "string"}, "mode": {"type": "string", "enum": list(MODES)},
            "k": {"type": "integer", "minimum": 1, "maximum": 50}, "offset": {"type": "integer", "minimum": 0},
            "total": {"type": "integer", "description": "Passages found before paging."},
            "total_is_estimate": {"type": "boolean", "description": "True when total is an estimate (about N)."},
            "corrections": {"type": "array", "description": "Each word typed that was searched as another: "
                            "[typed, searched instead]. exact=true searches the words as typed.",
                            "items": {"type": "array", "items": {"type": "string"}, "minItems": 2, "maxItems": 2}},
            "searched_as": {**_nullable("string"), "description": "The query searched, when it differs from q."},
            "no_match": {"type": "boolean", "description": "Nothing meaningful matched the query; hits is empty."},
            "hits": {"type": "array", "items": _ref("Hit")},
            "facets": {"type": "object", "additionalProperties": {
                "type": "object", "additionalProperties": {"type": "integer"}}},
        },
    },
    "Citation": {
        "type": "object", "required": ["passage_id", "doc_id", "title", "publisher", "year", "page_start", "page_end",
                                       "pages", "url", "citation"],
        "properties": {
            "passage_id": {"type": "string"}, "doc_id": {"type": "string"}, "title": _nullable("string"),
            "publisher": _nullable("string"), "year": _nullable("integer"), "page_start": {"type": "integer"},
            "page_end": {"type": "integer"}, "pages": {"type": "string"}, "url": _nullable("string"),
            "file_name": {"type": "string"}, "case": _nullable("string"), "review_type": _nullable("string"),
            "author": _nullable("string"), "section": _nullable("string"), "text": {"type": "string"},
            "citation": {"type": "string", "description": "Ready to paste: publisher (year) title, pages, address."},
        },
    },
    "Document": {
        "type": "object", "required": ["doc_id", "title", "case", "review_type", "year_published", "page_count"],
        "properties": {
            "doc_id": {"type": "string"}, "title": _nullable("string"), "case": _nullable("string"),
            "review_type": _nullable("string"), "nation": _nullable("string"), "area": _nullable("string"),
            "year_published": _nullable("integer"), "year_of_incident": _nullable("integer"),
            "page_count": {"type": "integer"}, "url": _nullable("string"), "publisher": _nullable("string"),
            "described_from": _nullable("string"),
        },
    },
    "DocumentList": {
        "type": "object", "required": ["total", "offset", "limit", "documents"],
        "properties": {"total": {"type": "integer"}, "offset": {"type": "integer"}, "limit": {"type": "integer"},
                       "documents": {"type": "array", "items": _ref("Document")}},
    },
    "Passage": {
        "type": "object",
        "required": ["passage_id", "seq", "page_start", "page_end", "text", "themes", "entities"],
        "properties": {
            "passage_id": {"type": "string"}, "seq": {"type": "integer"}, "page_start": {"type": "integer"},
            "page_end": {"type": "integer"}, "section": _nullable("string"), "section_kind": _nullable("string"),
            "ocr": {"type": "boolean"}, "text": {"type": "string"},
            "themes": {"type": "array", "items": _ref("ThemeMatch")},
            "entities": {"type": "array", "items": _ref("Entity")},
        },
    },
    "DocumentDetail": {
        "type": "object", "required": ["document", "themes", "passages"],
        "properties": {"document": _ref("Document"),
                       "themes": {"type": "object", "additionalProperties": {"type": "integer"},
                                  "description": "Passages showing each theme."},
                       "passages": {"type": "array", "items": _ref("Passage")}},
    },
    "ThemeList": {
        "type": "object", "required": ["taxonomy_version", "groups", "documents", "themes"],
        "properties": {
            "taxonomy_version": {"type": "string"},
            "groups": {"type": "object", "additionalProperties": {"type": "string"}},
            "documents": {"type": "integer"},
            "quality": {"type": "object", "description": "The evaluation set, method and date of the measurement."},
            "themes": {"type": "array", "items": {
                "type": "object", "required": ["id", "label", "group", "definition", "counts"],
                "properties": {
                    "id": {"type": "string"}, "label": {"type": "string"}, "group": {"type": "string"},
                    "definition": {"type": "string"}, "terms": {"type": "array", "items": {"type": "string"}},
                    "counts": {"type": "object", "required": ["shows", "names", "documents"], "properties": {
                        "shows": {"type": "integer"}, "names": {"type": "integer"}, "documents": {"type": "integer"},
                        "reviewed": {"type": "integer"}, "rejected": {"type": "integer"}}},
                    "quality": _ref("ThemeQuality"),
                },
            }},
        },
    },
    "CountingRules": {
        "type": "object", "required": ["min_score", "kinds", "unit", "meaning"],
        "properties": {"min_score": {"type": "number"}, "kinds": {"type": "string", "enum": ["shows", "shows+names"]},
                       "unit": {"type": "string", "enum": list(UNITS)}, "reviewed_only": {"type": "boolean"},
                       "meaning": {"type": "string"}},
    },
    "About": {
        "type": "object",
        "description": "What the numbers rest on. export_date is the store's last ingest, so the same store "
                       "always gives the same output.",
        "required": ["output", "parameters", "counting_rules", "tables", "taxonomy", "calibration", "corpus",
                     "scrkb_version", "export_date"],
        "properties": {
            "output": {"type": "string"}, "parameters": {"type": "object"},
            "counting_rules": {"oneOf": [_ref("CountingRules"), {"type": "null"}]},
            "tables": {"type": "array", "items": {"type": "object", "required": ["name", "title", "rows", "notes"]}},
            "summary": {"type": "object"},
            "taxonomy": {"type": "object", "required": ["version"]},
            "calibration": {"type": "object", "required": ["source", "default_threshold", "thresholds"]},
            "theme_quality": {"type": "object", "required": ["applies", "note", "themes"],
                              "description": "Counts only: the tagger's measured accuracy per theme.",
                              "properties": {"themes": {"type": "object", "additionalProperties": _ref("ThemeQuality")}}},
            "reviews": {"type": "object", "required": ["counted_tags", "counted_tags_reviewed"],
                        "description": "Counts only: how many counted tags rest on a reviewer's word."},
            "corpus": {"type": "object", "required": ["documents", "passages", "document_ids_sha256"], "properties": {
                "documents": {"type": "integer"}, "passages": {"type": "integer"},
                "document_ids_sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"}}},
            "scrkb_version": {"type": "string"}, "export_date": {"type": "string"},
        },
    },
    "Table": {
        "type": "object", "required": ["title", "columns", "rows", "notes"],
        "properties": {"title": {"type": "string"}, "columns": {"type": "array", "items": {"type": "string"}},
                       "rows": {"type": "array", "items": {"type": "object"},
                                "description": "One object per row, keyed by column."},
                       "notes": {"type": "array", "items": {"type": "string"}}},
    },
    "Analysis": {
        "type": "object", "required": ["about", "tables"],
        "properties": {"about": _ref("About"),
                       "tables": {"type": "object", "additionalProperties": _ref("Table")}},
    },
    "EventDate": {
        "type": "object", "required": ["text", "sortable", "year", "month", "precision"],
        "properties": {
            "text": {"type": "string", "description": "As written in the report."},
            "sortable": {"type": "string", "description": "YYYY-MM, or YYYY when the month is unknown."},
            "year": {"type": "integer"}, "month": _nullable("integer"), "day": _nullable("integer"),
            "precision": {"type": "string", "enum": ["day", "month", "season", "part of year", "year", "decade"]},
            "end_year": _nullable("integer"), "end_month": _nullable("integer"),
        },
    },
    "ChronologyEvent": {
        "type": "object", "required": ["date", "source", "text", "agencies", "roles", "passage_id", "page"],
        "properties": {
            "date": _ref("EventDate"), "source": {"type": "string", "enum": ["table", "narrative"]},
            "text": {"type": "string"}, "agencies": {"type": "array", "items": {"type": "string"}},
            "roles": {"type": "array", "items": {"type": "string"}}, "agency_text": _nullable("string"),
            "doc_id": {"type": "string"}, "passage_id": {"type": "string"}, "page": {"type": "integer"},
        },
    },
    "AgencyContact": {
        "type": "object", "required": ["name", "label", "events", "first", "last"],
        "properties": {"name": {"type": "string"}, "label": {"type": "string", "enum": ["AGENCY", "ROLE"]},
                       "events": {"type": "integer"}, "first": _ref("EventDate"), "last": _ref("EventDate")},
    },
    "ChronologyResponse": {
        "type": "object", "required": ["about", "chronology"],
        "properties": {
            "about": _ref("About"),
            "chronology": {
                "type": "object", "required": ["doc_id", "distinct_agencies", "counts", "events", "contacts"],
                "properties": {
                    "doc_id": {"type": "string"}, "title": _nullable("string"), "case": _nullable("string"),
                    "year_of_incident": _nullable("integer"), "distinct_agencies": {"type": "integer"},
                    "distinct_roles": {"type": "integer"},
                    "counts": {"type": "object", "additionalProperties": {"type": "integer"},
                               "description": "Rows and sentences seen, and how many had no date that parsed."},
                    "events": {"type": "array", "items": _ref("ChronologyEvent")},
                    "contacts": {"type": "array", "items": _ref("AgencyContact")},
                },
            },
        },
    },
}

PATHS = {
    "/search": _get(
        "Search passages (hybrid, keyword or semantic) with filters, offset paging and facets.",
        _json(_ref("SearchResponse")),
        [_query("q", {"type": "string", "maxLength": 500}, "The words to search for.", required=True),
         _query("mode", {"type": "string", "enum": list(MODES), "default": "hybrid"}, "How to match."),
         _query("k", {"type": "integer", "minimum": 1, "default": 10}, "Passages per page; more than 50 gives 50."),
         _query("offset", {"type": "integer", "minimum": 0, "maximum": 10000, "default": 0}, "Passages to skip."),
         _query("exact", {"type": "boolean", "default": False}, "Search the words as typed: no spelling correction."),
         *FILTERS],
        op="search",
    ),
    "/citations": _get(
        "Citations of passages, as JSON or as a file for a reference manager (RIS, BibTeX) or a spreadsheet.",
        {"description": "The citations.", "content": {
            "application/json": {"schema": {"type": "object", "required": ["citations"], "properties": {
                "citations": {"type": "array", "items": _ref("Citation")}}}},
            "application/x-research-info-systems": {"schema": {"type": "string"}},
            "application/x-bibtex": {"schema": {"type": "string"}},
            "text/csv": {"schema": {"type": "string"}},
        }},
        [_query("passage", {"type": "string"}, "A passage id (repeat for more, up to 100).", required=True, many=True),
         _query("format", {"type": "string", "enum": ["json", "ris", "bibtex", "csv"], "default": "json"},
                "What to return.")],
        errors=("400", "404"), op="citations",
    ),
    "/documents": _get(
        "The stored documents, a page at a time.", _json(_ref("DocumentList")),
        [_query("offset", {"type": "integer", "minimum": 0, "default": 0}, "Documents to skip."),
         _query("limit", {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}, "Documents per page.")],
        op="listDocuments",
    ),
    "/documents/{doc_id}": _get(
        "One document with its passages, their themes and entities.", _json(_ref("DocumentDetail")),
        [_path("doc_id", "The document id.")], errors=("404",), op="getDocument",
    ),
    "/themes": _get("The theme taxonomy with counts of passages and documents.", _json(_ref("ThemeList")),
                    errors=(), op="listThemes"),
    "/counts": _get(
        "Theme counts by a grouping: a long table, a group x theme matrix and a 0/1 table.", _json(_ref("Analysis")),
        [_query("by", {"type": "string", "enum": list(GROUPINGS), "default": "document"}, "The grouping."), *RULES],
        op="counts",
    ),
    "/prevalence": _get("Documents and passages showing each theme, with the totals.", _json(_ref("Analysis")),
                        RULES, op="prevalence"),
    "/cooccurrence": _get(
        "Theme pairs across documents and across passages: counts, Jaccard and lift.", _json(_ref("Analysis")),
        RULES, op="cooccurrence",
    ),
    "/trends": _get(
        "Prevalence of each theme by year (or period), with each period's documents and passages.",
        _json(_ref("Analysis")),
        [_query("basis", {"type": "string", "enum": list(BASES), "default": "published"}, "Which year."),
         _query("span", {"type": "integer", "minimum": 1, "maximum": 50, "default": 1}, "Years per period."),
         *RULES],
        op="trends",
    ),
    "/evidence/{theme_id}": _get(
        "The passages behind a theme's count: document, page, score, kind and evidence sentences.",
        _json(_ref("Analysis")),
        [_path("theme_id", "The theme id."), _query("case", {"type": "string"}, "Only this case."),
         _query("with", {"type": "string"}, "Only passages that also count for this second theme (with unit="
                "documents: passages in documents that also count for it): the evidence behind a co-occurrence."),
         *RULES],
        errors=("400", "404"), op="evidence",
    ),
    "/chronology": _get(
        "Across the store: agencies and roles in dated events before the incident (documents with a year of "
        "incident only).", _json(_ref("Analysis")),
        [_query("years_before", {"type": "integer", "minimum": 0, "maximum": 20, "default": 1},
                "Years before the incident's year to include.")],
        op="agenciesBeforeIncident",
    ),
    "/chronology/{doc_id}": _get(
        "A document's multi-agency chronology: dated events, agencies, first and last contacts.",
        _json(_ref("ChronologyResponse")), [_path("doc_id", "The document id.")], errors=("404",),
        op="chronology",
    ),
    "/exports/{name}.{fmt}": _get(
        "Download an output as CSV (one table; its about record at .meta.json), JSON or Excel.",
        {"description": "The file.", "content": {
            "text/csv": {"schema": {"type": "string"}},
            "application/json": {"schema": {"oneOf": [_ref("Analysis"), _ref("About")]}},
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {
                "schema": {"type": "string", "contentMediaType":
                           "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}},
        }},
        [_path("name", "Which output.", {"type": "string", "enum": EXPORT_NAMES}),
         _path("fmt", "File format; meta.json is the about record of the CSV.",
               {"type": "string", "enum": ["csv", "json", "xlsx", "meta.json"]}),
         *EXPORT_ARGS, *RULES],
        errors=("400", "404"), op="download",
    ),
    "/openapi.json": _get("This description.", _json({"type": "object"}), errors=(), op="openapi"),
}


def spec() -> dict:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "scrkb API", "version": "1",
            "description": "Search serious case reviews and count the failures they find, with the evidence "
                           "behind every count. Errors are {\"error\": {\"status\", \"message\"}}.",
        },
        "servers": [{"url": PREFIX}],
        "paths": deepcopy(PATHS),
        "components": {"schemas": deepcopy(SCHEMAS)},
    }
