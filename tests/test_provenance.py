"""Where a fetched file came from: read from the manifest, kept in the store, said in a sentence."""

import csv
import json

from kb.models import Provenance
from kb.sources.report_catalogue import ReportCatalogue, provenance_from
from kb.store.catalogue import Catalogue


def test_each_route_is_said_in_a_sentence():
    pdf = "https://lscb.example.org/child-x.pdf"
    assert Provenance("archive", pdf, f"https://web.archive.org/web/20160312101500id_/{pdf}",
                      captured_at="2016-03-12T10:15:00Z").summary == f"Internet Archive copy of 12 March 2016 of {pdf}"
    page = "https://www.gov.uk/government/publications/child-u"
    assert Provenance("govuk", pdf, pdf, page, "Child U: national review").summary == (
        f"GOV.UK attachment 'Child U: national review' of {page}")
    assert Provenance("landing", pdf, pdf, "https://council.example/child-x", "Child X report").summary == (
        "Linked as 'Child X report' from https://council.example/child-x")
    assert Provenance("direct", pdf, pdf).summary == f"Downloaded from {pdf}"
    assert Provenance("direct", "https://x.example/go", pdf).summary == f"Downloaded from https://x.example/go (redirected to {pdf})"


def test_a_catalogue_without_the_new_columns_is_still_read(tmp_path):
    path = tmp_path / "old.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id", "case", "title", "url", "licence"])
        writer.writerow(["a", "Child A", "Review of Child A", "https://x.example/a.pdf", ""])
    entry = ReportCatalogue.load(path).get("a")
    assert entry.url == "https://x.example/a.pdf" and entry.landing_url is None and entry.source is None


def test_provenance_is_read_only_for_the_bytes_the_manifest_lists(tmp_path):
    (tmp_path / "a.pdf").write_bytes(b"%PDF-1.4 test")
    (tmp_path / "manifest.json").write_text(json.dumps({"files": {"a.pdf": {
        "id": "a", "route": "direct", "asked_url": "https://x.example/a.pdf", "fetched_url": "https://x.example/a.pdf",
        "sha256": "abc", "size": 13, "fetched_at": "2025-01-01T00:00:00Z", "added_by_a_later_version": True,
    }}}))
    catalogue = ReportCatalogue()
    assert catalogue.provenance(tmp_path / "a.pdf", "abc").asked_url == "https://x.example/a.pdf"
    assert catalogue.provenance(tmp_path / "a.pdf", "another hash") is None  # the file changed since
    assert catalogue.provenance(tmp_path / "b.pdf", "abc") is None
    assert provenance_from({"id": "a", "url": "https://x.example/a.pdf"}).route == "direct"  # a manifest from before routes
    assert provenance_from({"id": "a"}) is None


def test_a_store_made_before_provenance_gains_the_column(tmp_path):
    catalogue = Catalogue(tmp_path / "old.sqlite3")
    catalogue.db.execute("ALTER TABLE documents DROP COLUMN provenance")
    catalogue.db.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")  # as the ops release made it
    catalogue.close()
    reopened = Catalogue(tmp_path / "old.sqlite3")
    assert "provenance" in {row["name"] for row in reopened.db.execute("PRAGMA table_info(documents)")}
    Catalogue(tmp_path / "old.sqlite3").close()  # and again: adding it is idempotent
