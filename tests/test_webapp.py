"""The web pages over a small store: status, content, escaping, and helpful errors."""

import re

import pytest

from webapp import create_app


@pytest.fixture(scope="module")
def client(ingested):
    return create_app(ingested, {"TESTING": True}).test_client()


@pytest.fixture(scope="module")
def doc(ingested):
    return ingested.documents()[0]


def html(response) -> str:
    return response.get_data(as_text=True)


def test_home_shows_what_the_store_holds(client, ingested):
    page = html(client.get("/"))
    stats = ingested.stats()
    assert f'<dd id="documents">{stats["documents"]}</dd>' in page
    assert f'<dd id="passages">{stats["passages"]}</dd>' in page
    assert 'role="search"' in page and "Serious Case Review: Child S" in page


def test_the_navigation_marks_the_area_the_page_belongs_to(client, doc):
    for url, current in (("/themes/neglect", "Themes"), (f"/documents/{doc.doc_id}", "Reports"), ("/search", "Search")):
        marked = re.findall(r'<a href="[^"]*" aria-current="page">([^<]+)</a>', html(client.get(url)))
        assert marked == [current], url
    assert 'aria-current="page"' not in html(client.get("/"))


def test_search_page_shows_highlighted_cited_hits(client, doc):
    response = client.get("/search?q=mother%27s+partner+never+assessed")
    page = html(response)
    assert response.status_code == 200
    assert "<mark>" in page and '<strong class="best">' in page
    assert f"/documents/{doc.doc_id}/pages/2?passage=" in page  # the citation opens the page
    assert "More like this" in page
    assert 'name="theme"' in page and "Information sharing" in page  # the filter panel


def test_search_filters_stay_in_the_url_and_pagination_keeps_them(client):
    page = html(client.get("/search?q=the&theme=information_sharing&mode=keyword"))
    assert 'value="information_sharing" checked' in page
    assert 'value="keyword" checked' in page


def test_empty_result_suggests_what_to_change(client):
    page = html(client.get("/search?q=zebra+crossing+aviation&mode=keyword&theme=neglect"))
    assert "No passages match “zebra crossing aviation” with these filters" in page and "without filters" in page


@pytest.mark.parametrize("url, status", [
    ("/search?q=x&theme=not_a_theme", 400),
    ("/search?q=x&section=%24where", 400),
    ("/search?q=x&year_from=abc", 400),
    ("/search?q=x&mode=magic", 400),
    ("/search?q=" + "a" * 600, 400),
    ("/search?q=x&page=999", 400),
    ("/documents/nope", 404),
    ("/documents/nope/pages/1", 404),
    ("/themes/nope", 404),
    ("/passages/nope/similar", 404),
    ("/no/such/page", 404),
])
def test_bad_requests_get_a_helpful_page_not_a_trace(client, url, status):
    response = client.get(url)
    assert response.status_code == status
    assert "Traceback" not in html(response) and "<h1>" in html(response)


def test_document_page_lists_metadata_themes_agencies_and_passages(client, doc, ingested):
    page = html(client.get(f"/documents/{doc.doc_id}"))
    assert "Serious Case Review: Child S" in page
    assert "Themes found" in page and "Agencies and roles named" in page
    assert "health visitor" in page and "police" in page
    for passage in ingested.passages(doc.doc_id):
        assert f'id="{passage.passage_id}"' in page


def test_page_viewer_outlines_the_cited_passage(client, doc, ingested):
    passage = next(p for p in ingested.passages(doc.doc_id) if "not seen alone" in p.text)
    page = html(client.get(f"/documents/{doc.doc_id}/pages/{passage.page_start}?passage={passage.passage_id}"))
    assert "cited passage is outlined" in page
    # On a phone the page is shrunk to the screen; the image opens at full size, outline and all.
    assert f'<a href="/documents/{doc.doc_id}/pages/{passage.page_start}.png?passage={passage.passage_id}" id="full-size">' in page
    image = client.get(f"/documents/{doc.doc_id}/pages/{passage.page_start}.png?passage={passage.passage_id}")
    plain = client.get(f"/documents/{doc.doc_id}/pages/{passage.page_start}.png")
    assert image.mimetype == "image/png" and image.data[:8] == b"\x89PNG\r\n\x1a\n"
    assert image.data != plain.data  # the outline is drawn into the image
    assert client.get(f"/documents/{doc.doc_id}/pages/99").status_code == 404


def test_theme_pages(client):
    listing = html(client.get("/themes"))
    assert "<meter" in listing and "Information sharing" in listing
    page = html(client.get("/themes/information_sharing"))
    assert "Strongest evidence across reports" in page and "<blockquote" in page


def test_more_like_this(client, doc, ingested):
    passage = ingested.passages(doc.doc_id)[1]
    response = client.get(f"/passages/{passage.passage_id}/similar")
    assert response.status_code == 200 and "More like this" in html(response)


def test_every_response_forbids_remote_assets_and_inline_script(client):
    response = client.get("/")
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    for url in ("/", "/search?q=police", "/themes"):
        page = html(client.get(url))
        assert not re.search(r"""(src|href)=["']https?://""", page), url
        assert not re.search(r"<script>(?!</script>)", page), url  # no inline script bodies
        assert " style=" not in page, url
