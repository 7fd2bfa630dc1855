"""Hostile input on every way in: markup, path traversal, FTS5 syntax, filter injection, oversized requests, formulas.

Served open on loopback (the single-user setting) so each attack reaches the code
behind the sign-in; test_access.py shows the sign-in itself holds.
"""

from __future__ import annotations

import csv
import io
import json

import openpyxl
import pytest
from conftest import SCRIPT

from webapp import create_app
from webapp.api import EXPORTS

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
TRAVERSALS = ["../../../../etc/passwd", "..%2F..%2F..%2Fetc%2Fpasswd", "%2Fetc%2Fpasswd", "....//....//etc/passwd",
              "..\\..\\windows\\win.ini", "%252e%252e%252fetc%252fpasswd", "a%00.pdf", "~/.ssh/id_rsa"]
FTS_ABUSE = ['"unbalanced', 'a "b', 'NEAR(police health', 'NEAR(a b, 99999999)', 'text:police', 'doc_id:*',
             '{text}: police', 'police*', '*', '^police', 'police OR', 'AND', 'NOT NOT', '(((', ')', '"', "'",
             "police'; DROP TABLE passages; --", 'a:b:c', '-police', '+police', 'police AND NOT (health', '\x00']


@pytest.fixture(scope="module")
def client(hostile_kb):
    return create_app(hostile_kb, {"TESTING": True}).test_client()


@pytest.fixture(scope="module")
def hostile(hostile_kb):
    doc = next(d for d in hostile_kb.documents() if d.meta.case == "Child Z")
    return doc, next(p for p in hostile_kb.passages(doc.doc_id) if "<script>" in p.text)


def get(client, url: str):
    response = client.get(url)
    response.get_data()
    response.close()
    return response


def test_markup_in_pdf_text_is_shown_never_run(client, hostile):
    doc, passage = hostile
    pack_id = client.application.extensions["scrkb"].packs.create("Hostile").pack_id
    client.application.extensions["scrkb"].packs.add(pack_id, passage.passage_id)
    for url in (f"/documents/{doc.doc_id}", "/documents", f"/documents/{doc.doc_id}/pages/1",
                "/search?q=referral+form+read&mode=keyword", "/themes/neglect", f"/passages/{passage.passage_id}/similar",
                f"/packs/add?passage={passage.passage_id}", f"/packs/{pack_id}", "/compare?case=Child+Z&case=Child+S",
                "/research/evidence/neglect"):
        body = get(client, url).get_data(as_text=True)
        assert SCRIPT not in body and "<img src=x" not in body, url
        if url.startswith(("/documents/", "/search", "/packs")):  # pages sure to show that passage
            assert "&lt;script&gt;" in body, url
    # The API gives the text as it is, as JSON that no browser will sniff into a page.
    response = get(client, f"/api/v1/documents/{doc.doc_id}")
    assert response.mimetype == "application/json" and response.headers["X-Content-Type-Options"] == "nosniff"
    assert SCRIPT in "".join(p["text"] for p in response.json["passages"])


@pytest.mark.parametrize("url", [
    "/search?q=<script>alert(1)</script>", "/search?q=\"><svg/onload=alert(1)>",
    "/search?q=police&case=<script>alert(1)</script>", "/search?q=police&area=\"><b>x</b>",
    "/search?q=police&theme=<script>", "/compare?case=<script>alert(1)</script>&case=Child+S",
    "/research/?theme=<script>", "/documents/<script>alert(1)<%2Fscript>", "/themes/<b>x</b>",
])
def test_markup_in_queries_and_filters_is_escaped(client, url):
    body = get(client, url).get_data(as_text=True)
    assert "<script>alert(1)" not in body and "<svg/onload" not in body and "<b>x</b>" not in body


def test_no_route_accepts_a_path(client, hostile):
    """Every route argument, given traversal payloads: never a file, never a 500."""
    doc, passage = hostile
    app = client.application
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or not rule.arguments or rule.endpoint == "static":
            continue
        for argument in rule.arguments:
            for payload in TRAVERSALS:
                url = str(rule)
                for other in rule.arguments - {argument}:
                    url = url.replace(f"<{other}>", {"doc_id": doc.doc_id, "passage_id": passage.passage_id}
                                      .get(other, "1"))
                url = url.split("<")[0] + payload if f"<{argument}>" not in url else url.replace(f"<{argument}>", payload)
                response = get(client, url.split("<")[0] if "<" in url else url)
                body = response.get_data()
                assert response.status_code in (400, 404, 405), (url, response.status_code)
                assert b"root:" not in body and b"[extensions]" not in body and b"PRIVATE KEY" not in body
    for payload in TRAVERSALS:  # the only file route serves the app's own static folder
        response = client.get(f"/static/{payload}", follow_redirects=True)  # '//' is merged by a redirect
        assert response.status_code == 404 and response.request.path.startswith("/static/"), payload
        response.close()


