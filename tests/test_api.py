"""The JSON API: every route, its errors, and an OpenAPI description that matches both routes and responses."""

from __future__ import annotations

import io
import json
import re
import zipfile

import pytest
from jsonschema import Draft202012Validator
from test_analytics import build_store

from webapp import create_app
from webapp.openapi import PREFIX, spec

A = "a" * 16


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return build_store(tmp_path_factory.mktemp("api") / "kb")


@pytest.fixture(scope="module")
def client(store):
    return create_app(store, {"TESTING": True}).test_client()


@pytest.fixture(scope="module")
def search_client(ingested):
    """Search needs real vectors: the ingested Child S review."""
    return create_app(ingested, {"TESTING": True}).test_client()


def schema_for(path: str, status: str = "200") -> dict:
    description = spec()
    content = description["paths"][path]["get"]["responses"][status]["content"]["application/json"]["schema"]
    return {"components": description["components"], **content}


def valid(response, path: str, status: str = "200") -> dict:
    assert response.status_code == int(status), response.get_data(as_text=True)[:500]
    data = response.get_json()
    Draft202012Validator(schema_for(path, status)).validate(data)
    return data


def openapi_path(rule: str) -> str:
    """/api/v1/evidence/<theme_id> -> /evidence/{theme_id}"""
    return re.sub(r"<(?:[^<>:]+:)?([^<>:]+)>", r"{\1}", rule)[len(PREFIX):]


def test_every_route_is_described_and_every_description_is_a_route(client):
    app = client.application
    rules = {openapi_path(r.rule): r for r in app.url_map.iter_rules() if r.endpoint.startswith("api.")}
    described = spec()["paths"]
    assert set(rules) == set(described)
    for path, rule in rules.items():
        assert "GET" in rule.methods and set(described[path]) == {"get"}
        operation = described[path]["get"]
        placeholders = set(re.findall(r"{(\w+)}", path))
        assert {p["name"] for p in operation["parameters"] if p["in"] == "path"} == placeholders
        assert "200" in operation["responses"]


def test_openapi_document_is_served_and_well_formed(client):
    data = client.get("/api/v1/openapi.json").get_json()
    assert data["openapi"].startswith("3.1") and data == json.loads(json.dumps(spec()))
    for schema in data["components"]["schemas"].values():
        Draft202012Validator.check_schema(schema)
    refs = set(re.findall(r'"#/components/schemas/(\w+)"', json.dumps(data)))
    assert refs <= set(data["components"]["schemas"])


def test_search_with_filters_paging_and_facets(search_client, ingested):
    data = valid(search_client.get("/api/v1/search?q=domestic+abuse+not+shared&k=2"), "/search")
    assert data["k"] == 2 and len(data["hits"]) <= 2 and data["total"] >= len(data["hits"]) > 0
    assert {"theme", "case", "year", "review_type"} <= set(data["facets"])
    first = data["hits"][0]
    assert first["page"] >= 1 and first["text"]
    page_two = valid(search_client.get("/api/v1/search?q=domestic+abuse+not+shared&k=2&offset=2"), "/search")
    assert page_two["offset"] == 2
    assert not {h["passage_id"] for h in page_two["hits"]} & {h["passage_id"] for h in data["hits"]}
    capped = valid(search_client.get("/api/v1/search?q=police&k=500"), "/search")
    assert capped["k"] == 50
    filtered = valid(search_client.get("/api/v1/search?q=police&section=chronology&year_from=1990"), "/search")
    assert all(h["section_kind"] == "chronology" for h in filtered["hits"])


@pytest.mark.parametrize("query", [
    "", "q=", "q=x&k=abc", "q=x&k=0", "q=x&offset=-1", "q=x&mode=fuzzy", "q=x&theme=no_such_theme",
    "q=x&section=nowhere", "q=x&year_from=1800", "q=" + "x" * 501,
])
def test_search_bad_parameters_are_400_json(search_client, query):
    data = valid(search_client.get(f"/api/v1/search?{query}"), "/search", "400")
    assert data["error"]["status"] == 400 and data["error"]["message"]


def test_documents_list_paging_and_one_document(client):
    data = valid(client.get("/api/v1/documents?limit=3"), "/documents")
    assert (data["total"], data["limit"], len(data["documents"])) == (4, 3, 3)
    rest = valid(client.get("/api/v1/documents?limit=3&offset=3"), "/documents")
    ids = [d["doc_id"] for d in data["documents"] + rest["documents"]]
    assert sorted(ids) == sorted(c * 16 for c in "abcd")
    one = valid(client.get(f"/api/v1/documents/{A}"), "/documents/{doc_id}")
    assert one["document"]["case"] == "Child A" and len(one["passages"]) == 3
    assert one["themes"] == {"missed_warning_signs": 2, "information_sharing": 1}
    assert one["passages"][0]["themes"][0]["evidence"][0]["text"] == "The GP saw bruising and did not refer."
    valid(client.get("/api/v1/documents/nope"), "/documents/{doc_id}", "404")
    for query in ("limit=0", "limit=101", "offset=x"):
        valid(client.get(f"/api/v1/documents?{query}"), "/documents", "400")


def test_themes_with_counts(client, store):
    data = valid(client.get("/api/v1/themes"), "/themes")
    assert len(data["themes"]) == len(store.tagger.taxonomy.themes) and data["documents"] == 4
    sharing = next(t for t in data["themes"] if t["id"] == "information_sharing")
    assert sharing["counts"] == {"shows": 3, "names": 0, "documents": 3, "reviewed": 0, "rejected": 0}


