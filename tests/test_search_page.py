"""The search page shows what the search decided: an estimated count, a corrected query, no match.

The searcher decides these (kb/search); here the page is given results that carry each
decision and must say so plainly, with the way back to the words as typed.
"""

from urllib.parse import parse_qs, urlsplit

import lxml.html
import pytest
from flask import render_template

from kb.search.filters import SearchFilters
from kb.search.searcher import SearchResult
from webapp import create_app


@pytest.fixture(scope="module")
def app(ingested):
    return create_app(ingested, {"TESTING": True})


def page(app, query: str, result: SearchResult, exact: bool = False):
    kb = app.extensions["scrkb"]
    args = f"q={query}" + ("&exact=1" if exact else "")
    with app.test_request_context(f"/search?{args}"):
        from flask import request

        html = render_template(
            "search.html", query=query, mode="hybrid", filters=SearchFilters(), result=result, page=1,
            exact=exact, page_size=10, taxonomy=kb.tagger.taxonomy, args=request.args, sections=[],
            documents={h.doc_id: kb.document(h.doc_id) for h in result.hits},
        )
    return lxml.html.fromstring(html)


def by_id(tree, element_id: str):
    found = tree.xpath(f'//*[@id="{element_id}"]')
    return found[0] if found else None


def text(element) -> str:
    return " ".join(element.text_content().split())


def real_result(app, query: str, **changes) -> SearchResult:
    result = app.extensions["scrkb"].search(query, k=10, facets=True)
    for name, value in changes.items():
        setattr(result, name, value)
    return result


def test_an_estimated_count_says_about(app):
    tree = page(app, "child not seen", real_result(app, "child not seen", total_is_estimate=True))
    assert text(by_id(tree, "summary")).startswith("About ")
    exact_count = page(app, "child not seen", real_result(app, "child not seen", total_is_estimate=False))
    assert not text(by_id(exact_count, "summary")).startswith("About")


def test_a_corrected_query_is_shown_with_a_link_to_the_words_as_typed(app):
    result = real_result(app, "neglect", corrections=[("neglct", "neglect")], searched_as="neglect")
    line = by_id(page(app, "neglct", result), "corrected")
    assert text(line) == "Showing results for neglect. Search instead for “neglct”"
    # the count is of what was searched
    visitor = real_result(app, "health visitor", corrections=[("helth", "health")], searched_as="health visitor")
    assert "for “health visitor”" in text(by_id(page(app, "helth visitor", visitor), "summary"))
    link = parse_qs(urlsplit(line.xpath(".//a")[0].get("href")).query)
    assert link["q"] == ["neglct"] and link["exact"] == ["1"]
    # searching the words as typed, the line is not offered again
    assert by_id(page(app, "neglct", result, exact=True), "corrected") is None


def test_nothing_meaningful_matched_says_so_with_suggestions(app):
    result = real_result(app, "xqzvw blorfle", hits=[], total=0, no_match=True)
    tree = page(app, "xqzvw blorfle", result)
    assert text(by_id(tree, "no-match").xpath(".//h2")[0]) == "No passages match “xqzvw blorfle”"
    assert by_id(tree, "summary") is None and not tree.xpath("//article")
    assert "different spelling" in text(by_id(tree, "no-match"))