@pytest.mark.parametrize("query", FTS_ABUSE)
@pytest.mark.parametrize("mode", ["keyword", "hybrid"])
def test_fts5_syntax_is_searched_as_words(client, query, mode):
    page = get(client, f"/search?mode={mode}&q={query}")
    api = get(client, f"/api/v1/search?mode={mode}&q={query}")
    assert page.status_code in (200, 400) and api.status_code in (200, 400), (query, page.status_code, api.status_code)


def test_fts5_column_filters_and_near_do_not_change_the_search(client):
    plain = get(client, "/api/v1/search?mode=keyword&q=police").json
    for query in ("text:police", "{text}: police", "NEAR(police)"):
        found = get(client, f"/api/v1/search?mode=keyword&q={query}").json
        assert [h["passage_id"] for h in found["hits"]] == [h["passage_id"] for h in plain["hits"]], query


@pytest.mark.parametrize("url", [
    "/search?q=police&section=$where", "/search?q=police&theme=$ne", "/search?q=police&$where=1",
    "/search?q=police&case[$ne]=x", "/api/v1/search?q=police&theme[$gt]=", "/api/v1/search?q=police&section=$or",
    "/api/v1/search?q=police&$and=1", "/api/v1/counts?by=$where", "/research/?theme=$ne",
    "/api/v1/search?q=police&case=$in&agency=$regex&nation=$contains&type=$exists&area=$nin",
])
def test_filter_injection_is_refused_or_matches_nothing(client, url):
    response = get(client, url)
    assert response.status_code in (200, 400, 404), (url, response.status_code)
    if response.status_code == 200 and url.startswith("/api/v1/search"):
        assert response.json["total"] == 0 or "$" not in url.split("&", 1)[1].split("=", 1)[1][:1]


@pytest.mark.parametrize("url, status", [
    ("/search?q=" + "a" * 501, 400), ("/api/v1/search?q=" + "a" * 501, 400),
    ("/api/v1/search?q=police&k=100000", 400), ("/api/v1/search?q=police&offset=99999999", 400),
    ("/api/v1/documents?limit=101", 400), ("/search?q=police&page=51", 400),
    ("/search?q=police" + "&case=x" * 51, 400), ("/search?q=police&case=" + "x" * 301, 400),
    ("/api/v1/trends?span=51", 400), ("/api/v1/chronology?years_before=21", 400),
])
def test_caps_on_query_length_page_size_and_k(client, url, status):
    assert get(client, url).status_code == status


def test_k_is_capped_to_a_page(client):
    assert get(client, "/api/v1/search?q=the&k=5000").json["k"] == 50


def test_oversized_bodies_are_refused_before_reading(client):
    response = client.post("/packs", data={"title": "x" * (2 << 20)})
    assert response.status_code == 413
    response = client.post("/login", data=b"x" * (2 << 20), content_type="application/octet-stream")
    assert response.status_code == 413


def _csv_tables(client, name: str, args: str) -> list[tuple[str, list[list[str]]]]:
    data = get(client, f"/api/v1/exports/{name}.json?{args}").json
    found = []
    for table in data["tables"]:
        response = get(client, f"/api/v1/exports/{name}.csv?{args}&table={table}")
        assert response.status_code == 200
        found.append((table, list(csv.reader(io.StringIO(response.get_data(as_text=True))))))
    return found


def test_no_export_carries_a_live_formula(client, hostile):
    doc, _ = hostile
    neutralised = 0
    for name in EXPORTS:
        args = "theme=neglect" if name == "evidence" else ""
        for table, rows in _csv_tables(client, name, args):
            cells = [cell for row in rows for cell in row]
            assert not [c for c in cells if c.startswith(FORMULA_STARTS)], (name, table)
            neutralised += sum(c.startswith("'=HYPERLINK") for c in cells)
        workbook = openpyxl.load_workbook(io.BytesIO(get(client, f"/api/v1/exports/{name}.xlsx?{args}").data))
        for sheet in workbook.worksheets:
            for row in sheet.iter_rows():
                for cell in row:
                    assert cell.data_type != "f", (name, sheet.title, cell.coordinate, cell.value)
    assert neutralised, "the hostile title reached no export, so nothing was tested"
    chronology = get(client, f"/api/v1/chronology/{doc.doc_id}")
    assert chronology.status_code == 200 and json.loads(chronology.data)  # JSON is data, never run


def test_json_api_errors_are_json_and_never_echo_markup_as_html(client):
    response = get(client, "/api/v1/documents/<script>x")
    assert response.status_code == 404 and response.mimetype == "application/json"
