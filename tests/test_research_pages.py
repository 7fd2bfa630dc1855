"""The research dashboard and evidence pages: numbers that link to their passages, charts with their
tables and CSV files, accessible markup, and nothing the CSP would block."""

from __future__ import annotations

import csv
import io
import re
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlparse

import pytest
from test_analytics import build_store

from webapp import create_app


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    return create_app(build_store(tmp_path_factory.mktemp("research") / "kb"), {"TESTING": True}).test_client()


class Links(HTMLParser):
    """Every tag's attributes, to check links, downloads and inline styles."""

    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    handle_startendtag = handle_starttag

    def hrefs(self, **having) -> list[str]:
        return [a["href"] for t, a in self.tags if "href" in a and all(a.get(k) == v for k, v in having.items())]


def page(client, url: str) -> tuple[str, Links]:
    response = client.get(url)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    html = response.get_data(as_text=True)
    parser = Links()
    parser.feed(html)
    return html, parser


def test_dashboard_heatmap_links_each_count_to_its_evidence(client):
    html, links = page(client, "/research/")
    heatmap = html[html.index('id="heatmap"'):html.index("</table>", html.index('id="heatmap"'))]
    assert "<caption>" in heatmap and '<th scope="col">Case</th>' in heatmap and '<th scope="row">Child A</th>' in heatmap
    evidence_links = [h for h in links.hrefs() if h.startswith("/research/evidence/")]
    target = next(h for h in evidence_links if "information_sharing" in h and "case=Child+A" in h)
    evidence_html, _ = page(client, target)
    assert "Second review of Child A" in evidence_html and "Review of Child A" in evidence_html
    assert "Review of Child B" not in evidence_html
    assert re.search(r'id="evidence-count"><strong>2</strong> passages in <strong>2</strong> reports', evidence_html)
    # A zero is not a link: there is nothing behind it.
    assert not any("missed_warning_signs" in h and "Child+B" in h for h in evidence_links)


def test_dashboard_prevalence_bars_and_trend_chart_have_tables_and_text_alternatives(client):
    html, links = page(client, "/research/?theme=information_sharing&theme=neglect")
    assert '<meter min="0" max="4" value="3"' in html  # information sharing: 3 of 4 reports
    svg = html[html.index("<svg class=\"chart\""):html.index("</svg>", html.index("<svg class=\"chart\""))]
    assert 'role="img"' in svg and 'aria-labelledby="trend-title trend-desc"' in svg
    assert '<title id="trend-title">' in svg and '<desc id="trend-desc">' in svg
    assert svg.count("<polyline") == 2 and "Information sharing" in svg
    trends = html[html.index('id="trends"'):]
    assert "<caption>" in trends and '<th scope="row">2010</th>' in trends and '<th scope="row">2012</th>' in trends
    assert "(2 reports, 2 passages)" in trends  # information sharing in 2010: the share and what it rests on


def test_every_download_link_serves_its_file(client):
    _, links = page(client, "/research/")
    downloads = [h for t, a in links.tags if t == "a" and "download" in a for h in [a["href"]]]
    assert len(downloads) >= 8
    for href in downloads:
        response = client.get(href)
        assert response.status_code == 200, href
        if urlparse(href).path.endswith(".csv"):
            rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
            assert rows and rows[0], href
    matrix = next(h for h in downloads if "table=matrix" in h)
    rows = list(csv.reader(io.StringIO(client.get(matrix).get_data(as_text=True))))
    child_a = dict(zip(rows[0], next(r for r in rows if r[0] == "Child A")))
    assert child_a["information_sharing"] == "2"


def test_counting_rules_flow_into_the_numbers_and_links(client):
    html, links = page(client, "/research/?unit=documents&min_score=0.75&include_names=1&basis=incident&span=5")
    assert "score of at least 0.75" in html
    csv_links = [h for h in links.hrefs() if "/api/v1/exports/" in h]
    for href in csv_links:
        if "before_incident" in href:
            continue
        args = parse_qs(urlparse(href).query)
        assert args["min_score"] == ["0.75"] and args["unit"] == ["documents"] and args["include_names"] == ["1"]
    assert client.get("/research/?min_score=lots").status_code == 400
    assert client.get("/research/?unit=pages").status_code == 400
    assert client.get("/research/?theme=no_such_theme").status_code == 404


def test_evidence_page_for_a_theme(client):
    html, links = page(client, "/research/evidence/neglect")
    assert "Evidence: " in html and "Review of Child B" in html and "-2 Thematic review" in html
    assert any(h.startswith("/api/v1/exports/evidence.csv?") and "theme=neglect" in h for h in links.hrefs())
    assert client.get("/research/evidence/no_such_theme").status_code == 404
    html, _ = page(client, "/research/evidence/neglect?case=Nobody")
    assert "No passage is counted" in html


def test_pages_load_nothing_remote_and_use_no_inline_styles(client):
    for url in ("/research/", "/research/evidence/neglect?case=Child+B"):
        response = client.get(url)
        html = response.get_data(as_text=True)
        parser = Links()
        parser.feed(html)
        assert not [a for _, a in parser.tags if "style" in a]
        assert "<style" not in html and "<script>" not in html
        for tag, attrs in parser.tags:
            for name in ("src", "href"):
                assert not attrs.get(name, "").startswith(("http:", "https:", "//")), (tag, attrs)
        assert "Content-Security-Policy" in response.headers
    with client.get("/static/scrkb.css") as css:  # the heatmap's shades come from the app's own stylesheet
        assert css.status_code == 200 and css.mimetype == "text/css" and ".heat-5" in css.get_data(as_text=True)


def test_dashboard_is_in_the_navigation(client):
    html, links = page(client, "/")
    assert "/research/" in links.hrefs() and ">Dashboard<" in html
