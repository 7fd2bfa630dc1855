"""`scrkb fetch`: catalogue URLs downloaded over real HTTP from servers on 127.0.0.1, never the internet.

The routes beyond a row's own link (GOV.UK, landing pages, the Internet Archive) are in test_fetch_routes.py.
"""

import csv
import hashlib
import json
from datetime import datetime

import pytest
from conftest import run_cli
from fake_web import Archive, Site
from pdfs import Heading, Para, ReportSpec, build_report, child_s_review

from kb import KnowledgeBase, Settings
from kb.sources.fetch import Sources, fetch_catalogue, select_entries
from kb.sources.report_catalogue import COLUMNS, ReportCatalogue

TIMEOUT = 2.0  # seconds per connect or read; only the silent server ever reaches it
FAKE_PDF = b"<!doctype html><html><body>Sign in to download this report</body></html>\n"


@pytest.fixture(scope="module")
def pdfs(tmp_path_factory):
    """Three distinct report PDFs, as bytes."""
    folder = tmp_path_factory.mktemp("served")
    child_t = ReportSpec(title="Serious Case Review: Child T", header="Serious Case Review: Child T", body=[
        Heading("1. Findings"),
        Para(["1.1 The school nurse raised concerns about the weight of Child T, but no", "referral followed."]),
    ])
    family_u = ReportSpec(title="Child Safeguarding Practice Review: Family U", header="Family U", body=[
        Heading("1. Learning"),
        Para(["1.1 Agencies held pieces of the picture and nobody joined the dots."]),
    ])
    return {
        "a": build_report(folder / "a.pdf", child_s_review()).read_bytes(),
        "b": build_report(folder / "b.pdf", child_t).read_bytes(),
        "c": build_report(folder / "c.pdf", family_u).read_bytes(),
    }


@pytest.fixture
def server(pdfs):
    """A site serving the files (a.pdf ignores Range; b.pdf honours it) and the failures."""
    site = Site()
    site.pdf("/reports/a.pdf?download=1", pdfs["a"])
    site.ranged("/reports/b.pdf", pdfs["b"])
    site.redirect("/go/c", "/download?report=c")
    site.pdf("/download?report=c", pdfs["c"])
    site.pdf("/fake.pdf", FAKE_PDF)
    site.silent("/slow.pdf")
    site.flaky("/flaky.pdf", pdfs["b"])
    yield site
    site.close()


@pytest.fixture
def archive():
    """An Internet Archive that holds nothing: dead addresses are looked up there, never on the internet."""
    wayback = Archive()
    yield wayback
    wayback.close()


@pytest.fixture
def catalogue(tmp_path, server):
    """A catalogue whose failing rows come first, so a failure visibly does not stop the rest."""
    rows = [
        ("gone", server.base + "/missing.pdf"),
        ("slow", server.base + "/slow.pdf"),
        ("fake", server.base + "/fake.pdf"),
        ("a", server.base + "/reports/a.pdf?download=1"),
        ("b", server.base + "/reports/b.pdf"),
        ("c", server.base + "/go/c"),
        ("flaky", server.base + "/flaky.pdf"),
        ("local", "file:///etc/hostname"),
        ("unlisted", ""),
    ]
    path = tmp_path / "catalogue.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, COLUMNS)
        writer.writeheader()
        for entry_id, url in rows:
            writer.writerow({
                "id": entry_id, "case": f"Case {entry_id.upper()}", "title": f"Catalogue title of {entry_id}",
                "review_type": "serious case review", "area": "Riverton", "year_published": "2021", "url": url,
            })
    return path


def fetch(catalogue, dest, *only, archive, timeout=TIMEOUT):
    sources = Sources(govuk_api="http://127.0.0.1:9/unused", wayback=archive.base)
    return fetch_catalogue(select_entries(ReportCatalogue.load(catalogue), only), dest, timeout, sources=sources)


def local_sources(archive) -> dict[str, str]:
    """The settings that keep `scrkb fetch` on this machine."""
    return {"SCRKB_WAYBACK_URL": archive.base, "SCRKB_GOVUK_API": "http://127.0.0.1:9/unused"}


