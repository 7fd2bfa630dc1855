"""`scrkb fetch`: catalogue URLs downloaded over real HTTP from a server on 127.0.0.1, never the internet."""

import csv
import hashlib
import json
import threading
import time
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from conftest import run_cli
from pdfs import Heading, Para, ReportSpec, build_report, child_s_review

from kb import KnowledgeBase, Settings
from kb.sources.fetch import fetch_catalogue, select_entries
from kb.sources.report_catalogue import COLUMNS, ReportCatalogue

SLOW_SECONDS = 1.5  # longer than the 1-second --timeout the tests use
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


class Server:
    """What the handler serves, and every request it was sent (method, path, Range header)."""

    def __init__(self, pdfs):
        self.pdfs = pdfs
        self.requests = []
        self.base = ""

    def gets(self, path):
        return [r for r in self.requests if r[1] == path]


def make_handler(server: Server):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            server.requests.append(("GET", self.path, self.headers.get("Range")))
            routes = {
                # a.pdf ignores Range; b.pdf honours it.
                "/reports/a.pdf?download=1": lambda: self.send(200, "application/pdf", server.pdfs["a"]),
                "/reports/b.pdf": lambda: self.ranged(server.pdfs["b"]),
                "/go/c": lambda: self.redirect("/download?report=c"),
                "/download?report=c": lambda: self.send(200, "application/pdf", server.pdfs["c"]),
                "/fake.pdf": lambda: self.send(200, "application/pdf", FAKE_PDF),
                "/about-the-review": lambda: self.send(200, "text/html; charset=utf-8", b"<html></html>"),
                "/slow.pdf": self.slow,
                "/flaky.pdf": self.flaky,
            }
            routes.get(self.path, lambda: self.send(404, "text/plain", b"not found"))()

        def send(self, status, kind, body, headers=()):
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            for name, value in headers:
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def ranged(self, body):
            asked = self.headers.get("Range")
            if not asked:
                return self.send(200, "application/pdf", body, [("Accept-Ranges", "bytes")])
            start = int(asked.removeprefix("bytes=").split("-")[0])
            if start >= len(body):
                return self.send(416, "text/plain", b"", [("Content-Range", f"bytes */{len(body)}")])
            self.send(206, "application/pdf", body[start:], [
                ("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}"),
            ])

        def flaky(self):
            """The first answer stops halfway; later ones honour Range."""
            body = server.pdfs["b"]
            if len(server.gets("/flaky.pdf")) > 1:
                return self.ranged(body)
            self.send_response(200)
            self.send_header("Content-Type", "application/pdf")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])

        def redirect(self, location):
            self.send(302, "text/plain", b"", [("Location", location)])

        def slow(self):
            time.sleep(SLOW_SECONDS)
            try:
                self.send(200, "application/pdf", server.pdfs["a"])
            except OSError:
                pass  # the client gave up waiting, as it should

        def log_message(self, *args):
            pass

    return Handler


@pytest.fixture
def server(pdfs):
    state = Server(pdfs)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(state))
    state.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield state
    httpd.shutdown()
    httpd.server_close()


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
        ("landing", server.base + "/government/publications/national-review-of-child-u"),
        ("about", server.base + "/about-the-review"),
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


def fetch(catalogue, dest, *only, timeout=1.0):
    return fetch_catalogue(select_entries(ReportCatalogue.load(catalogue), only), dest, timeout)


def test_fetch_downloads_pdfs_reports_every_failure_and_writes_the_manifest(tmp_path, server, catalogue, pdfs):
    dest = tmp_path / "downloads"
    result = run_cli(
        "fetch", "--catalogue", str(catalogue), "--dest", str(dest), "--timeout", "1", "--json",
        home=tmp_path / "kb", check=False,
    )
    assert result.returncode == 3, result.stderr
    summary = json.loads(result.stdout)
    assert summary["fetched"] == 3 and summary["unchanged"] == 0
    assert summary["dest"] == str(dest)
    assert {(s["id"], s["reason"]) for s in summary["skipped"]} == {
        ("landing", "not a PDF link"), ("about", "not a PDF link"),
        ("local", "not an http(s) link"), ("unlisted", "no URL"),
    }
    failed = {f["id"]: f for f in summary["failed"]}
    assert {i: f["reason"] for i, f in failed.items()} == {
        "gone": "HTTP 404", "slow": "timeout", "fake": "not a PDF", "flaky": "incomplete",
    }
    assert failed["gone"]["url"] == server.base + "/missing.pdf"

    # A file cut short stays as a .part to resume; one that is not a PDF leaves nothing.
    assert sorted(p.name for p in dest.iterdir()) == ["a.pdf", "b.pdf", "c.pdf", "flaky.pdf.part", "manifest.json"]
    manifest = json.loads((dest / "manifest.json").read_text())["files"]
    for entry_id in "abc":
        data = (dest / f"{entry_id}.pdf").read_bytes()
        assert data == pdfs[entry_id]
        listed = manifest[f"{entry_id}.pdf"]
        assert listed["id"] == entry_id and listed["size"] == len(data)
        assert listed["sha256"] == hashlib.sha256(data).hexdigest()
        assert datetime.fromisoformat(listed["fetched_at"]).utcoffset().total_seconds() == 0
    assert manifest["c.pdf"]["url"] == server.base + "/go/c"
    # Landing pages and local files are never requested; the redirect was followed.
    paths = {r[1] for r in server.requests}
    assert "/government/publications/national-review-of-child-u" not in paths
    assert {"/go/c", "/download?report=c"} <= paths


