"""The web app's home page reports what the store holds."""

from webapp import create_app


def test_home_shows_document_and_passage_counts(ingested):
    client = create_app(ingested, {"TESTING": True}).test_client()
    page = client.get("/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    stats = ingested.stats()
    assert f'<dd id="documents">{stats["documents"]}</dd>' in html
    assert f'<dd id="passages">{stats["passages"]}</dd>' in html
    assert "Serious Case Review: Child S" in html