def test_fetch_downloads_pdfs_reports_every_failure_and_writes_the_manifest(tmp_path, server, archive, catalogue, pdfs):
    dest = tmp_path / "downloads"
    result = run_cli(
        "fetch", "--catalogue", str(catalogue), "--dest", str(dest), "--timeout", str(TIMEOUT), "--json",
        home=tmp_path / "kb", check=False, env=local_sources(archive),
    )
    assert result.returncode == 3, result.stderr
    summary = json.loads(result.stdout)
    assert summary["fetched"] == 3 and summary["unchanged"] == 0
    assert summary["dest"] == str(dest)
    assert {(s["id"], s["reason"]) for s in summary["skipped"]} == {
        ("local", "not an http(s) link"), ("unlisted", "no URL"),
    }
    failed = {f["id"]: f for f in summary["failed"]}
    assert {i: f["reason"] for i, f in failed.items()} == {
        "gone": "HTTP 404", "slow": "timeout", "fake": "not a PDF", "flaky": "incomplete",
    }
    assert failed["gone"]["url"] == server.base + "/missing.pdf"
    # A dead address is looked up in the archive; a slow or interrupted one is not dead.
    assert [(a["route"], a["reason"]) for a in failed["gone"]["attempts"]] == [
        ("direct", "HTTP 404"), ("archive", "not archived"),
    ]
    assert [a["route"] for a in failed["fake"]["attempts"]] == ["direct", "archive"]
    assert [a["route"] for a in failed["slow"]["attempts"]] == ["direct"]
    assert [a["route"] for a in failed["flaky"]["attempts"]] == ["direct"]
    assert {f["route"] for f in summary["files"]} == {"direct"}

    # A file cut short stays as a .part to resume; one that is not a PDF leaves nothing.
    assert sorted(p.name for p in dest.iterdir()) == ["a.pdf", "b.pdf", "c.pdf", "flaky.pdf.part", "manifest.json"]
    manifest = json.loads((dest / "manifest.json").read_text())
    assert manifest["partial"] == {"flaky.pdf.part": server.base + "/flaky.pdf"}
    for entry_id in "abc":
        data = (dest / f"{entry_id}.pdf").read_bytes()
        assert data == pdfs[entry_id]
        listed = manifest["files"][f"{entry_id}.pdf"]
        assert listed["id"] == entry_id and listed["size"] == len(data) and listed["route"] == "direct"
        assert listed["sha256"] == hashlib.sha256(data).hexdigest()
        assert datetime.fromisoformat(listed["fetched_at"]).utcoffset().total_seconds() == 0
        assert "captured_at" not in listed
    # The address asked for, and the one the bytes came from after the redirect.
    assert manifest["files"]["c.pdf"]["asked_url"] == server.base + "/go/c"
    assert manifest["files"]["c.pdf"]["fetched_url"] == server.base + "/download?report=c"
    assert {"/go/c", "/download?report=c"} <= set(server.paths())


def test_a_second_run_sends_no_request_for_files_already_fetched(tmp_path, server, archive, catalogue):
    dest = tmp_path / "downloads"
    first = fetch(catalogue, dest, "a,b,c", "gone", archive=archive)
    assert first.count("fetched") == 3
    server.requests.clear()
    again = fetch(catalogue, dest, "a,b,c", "gone", archive=archive)
    assert again.count("unchanged") == 3 and again.count("fetched") == 0
    assert server.paths() == ["/missing.pdf"]  # only the failure is tried again


def test_a_manifest_from_before_routes_still_counts_as_unchanged(tmp_path, server, archive, catalogue, pdfs):
    dest = tmp_path / "downloads"
    dest.mkdir()
    (dest / "a.pdf").write_bytes(pdfs["a"])
    (dest / "manifest.json").write_text(json.dumps({"files": {"a.pdf": {
        "id": "a", "url": server.base + "/reports/a.pdf?download=1", "sha256": hashlib.sha256(pdfs["a"]).hexdigest(),
        "size": len(pdfs["a"]), "fetched_at": "2024-01-02T03:04:05Z",
    }}}))
    report = fetch(catalogue, dest, "a", archive=archive)
    assert report.count("unchanged") == 1 and server.requests == []
    provenance = ReportCatalogue.load(catalogue).provenance(dest / "a.pdf", hashlib.sha256(pdfs["a"]).hexdigest())
    assert provenance.summary == f"Downloaded from {server.base}/reports/a.pdf?download=1"


def test_a_changed_file_on_disk_is_fetched_again(tmp_path, server, archive, catalogue, pdfs):
    dest = tmp_path / "downloads"
    fetch(catalogue, dest, "a", archive=archive)
    (dest / "a.pdf").write_bytes(pdfs["a"][:-1] + b" ")  # same size, different bytes
    again = fetch(catalogue, dest, "a", archive=archive)
    assert again.count("fetched") == 1 and (dest / "a.pdf").read_bytes() == pdfs["a"]


def test_a_part_file_is_resumed_with_a_range_request(tmp_path, server, archive, catalogue, pdfs):
    dest = tmp_path / "downloads"
    dest.mkdir()
    half = len(pdfs["b"]) // 2
    (dest / "b.pdf.part").write_bytes(pdfs["b"][:half])
    report = fetch(catalogue, dest, "b", archive=archive)
    assert report.results[0].status == "fetched" and report.results[0].resumed
    assert server.requests == [("/reports/b.pdf", f"bytes={half}-")]
    assert (dest / "b.pdf").read_bytes() == pdfs["b"]
    assert not (dest / "b.pdf.part").exists()
    manifest = json.loads((dest / "manifest.json").read_text())
    assert manifest["files"]["b.pdf"]["sha256"] == hashlib.sha256(pdfs["b"]).hexdigest()
    assert manifest["partial"] == {}