def test_a_second_run_sends_no_request_for_files_already_fetched(tmp_path, server, catalogue):
    dest = tmp_path / "downloads"
    first = fetch(catalogue, dest, "a,b,c", "gone")
    assert first.count("fetched") == 3
    server.requests.clear()
    again = fetch(catalogue, dest, "a,b,c", "gone")
    assert again.count("unchanged") == 3 and again.count("fetched") == 0
    assert [r[1] for r in server.requests] == ["/missing.pdf"]  # only the failure is tried again


def test_a_changed_file_on_disk_is_fetched_again(tmp_path, server, catalogue, pdfs):
    dest = tmp_path / "downloads"
    fetch(catalogue, dest, "a")
    (dest / "a.pdf").write_bytes(pdfs["a"][:-1] + b" ")  # same size, different bytes
    again = fetch(catalogue, dest, "a")
    assert again.count("fetched") == 1 and (dest / "a.pdf").read_bytes() == pdfs["a"]


def test_a_part_file_is_resumed_with_a_range_request(tmp_path, server, catalogue, pdfs):
    dest = tmp_path / "downloads"
    dest.mkdir()
    half = len(pdfs["b"]) // 2
    (dest / "b.pdf.part").write_bytes(pdfs["b"][:half])
    report = fetch(catalogue, dest, "b")
    assert report.results[0].status == "fetched" and report.results[0].resumed
    assert server.gets("/reports/b.pdf") == [("GET", "/reports/b.pdf", f"bytes={half}-")]
    assert (dest / "b.pdf").read_bytes() == pdfs["b"]
    assert not (dest / "b.pdf.part").exists()
    manifest = json.loads((dest / "manifest.json").read_text())["files"]
    assert manifest["b.pdf"]["sha256"] == hashlib.sha256(pdfs["b"]).hexdigest()


def test_a_download_cut_short_is_kept_and_resumed_next_time(tmp_path, server, catalogue, pdfs):
    dest = tmp_path / "downloads"
    first = fetch(catalogue, dest, "flaky")
    assert [(r.status, r.reason) for r in first.results] == [("failed", "incomplete")]
    assert (dest / "flaky.pdf.part").read_bytes() == pdfs["b"][: len(pdfs["b"]) // 2]
    assert not (dest / "flaky.pdf").exists()
    again = fetch(catalogue, dest, "flaky")
    assert again.count("fetched") == 1 and again.results[0].resumed
    assert server.gets("/flaky.pdf")[-1][2] == f"bytes={len(pdfs['b']) // 2}-"
    assert (dest / "flaky.pdf").read_bytes() == pdfs["b"]


def test_a_server_ignoring_range_gives_a_full_download(tmp_path, server, catalogue, pdfs):
    dest = tmp_path / "downloads"
    dest.mkdir()
    (dest / "a.pdf.part").write_bytes(b"stale bytes from another version " * 20)
    report = fetch(catalogue, dest, "a")
    assert report.count("fetched") == 1 and not report.results[0].resumed
    assert server.requests[0][2] is not None  # it asked for a range, and got the whole file
    assert (dest / "a.pdf").read_bytes() == pdfs["a"]


def test_a_part_longer_than_the_file_starts_over(tmp_path, server, catalogue, pdfs):
    dest = tmp_path / "downloads"
    dest.mkdir()
    (dest / "b.pdf.part").write_bytes(pdfs["b"] + b"trailing junk")
    report = fetch(catalogue, dest, "b")
    assert report.count("fetched") == 1
    assert [r[2] for r in server.gets("/reports/b.pdf")] == [f"bytes={len(pdfs['b']) + 13}-", None]
    assert (dest / "b.pdf").read_bytes() == pdfs["b"]


def test_only_restricts_the_rows_and_rejects_unknown_ids(tmp_path, server, catalogue):
    dest = tmp_path / "downloads"
    result = run_cli(
        "fetch", "--catalogue", str(catalogue), "--dest", str(dest), "--only", "b", "--only", "landing", "--json",
        home=tmp_path / "kb",
    )
    summary = json.loads(result.stdout)
    assert summary["fetched"] == 1 and summary["failed"] == []
    assert summary["skipped"] == [{"id": "landing", "reason": "not a PDF link"}]
    assert [r[1] for r in server.requests] == ["/reports/b.pdf"]

    unknown = run_cli("fetch", "--catalogue", str(catalogue), "--only", "nope", home=tmp_path / "kb", check=False)
    assert unknown.returncode == 2 and "nope" in unknown.stderr


def test_fetched_files_are_ingested_with_their_catalogue_rows(tmp_path, server, catalogue):
    dest = tmp_path / "downloads"
    assert fetch(catalogue, dest, "a", "b").count("fetched") == 2
    home = tmp_path / "kb"
    result = run_cli("ingest", str(dest), "--json", home=home, env={"SCRKB_CATALOGUE": str(catalogue)})
    summary = json.loads(result.stdout)
    assert summary["ingested"] == 2 and summary["failed"] == []

    kb = KnowledgeBase(Settings(home=home, catalogue=catalogue))
    described = {d.meta.catalogue_id: d.meta for d in kb.documents()}
    assert set(described) == {"a", "b"}
    for entry_id, meta in described.items():
        # The PDFs state other titles; the catalogue row wins.
        assert meta.title == f"Catalogue title of {entry_id}" and meta.case == f"Case {entry_id.upper()}"
        assert meta.source == "catalogue" and meta.url.startswith(server.base)
