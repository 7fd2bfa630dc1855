"""The compare-cases page: choosing cases, the side-by-side view, and refusals of bad choices."""

from __future__ import annotations

import csv
import re
from html import unescape

import pytest
from conftest import ingested_store
from pdfs import Heading, PageBreak, Para, ReportSpec, build_report

from kb import KnowledgeBase
from webapp import create_app

CATALOGUE_COLUMNS = [
    "id", "case", "aliases", "title", "review_type", "nation", "area", "publisher", "author",
    "year_published", "year_of_incident", "url", "licence", "sample_file",
]
# What Child P's review is written to share with Child S's (the tagger may find more in both).
SHARED = ("child_voice", "information_sharing", "start_again")


def shared_themes(store) -> set[str]:
    shared = set(store.case_themes("Child S")) & set(store.case_themes("Child P"))
    assert set(SHARED) <= shared
    return shared


def similar_review(name: str, area: str) -> ReportSpec:
    """A review finding the same failures as Child S's: history ignored, nothing shared, child not seen."""
    return ReportSpec(
        title=f"Serious Case Review: {name}", header=f"Serious Case Review: {name}",
        footer=f"{area} Safeguarding Children Board",
        body=[
            Heading(f"Serious Case Review: {name}", 18),
            Para([f"{area} Safeguarding Children Board."]),
            Heading("3. Analysis of practice"),
            Para([f"3.1 The school nurse saw {name} four times and never linked the visits. Each",
                  "contact was treated as a new episode and the history was not considered.",
                  "Information held by the police about domestic abuse was not shared with the",
                  "school or with children's social care."]),
            PageBreak(),
            Heading("4. Findings"),
            Para([f"4.1 {name} was not seen alone by any professional during the period under",
                  "review, and the child's voice is absent from the records of every agency."]),
        ],
    )