def test_a_download_cut_short_is_kept_and_resumed_next_time(tmp_path, server, archive, catalogue, pdfs):
    dest = tmp_path / "downloads"
    first = fetch(catalogue, dest, "flaky", archive=archive)
    assert [(r.status, r.reason) for r in first.results] == [("failed", "incomplete")]
    assert (dest / "flaky.pdf.part").read_bytes() == pdfs["b"][: len(pdfs["b"]) // 2]
    assert not (dest / "flaky.pdf").exists()
    again = fetch(catalogue, dest, "flaky", archive=archive)
    assert again.count("fetched") == 1 and again.results[0].resumed
    assert server.requests[-1] == ("/flaky.pdf", f"bytes={len(pdfs['b']) // 2}-")
    assert (dest / "flaky.pdf").read_bytes() == pdfs["b"]


def test_a_part_from_another_address_is_not_spliced_onto(tmp_path, server, archive, catalogue, pdfs):
    dest = tmp_path / "downloads"
    dest.mkdir()
    (dest / "b.pdf.part").write_bytes(pdfs["a"][:100])
    (dest / "manifest.json").write_text(json.dumps({"files": {}, "partial": {"b.pdf.part": server.base + "/elsewhere.pdf"}}))
    report = fetch(catalogue, dest, "b", archive=archive)
    assert report.count("fetched") == 1 and not report.results[0].resumed
    assert server.requests == [("/reports/b.pdf", None)]
    assert (dest / "b.pdf").read_bytes() == pdfs["b"]


def test_a_server_ignoring_range_gives_a_full_download(tmp_path, server, archive, catalogue, pdfs):
    dest = tmp_path / "downloads"
    dest.mkdir()
    (dest / "a.pdf.part").write_bytes(b"stale bytes from another version " * 20)
    report = fetch(catalogue, dest, "a", archive=archive)
    assert report.count("fetched") == 1 and not report.results[0].resumed
    assert server.requests[0][1] is not None  # it asked for a range, and got the whole file
    assert (dest / "a.pdf").read_bytes() == pdfs["a"]


def test_a_part_longer_than_the_file_starts_over(tmp_path, server, archive, catalogue, pdfs):
    dest = tmp_path / "downloads"
    dest.mkdir()
    (dest / "b.pdf.part").write_bytes(pdfs["b"] + b"trailing junk")
    report = fetch(catalogue, dest, "b", archive=archive)
    assert report.count("fetched") == 1
    assert [r[1] for r in server.requests] == [f"bytes={len(pdfs['b']) + 13}-", None]
    assert (dest / "b.pdf").read_bytes() == pdfs["b"]


def test_only_restricts_the_rows_and_rejects_unknown_ids(tmp_path, server, archive, catalogue):
    dest = tmp_path / "downloads"
    result = run_cli(
        "fetch", "--catalogue", str(catalogue), "--dest", str(dest), "--only", "b", "--only", "local", "--json",
        home=tmp_path / "kb", env=local_sources(archive),
    )
    summary = json.loads(result.stdout)
    assert summary["fetched"] == 1 and summary["failed"] == []
    assert summary["skipped"] == [{"id": "local", "reason": "not an http(s) link"}]
    assert server.paths() == ["/reports/b.pdf"]

    unknown = run_cli("fetch", "--catalogue", str(catalogue), "--only", "nope", home=tmp_path / "kb", check=False)
    assert unknown.returncode == 2 and "nope" in unknown.stderr


def test_fetched_files_are_ingested_with_their_catalogue_rows(tmp_path, server, archive, catalogue):
    dest = tmp_path / "downloads"
    assert fetch(catalogue, dest, "a", "b", archive=archive).count("fetched") == 2
    home = tmp_path / "kb"
    result = run_cli("ingest", str(dest), "--json", home=home, env={"SCRKB_CATALOGUE": str(catalogue)})
    summary = json.loads(result.stdout)
    assert summary["ingested"] == 2 and summary["failed"] == []

    kb = KnowledgeBase(Settings(home=home, catalogue=catalogue))
    described = {d.meta.catalogue_id: d for d in kb.documents()}
    assert set(described) == {"a", "b"}
    for entry_id, document in described.items():
        meta = document.meta
        # The PDFs state other titles; the catalogue row wins.
        assert meta.title == f"Catalogue title of {entry_id}" and meta.case == f"Case {entry_id.upper()}"
        assert meta.source == "catalogue" and meta.url.startswith(server.base)
        assert document.provenance.route == "direct" and document.provenance.asked_url == meta.url
        assert document.provenance.sha256 == document.sha256
