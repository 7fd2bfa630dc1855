"""The API's side of the journeys: citations, search hits without the server's paths, the evidence of
two themes, and CSV served with one charset."""

from __future__ import annotations

import csv
import io
from dataclasses import replace

import pytest
from test_access import PASSWORD, signed_in
from test_citations import parse_bibtex, parse_ris

from kb import KnowledgeBase
from kb.research.citations import cite
from webapp import create_app


@pytest.fixture(scope="module")
def app(ingested):
    kb = KnowledgeBase(replace(ingested.settings, login="required"))
    for role in ("reader", "admin", "researcher"):
        if kb.accounts.by_name(f"api-{role}") is None:
            kb.accounts.add(f"api-{role}", PASSWORD, role)
    return create_app(kb, {"TESTING": True})


@pytest.fixture(scope="module")
def reader(app):
    return signed_in(app, "api-reader")


def test_search_hits_name_the_file_and_its_citation_not_the_servers_path(app, reader, ingested):
    document = ingested.documents()[0]
    hits = reader.get("/api/v1/search?q=child+not+seen+alone").get_json()["hits"]
    assert hits and all("source_path" not in hit for hit in hits)
    first = hits[0]
    assert first["file_name"] == "child-s.pdf" and first["url"] == document.meta.url
    expected = cite(document, first["passage_id"], first["page"], first["page_end"]).line
    assert first["citation"] == expected and "Serious Case Review: Child S" in expected
    assert str(ingested.settings.home.parent) not in reader.get("/api/v1/search?q=health+visitor").get_data(as_text=True)
    admin = signed_in(app, "api-admin")
    assert admin.get("/api/v1/search?q=health+visitor").get_json()["hits"][0]["source_path"].endswith("child-s.pdf")


def test_search_response_carries_what_the_search_decided(reader):
    corrected = reader.get("/api/v1/search?q=helth+visitor").get_json()
    assert {"total_is_estimate", "corrections", "searched_as", "no_match"} <= set(corrected)
    assert corrected["corrections"] == [["helth", "health"]] and corrected["searched_as"] == "health visitor"
    assert corrected["hits"] and corrected["no_match"] is False
    exact = reader.get("/api/v1/search?q=helth+visitor&exact=1").get_json()
    assert exact["corrections"] == [] and exact["searched_as"] is None
    nonsense = reader.get("/api/v1/search?q=xqzvw+blorfle").get_json()
    assert nonsense["no_match"] is True and nonsense["hits"] == [] and nonsense["total"] == 0


def test_citations_as_json_ris_bibtex_and_csv(reader, ingested):
    ids = [p.passage_id for p in ingested.passages(ingested.documents()[0].doc_id)[:2]]
    query = "&".join(f"passage={pid}" for pid in ids)
    found = reader.get(f"/api/v1/citations?{query}").get_json()["citations"]
    assert [c["passage_id"] for c in found] == ids and all(c["citation"] and c["pages"] for c in found)
    ris = reader.get(f"/api/v1/citations?{query}&format=ris")
    assert ris.headers["Content-Type"] == "application/x-research-info-systems"
    assert [r["SP"] for r in parse_ris(ris.get_data(as_text=True))] == [[str(c["page_start"])] for c in found]
    bib = reader.get(f"/api/v1/citations?{query}&format=bibtex")
    assert bib.headers["Content-Type"] == "application/x-bibtex; charset=utf-8"
    assert [kind for kind, _, _ in parse_bibtex(bib.get_data(as_text=True))] == ["report", "report"]
    rows = list(csv.DictReader(io.StringIO(reader.get(f"/api/v1/citations?{query}&format=csv").get_data(as_text=True))))
    assert [r["passage_id"] for r in rows] == ids
    assert reader.get("/api/v1/citations").status_code == 400
    assert reader.get(f"/api/v1/citations?{query}&format=endnote").status_code == 400
    missing = reader.get("/api/v1/citations?passage=nope")
    assert missing.status_code == 404 and "nope" in missing.get_json()["error"]["message"]


def test_web_citation_downloads_for_chosen_passages_and_a_whole_search(reader, ingested):
    pid = ingested.passages(ingested.documents()[0].doc_id)[0].passage_id
    chosen = reader.get(f"/citations?passage={pid}&format=bibtex")
    assert chosen.status_code == 200 and 'filename="scrkb-citations.bib"' in chosen.headers["Content-Disposition"]
    assert len(parse_bibtex(chosen.get_data(as_text=True))) == 1
    whole = reader.get("/search/citations?q=child+not+seen&format=ris")
    records = parse_ris(whole.get_data(as_text=True))
    total = len(reader.get("/api/v1/search?q=child+not+seen&k=50").get_json()["hits"])
    assert len(records) == total > 1
    assert reader.get("/citations?format=ris").status_code == 400
    assert "Select at least one passage" in reader.get("/citations?format=ris").get_data(as_text=True)


def test_evidence_of_two_themes_and_csv_with_one_charset(app, ingested):
    researcher = signed_in(app, "api-researcher")
    pair = next(r for r in researcher.get("/api/v1/cooccurrence").get_json()["tables"]["pairs_passages"]["rows"]
                if r["n_ab"])
    both = researcher.get(f"/api/v1/evidence/{pair['theme_a']}?with={pair['theme_b']}").get_json()
    assert len(both["tables"]["evidence"]["rows"]) == pair["n_ab"]
    assert both["about"]["parameters"]["with"] == pair["theme_b"]
    assert researcher.get(f"/api/v1/evidence/{pair['theme_a']}?with=nope").status_code == 404
    download = researcher.get(f"/api/v1/exports/evidence.csv?theme={pair['theme_a']}&with={pair['theme_b']}")
    assert download.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert len(list(csv.reader(io.StringIO(download.get_data(as_text=True))))) == pair["n_ab"] + 1