def test_counts_by_grouping_and_rules(client):
    data = valid(client.get("/api/v1/counts?by=case&unit=documents&min_score=0.75"), "/counts")
    assert data["about"]["counting_rules"]["unit"] == "documents"
    assert data["about"]["counting_rules"]["min_score"] == 0.75
    matrix = {r["case"]: r for r in data["tables"]["matrix"]["rows"]}
    assert matrix["Child A"]["missed_warning_signs"] == 1 and matrix["Child A"]["thresholds"] == 0
    named = valid(client.get("/api/v1/counts?by=document&include_names=true"), "/counts")
    rows = {(r["doc_id"], r["theme_id"]): r for r in named["tables"]["counts"]["rows"]}
    assert rows[(A, "thresholds")]["shown"] == 1
    for query in ("by=colour", "min_score=x", "min_score=1.5", "unit=pages", "include_names=maybe"):
        data = valid(client.get(f"/api/v1/counts?{query}"), "/counts", "400")
        assert data["error"]["status"] == 400


def test_prevalence_cooccurrence_and_trends(client):
    prevalence = valid(client.get("/api/v1/prevalence"), "/prevalence")
    assert {r["theme_id"]: r["documents_showing"] for r in prevalence["tables"]["prevalence"]["rows"]}["neglect"] == 2
    pairs = valid(client.get("/api/v1/cooccurrence?unit=documents"), "/cooccurrence")
    assert list(pairs["tables"]) == ["pairs_documents", "pairs_passages"]
    trends = valid(client.get("/api/v1/trends?span=5&basis=published"), "/trends")
    assert {r["period_start"] for r in trends["tables"]["trends"]["rows"]} == {2010}
    valid(client.get("/api/v1/trends?basis=fiscal"), "/trends", "400")
    valid(client.get("/api/v1/trends?span=0"), "/trends", "400")


def test_evidence_for_a_theme_and_a_case(client):
    data = valid(client.get("/api/v1/evidence/information_sharing?case=Child+A"), "/evidence/{theme_id}")
    rows = data["tables"]["evidence"]["rows"]
    assert [r["doc_id"] for r in rows] == [A, "c" * 16] and data["about"]["parameters"]["case"] == "Child A"
    valid(client.get("/api/v1/evidence/no_such_theme"), "/evidence/{theme_id}", "404")
    valid(client.get("/api/v1/evidence/neglect?min_score=-1"), "/evidence/{theme_id}", "400")


def test_chronology_of_a_document_and_across_the_store(client, search_client, ingested):
    doc_id = ingested.documents()[0].doc_id
    data = valid(search_client.get(f"/api/v1/chronology/{doc_id}"), "/chronology/{doc_id}")
    assert [e["date"]["sortable"] for e in data["chronology"]["events"] if e["source"] == "table"] == [
        "2018-03", "2018-06", "2018-08"]
    assert "sentences_without_date" in data["chronology"]["counts"]
    valid(client.get("/api/v1/chronology/nope"), "/chronology/{doc_id}", "404")
    across = valid(client.get("/api/v1/chronology?years_before=2"), "/chronology")
    assert across["about"]["summary"]["years_before"] == 2
    valid(client.get("/api/v1/chronology?years_before=99"), "/chronology", "400")


def test_export_downloads(client):
    csv_response = client.get("/api/v1/exports/counts.csv?by=case&table=binary")
    assert csv_response.status_code == 200 and csv_response.mimetype == "text/csv"
    assert "attachment" in csv_response.headers["Content-Disposition"]
    assert csv_response.get_data(as_text=True).startswith("case,documents_in_group,")
    meta = valid(client.get("/api/v1/exports/counts.meta.json?by=case&table=binary"), "/exports/{name}.{fmt}")
    assert meta["file_table"] == "binary" and meta["corpus"]["documents"] == 4
    data = valid(client.get("/api/v1/exports/evidence.json?theme=neglect"), "/exports/{name}.{fmt}")
    assert len(data["tables"]["evidence"]["rows"]) == 2
    xlsx = client.get("/api/v1/exports/evidence.xlsx?theme=neglect")
    assert xlsx.status_code == 200 and "About these numbers" in str(zipfile.ZipFile(io.BytesIO(xlsx.data)).read("xl/workbook.xml"))
    assert client.get("/api/v1/exports/evidence.xlsx?theme=neglect").data == xlsx.data
    text = client.get("/api/v1/exports/coded.csv").get_data(as_text=True)
    assert "'+1 The police" in text and "\n+" not in text and ",+" not in text
    for name in ("prevalence", "cooccurrence", "trends", "before_incident"):
        assert client.get(f"/api/v1/exports/{name}.csv").status_code == 200
    valid(client.get("/api/v1/exports/evidence.csv"), "/exports/{name}.{fmt}", "400")  # no theme
    valid(client.get("/api/v1/exports/counts.csv?table=nope"), "/exports/{name}.{fmt}", "400")
    valid(client.get("/api/v1/exports/evidence.csv?theme=nope"), "/exports/{name}.{fmt}", "404")
    assert client.get("/api/v1/exports/secrets.csv").status_code == 404
    assert client.get("/api/v1/exports/counts.pdf").get_json()["error"]["status"] == 404


def test_unknown_routes_and_methods_are_json_errors(client):
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404 and response.get_json()["error"]["status"] == 404
    response = client.post("/api/v1/themes")
    assert response.status_code == 405 and response.get_json()["error"]["status"] == 405