@pytest.fixture(scope="module")
def store(tmp_path_factory, child_s_pdf) -> KnowledgeBase:
    """Child S (2021, described from its text), Child P (1999) and Child R (2010) from catalogue rows."""
    home = tmp_path_factory.mktemp("compare")
    catalogue = home / "catalogue.csv"
    with open(catalogue, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(CATALOGUE_COLUMNS)
        for case, area, year in (("Child P", "Eastholm", "1999"), ("Child R", "Southby", "2010")):
            writer.writerow([case.lower().replace(" ", "-"), case, "", f"Serious Case Review: {case}",
                             "serious case review", "England", area, f"{area} Safeguarding Children Board", "",
                             year, "", "", "", ""])
    pdfs = [build_report(home / "child-p.pdf", similar_review("Child P", "Eastholm")),
            build_report(home / "child-r.pdf", similar_review("Child R", "Southby"))]
    kb = ingested_store(home, [child_s_pdf, *pdfs], catalogue=catalogue)
    assert set(kb.cases()) == {"Child P", "Child R", "Child S"}
    return kb


@pytest.fixture
def client(store):
    return create_app(store, {"TESTING": True}).test_client()


def compare(client, *cases, status=200) -> str:
    response = client.get("/compare", query_string=[("case", c) for c in cases])
    assert response.status_code == status, response.get_data(as_text=True)
    return response.get_data(as_text=True)


def text_of(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def test_the_form_lists_every_case(client):
    html = compare(client)
    for case in ("Child P", "Child R", "Child S"):
        assert f'<input type="checkbox" name="case" value="{case}" >' in html
    assert 'action="/compare" method="get"' in html
    assert "Same failures, years apart" not in html
    assert 'href="/compare" aria-current="page">Compare cases</a>' in html  # in the nav, marked as the current area


def test_two_cases_side_by_side(client, store):
    html = compare(client, "Child P", "Child S")
    text = text_of(html)
    assert "Same failures, years apart" in text
    shared = shared_themes(store)
    assert f"{len(shared)} themes found in both cases, from Child P (1999) to Child S (2021): 22 years apart." in text
    assert 'class="compare-grid cols-2"' in html
    # each case's reports and years
    assert "Serious Case Review: Child P (1999)" in text and "Serious Case Review: Child S (2021)" in text
    for document in store.documents():
        if document.meta.case in ("Child P", "Child S"):
            assert f'href="/documents/{document.doc_id}"' in html
    # the chosen cases stay ticked for changing the choice
    assert 'value="Child P" checked' in html and 'value="Child S" checked' in html
    assert 'value="Child R" >' in html


def test_themes_are_counted_per_case_and_shared_ones_marked(client, store):
    html = compare(client, "Child P", "Child S")
    taxonomy = store.tagger.taxonomy
    rows = re.findall(r"<tr( class=\"shared\")?>\s*<th scope=\"row\">(.*?)</tr>", html, re.S)
    shared_rows = [text_of(body) for marked, body in rows if marked]
    other_rows = [text_of(body) for marked, body in rows if not marked]
    shared = shared_themes(store)
    assert len(shared_rows) == len(shared)
    for theme_id in shared:
        assert any(row.startswith(taxonomy.get(theme_id).label) and "in both" in row for row in shared_rows)
    # themes only one case shows are listed after the shared ones, with a dash for the other
    in_s, in_p = set(store.case_themes("Child S")), set(store.case_themes("Child P"))
    assert len(other_rows) == len(in_s ^ in_p) > 0
    for theme_id in in_s ^ in_p:
        [row] = [r for r in other_rows if r.startswith(taxonomy.get(theme_id).label)]
        assert re.search(r"– \d+$" if theme_id in in_s else r"\d+ –$", row) and "in both" not in row
        assert html.index('class="shared"') < html.index(taxonomy.get(theme_id).label)
    # a count links to those passages in a search within the case
    assert 'href="/search?q=' in html and "case=Child+S" in html


def test_agencies_named_in_each_case(client):
    html = compare(client, "Child P", "Child S")
    section = html[html.index('id="compare-agencies"'):html.index('id="compare-passages"')]
    text = text_of(section)
    assert "GP practice (2)" in text  # named in Child S's review only
    assert re.search(r"police \(\d+\) in both", text)


def test_matching_passages_show_the_strongest_from_each_case(client, store):
    html = compare(client, "Child R", "Child P", "Child S")
    assert 'class="compare-grid cols-3"' in html
    for theme_id in SHARED:
        start = html.index(f'id="match-{theme_id}"')
        block = html[start:html.index("</section>", start)]
        text = text_of(block)
        best = {case: store.case_theme_evidence(theme_id, case)[0] for case in ("Child P", "Child R", "Child S")}
        for case, passage in best.items():
            assert f"passage={passage.passage_id}" in block
            assert f"/packs/add?passage={passage.passage_id}" in block
        # in the order the cases were chosen
        assert text.index("Child R") < text.index("Child P") < text.index("Child S")
        assert "Serious Case Review: Child R (2010), p. 1" in text or "Serious Case Review: Child R (2010), p. 2" in text


def test_case_evidence_is_restricted_to_the_case(store):
    for case in ("Child P", "Child S"):
        for passage in store.case_theme_evidence("child_voice", case, limit=5):
            assert store.document(passage.doc_id).meta.case == case
            assert any(m.theme_id == "child_voice" and m.kind == "shows" for m in passage.themes)
    assert store.case_theme_evidence("child_voice", "Nobody") == []


@pytest.mark.parametrize("cases", [("Child P",), ("Child P", "Child P"), ("Child P", "Child R", "Child S", "A", "B")])
def test_fewer_than_two_or_more_than_four_cases_is_a_helpful_400(client, cases):
    html = compare(client, *cases, status=400)
    assert 'id="compare-error"' in html and "Choose between 2 and 4 different cases" in html
    assert 'name="case"' in html  # the form is there to choose again


def test_unknown_case_is_404(client):
    html = compare(client, "Child P", "Child <Z>", status=404)
    assert "Child &lt;Z&gt;" in html and "<Z>" not in html


def test_blank_and_repeated_choices_are_ignored(client):
    text = text_of(compare(client, "", " Child P ", "Child S", "Child S"))
    assert "from Child P (1999) to Child S (2021)" in text
