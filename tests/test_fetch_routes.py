"""`scrkb fetch` resolving rows beyond their own link: GOV.UK's Content API, landing pages, the Internet Archive.

Every address is a real HTTP server on 127.0.0.1 (tests/fake_web.py), never the internet.
"""

import csv
import html
import json

import pytest
from conftest import run_cli
from fake_web import (
    Archive,
    ContentApi,
    Site,
    attachment_section,
    file_attachment,
    publication,
    refusing_address,
)
from pdfs import Heading, Para, ReportSpec, build_report

from kb import KnowledgeBase, Settings
from kb.sources.fetch import Sources, fetch_catalogue, select_entries
from kb.sources.report_catalogue import COLUMNS, ReportCatalogue
from webapp import create_app

TIMEOUT = 2.0
GOVUK_PAGE = "https://www.gov.uk/government/publications/child-u-national-review"


@pytest.fixture(scope="module")
def pdfs(tmp_path_factory):
    """Distinct PDFs: a report and the documents published beside it."""
    folder = tmp_path_factory.mktemp("served")

    def pdf(name: str, title: str) -> bytes:
        spec = ReportSpec(title=title, header=title, body=[
            Heading("1. Learning"), Para([f"1.1 The text of {title}, written for this test."]),
        ])
        return build_report(folder / f"{name}.pdf", spec).read_bytes()

    return {name: pdf(name, title) for name, title in {
        "report": "Child U: national review of practice",
        "annex": "Annex A: methodology",
        "easy": "Easy read version",
        "summary": "Executive summary",
        "overview": "Serious Case Review: Child V, overview report",
        "plan": "Action plan",
        "archived": "Serious Case Review: Child X",
    }.items()}


@pytest.fixture
def web():
    site, api, archive = Site(), ContentApi(), Archive()
    yield site, api, archive
    for server in (site, api, archive):
        server.close()


def write_catalogue(path, rows: list[dict]):
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, COLUMNS)
        writer.writeheader()
        for row in rows:
            writer.writerow({"review_type": "serious case review", "year_published": "2022", **row})
    return path


def fetch(tmp_path, web, rows: list[dict], max_bytes: int = 1 << 30):
    _, api, archive = web
    catalogue = ReportCatalogue.load(write_catalogue(tmp_path / "catalogue.csv", rows))
    report = fetch_catalogue(select_entries(catalogue), tmp_path / "downloads", TIMEOUT,
                             sources=Sources(api.api, archive.base), max_bytes=max_bytes)
    return report.results[0] if len(report.results) == 1 else report


def manifest(tmp_path) -> dict:
    return json.loads((tmp_path / "downloads" / "manifest.json").read_text())


def govuk_publication(site, api, pdfs, documents_only: bool = False):
    """A GOV.UK publication offering, in this order, an annex, the report, an easy-read version and an HTML page."""
    files = [
        ("annex", "Annex A: Child U national review, methodology", "/media/1/annex-a.pdf"),
        ("report", "Child U: national review of practice", "/media/2/child-u-national-review.pdf"),
        ("easy", "Child U national review: easy read", "/media/3/child-u-easy-read.pdf"),
    ]
    for key, _, path in files:
        site.pdf(path, pdfs[key])
    attachments = [file_attachment(key, title, site.base + path, path.rsplit("/", 1)[1]) for key, title, path in files]
    attachments.append({"attachment_type": "html", "id": "html", "title": "Child U national review (web page)",
                        "url": "/government/publications/child-u-national-review/child-u-html"})
    documents = [attachment_section(key, title, site.base + path) for key, title, path in files]
    path = GOVUK_PAGE.removeprefix("https://www.gov.uk")
    api.items[path] = publication(path, "Child U: national review", [] if documents_only else attachments, documents)
    return site.base + files[1][2]


@pytest.mark.parametrize("documents_only", [False, True], ids=["attachments", "rendered-documents"])
def test_a_govuk_page_gives_its_report_not_the_annex_or_easy_read(tmp_path, web, pdfs, documents_only):
    site, api, archive = web
    report_url = govuk_publication(site, api, pdfs, documents_only)
    result = fetch(tmp_path, web, [{"id": "child-u", "case": "Child U", "title": "Child U: national review of practice",
                                    "landing_url": GOVUK_PAGE}])
    assert result.status == "fetched", result.detail
    assert (tmp_path / "downloads" / "child-u.pdf").read_bytes() == pdfs["report"]
    listed = manifest(tmp_path)["files"]["child-u.pdf"]
    assert listed["route"] == "govuk" and listed["landing_url"] == GOVUK_PAGE
    assert listed["asked_url"] == listed["fetched_url"] == report_url
    assert listed["title"] == "Child U: national review of practice"
    assert "set aside 'Annex A: Child U national review, methodology' (an annex)" in listed["chosen_because"]
    assert "(an easy-read version)" in listed["chosen_because"]
    # The page is read through the API, never scraped; only the chosen file is downloaded.
    assert api.paths() == ["/api/content/government/publications/child-u-national-review"]
    assert site.paths() == ["/media/2/child-u-national-review.pdf"]
    assert archive.requests == []


def test_a_landing_page_gives_the_link_that_matches_the_row(tmp_path, web, pdfs):
    site, _, _ = web
    site.pdf("/downloads/file/12/child-v-executive-summary", pdfs["summary"])
    overview = site.pdf("/downloads/file/13/child-v-overview", pdfs["overview"])
    site.pdf("/media/child-v-action-plan.pdf", pdfs["plan"])
    page = site.page("/safeguarding/reviews/child-v", """<!doctype html><html><body>
      <nav><a href="/">Home</a> <a href="/privacy-notice.pdf">Privacy notice (PDF)</a></nav>
      <h1>Serious case review: Child V</h1>
      <ul>
        <li><a href="/downloads/file/12/child-v-executive-summary">Child V executive summary</a> (PDF, 200KB)</li>
        <li><a href="../../downloads/file/13/child-v-overview">Child V serious case review overview report (PDF, 1.2MB)</a></li>
        <li><a href="/media/child-v-action-plan.pdf">Action plan in response to the review</a></li>
        <li><a href="mailto:lscb@example.org">Contact the board</a></li>
      </ul></body></html>""")
    result = fetch(tmp_path, web, [{"id": "child-v", "case": "Child V", "title": "Serious Case Review: Child V overview report",
                                    "landing_url": page}])
    assert result.status == "fetched", result.detail
    assert (tmp_path / "downloads" / "child-v.pdf").read_bytes() == pdfs["overview"]
    listed = manifest(tmp_path)["files"]["child-v.pdf"]
    assert listed["route"] == "landing" and listed["landing_url"] == page and listed["asked_url"] == overview
    assert listed["title"] == "Child V serious case review overview report (PDF, 1.2MB)"
    assert listed["chosen_because"].startswith("chose 'Child V serious case review overview report")
    assert "'Child V executive summary' (a summary)" in listed["chosen_because"]
    assert site.paths() == ["/safeguarding/reviews/child-v", "/downloads/file/13/child-v-overview"]


@pytest.mark.parametrize("links, why", [
    (["Annual report 2019 to 2020", "Business plan"], "nothing matches the catalogue's title well enough"),
    (["Child W review report, part 1", "Child W review report, part 2"], "match the catalogue's title equally well"),
], ids=["no-match", "tie"])
def test_a_landing_page_without_a_clear_match_is_refused_not_guessed(tmp_path, web, pdfs, links, why):
    site, _, archive = web
    items = "".join(f'<li><a href="/files/{i}.pdf">{text}</a></li>' for i, text in enumerate(links))
    page = site.page("/reviews/child-w", f"<html><body><ul>{items}</ul></body></html>")
    result = fetch(tmp_path, web, [{"id": "child-w", "case": "Child W", "title": "Child W review report",
                                    "landing_url": page}])
    assert result.status == "failed" and result.reason == "no matching file"
    assert why in result.detail and links[0] in result.detail
    # An older copy of the page might still link the report: the archive is asked, and has none.
    assert [(a.route, a.reason) for a in result.attempts] == [("landing", "no matching file"), ("archive", "not archived")]
    assert site.paths() == ["/reviews/child-w"]  # no file was downloaded on a guess
    assert sorted(p.name for p in (tmp_path / "downloads").iterdir()) == []


@pytest.mark.parametrize("death", ["404", "410", "refused", "parked", "html-as-pdf"])
def test_a_dead_address_is_fetched_from_the_newest_pdf_capture(tmp_path, web, pdfs, death):
    site, _, archive = web
    refusing = None
    if death == "refused":
        base, refusing = refusing_address()
        url = base + "/old/report.pdf"
    elif death in ("404", "410"):
        url = site.gone("/old/report.pdf", int(death))
    elif death == "parked":
        url = site.page("/old/report.pdf", "<html><body>This domain may be for sale.</body></html>")
    else:
        url = site.pdf("/old/report.pdf", b"<html><body>Page not found</body></html>")
    archive.capture(url, "20150101000000", pdfs["annex"])  # an older PDF capture: not the newest
    archive.capture(url, "20160312101500", pdfs["report"])
    archive.capture(url, "20180101000000", b"<html>Error</html>")  # listed as a PDF, but not one
    archive.capture(url, "20200101000000", b"<html>For sale</html>", mimetype="text/html")
    try:
        result = fetch(tmp_path, web, [{"id": "old", "case": "Child U", "title": "Child U review", "url": url}])
    finally:
        if refusing:
            refusing.close()
    assert result.status == "fetched", result.detail
    assert (tmp_path / "downloads" / "old.pdf").read_bytes() == pdfs["report"]
    listed = manifest(tmp_path)["files"]["old.pdf"]
    assert listed["route"] == "archive" and listed["asked_url"] == url
    assert listed["fetched_url"] == f"{archive.base}/web/20160312101500id_/{url}"
    assert listed["captured_at"] == "2016-03-12T10:15:00Z"
    assert "(1 newer were not)" in listed["chosen_because"]
    provenance = ReportCatalogue.load(tmp_path / "catalogue.csv").provenance(
        tmp_path / "downloads" / "old.pdf", listed["sha256"])
    assert provenance.summary == f"Internet Archive copy of 12 March 2016 of {url}"
    # The CDX query as the API documents it: this address exactly, successful captures, JSON, the newest.
    (query,) = archive.cdx_queries()
    assert query["url"] == [url] and query["output"] == ["json"] and query["filter"] == ["statuscode:200"]
    assert {"timestamp", "original", "mimetype"} <= set(query["fl"][0].split(",")) and int(query["limit"][0]) < 0
    assert [p for p in archive.paths() if p.startswith("/web/")] == [
        f"/web/20180101000000id_/{url}", f"/web/20160312101500id_/{url}",
    ]


def test_an_archive_with_only_html_captures_fails_with_a_clear_reason(tmp_path, web):
    site, _, archive = web
    url = site.gone("/gone/report.pdf", 404)
    archive.capture(url, "20190101000000", b"<html>Moved</html>", mimetype="text/html")
    archive.capture(url, "20200101000000", b"<html>Not found</html>", mimetype="text/html")
    result = fetch(tmp_path, web, [{"id": "gone", "case": "Child U", "title": "Child U review", "url": url}])
    assert result.status == "failed" and result.reason == "HTTP 404"
    assert [(a.route, a.reason) for a in result.attempts] == [("direct", "HTTP 404"), ("archive", "no PDF in the archive")]
    assert result.attempts[-1].detail == f"2 captures of {url}, none a PDF (text/html)"
    assert "no PDF in the archive" in result.detail and url in result.detail
    assert not [p for p in archive.paths() if p.startswith("/web/")]
    assert sorted(p.name for p in (tmp_path / "downloads").iterdir()) == []


def test_a_dead_landing_page_is_read_from_the_archive_and_its_dead_link_too(tmp_path, web, pdfs):
    site, _, archive = web
    page = site.gone("/lscb/child-x", 410)
    archive.capture(page, "20170605080000", mimetype="text/html", body=b"""<html><body><h1>Child X</h1>
        <a href="/old/child-x-summary.pdf">Child X: executive summary</a>
        <a href="/old/child-x-report.pdf">Serious Case Review: Child X (full report)</a></body></html>""")
    report_url = site.base + "/old/child-x-report.pdf"  # gone from the site too
    archive.capture(report_url, "20170606090000", pdfs["archived"])
    result = fetch(tmp_path, web, [{"id": "child-x", "case": "Child X", "title": "Serious Case Review: Child X",
                                    "landing_url": page}])
    assert result.status == "fetched", result.detail
    assert (tmp_path / "downloads" / "child-x.pdf").read_bytes() == pdfs["archived"]
    listed = manifest(tmp_path)["files"]["child-x.pdf"]
    assert listed["route"] == "archive" and listed["asked_url"] == report_url and listed["landing_url"] == page
    assert listed["captured_at"] == "2017-06-06T09:00:00Z"
    assert f"on the Internet Archive's copy of 2017-06-05 of {page}" in listed["chosen_because"]
    assert site.paths() == ["/lscb/child-x", "/old/child-x-report.pdf"]


def test_a_withdrawn_govuk_page_is_read_from_its_archived_copy(tmp_path, web, pdfs):
    site, api, archive = web
    path = GOVUK_PAGE.removeprefix("https://www.gov.uk")
    api.items[path] = {"_gone": True}
    report_url = site.pdf("/media/2/child-u-national-review.pdf", pdfs["report"])
    archive.capture(GOVUK_PAGE, "20221001000000", mimetype="text/html", body=(
        "<html><body>" + attachment_section("1", "Annex A: methodology", site.base + "/media/1/annex.pdf")
        + attachment_section("2", "Child U: national review of practice", report_url) + "</body></html>"
    ).encode())
    result = fetch(tmp_path, web, [{"id": "child-u", "case": "Child U", "title": "Child U: national review of practice",
                                    "landing_url": GOVUK_PAGE}])
    assert result.status == "fetched", result.detail
    listed = manifest(tmp_path)["files"]["child-u.pdf"]
    assert listed["route"] == "landing" and listed["asked_url"] == report_url and listed["landing_url"] == GOVUK_PAGE
    assert [(a.route, a.reason) for a in result.attempts] == [("govuk", "HTTP 410")]
    assert api.paths() == [f"/api/content{path}"]


def test_a_redirect_loop_fails_with_a_reason_and_is_not_taken_for_dead(tmp_path, web):
    site, _, archive = web
    url = site.redirect("/loop/a", "/loop/b")
    site.redirect("/loop/b", "/loop/a")
    result = fetch(tmp_path, web, [{"id": "loop", "case": "Child U", "title": "Child U review", "url": url}])
    assert result.status == "failed" and result.reason == "redirect loop"
    assert result.attempts[0].detail == f"{url} -> {site.base}/loop/b -> {url}"
    assert archive.requests == []


def test_a_chain_of_redirects_stops_at_the_limit(tmp_path, web, pdfs):
    site, _, _ = web
    for hop in range(12):
        site.redirect(f"/hop/{hop}", f"/hop/{hop + 1}")
    site.pdf("/hop/12", pdfs["report"])
    result = fetch(tmp_path, web, [{"id": "far", "case": "Child U", "title": "Child U review", "url": site.base + "/hop/0"}])
    assert result.status == "failed" and result.reason == "too many redirects"
    assert "/hop/11" not in site.paths()


def test_a_redirect_to_a_local_file_is_refused(tmp_path, web):
    site, _, _ = web
    url = site.redirect("/sneaky.pdf", "file:///etc/hostname")
    result = fetch(tmp_path, web, [{"id": "sneaky", "case": "Child U", "title": "Child U review", "url": url}])
    assert result.status == "failed" and result.reason == "redirect refused" and "file:///etc/hostname" in result.detail


def test_a_silent_server_times_out_with_a_reason(tmp_path, web):
    site, _, archive = web
    url = site.silent("/slow.pdf")
    result = fetch(tmp_path, web, [{"id": "slow", "case": "Child U", "title": "Child U review", "url": url}])
    assert result.status == "failed" and result.reason == "timeout"
    assert archive.requests == []  # slow is not dead
    assert sorted(p.name for p in (tmp_path / "downloads").iterdir()) == []


def test_a_file_over_the_size_limit_is_refused_and_nothing_is_left(tmp_path, web, pdfs):
    site, _, _ = web
    url = site.pdf("/big.pdf", pdfs["report"])
    result = fetch(tmp_path, web, [{"id": "big", "case": "Child U", "title": "Child U review", "url": url}],
                   max_bytes=len(pdfs["report"]) - 1)
    assert result.status == "failed" and result.reason == "too large"
    assert sorted(p.name for p in (tmp_path / "downloads").iterdir()) == []


def test_fetch_json_resolves_every_route_and_ingest_shows_where_each_file_came_from(tmp_path, web, pdfs):
    site, api, archive = web
    govuk_publication(site, api, pdfs)
    direct = site.pdf("/reports/child-v-overview.pdf", pdfs["overview"])
    site.pdf("/files/child-x-serious-case-review.pdf", pdfs["archived"])
    council = site.page("/reviews/child-x", '<a href="/files/child-x-serious-case-review.pdf">Child X review</a>')
    dead = site.gone("/lscb/child-w-report.pdf", 410)
    archive.capture(dead, "20160312101500", pdfs["summary"])
    catalogue = write_catalogue(tmp_path / "catalogue.csv", [
        {"id": "child-v", "case": "Child V", "title": "Child V overview report", "url": direct},
        {"id": "child-u", "case": "Child U", "title": "Child U: national review of practice", "landing_url": GOVUK_PAGE},
        {"id": "child-x", "case": "Child X", "title": "Serious Case Review: Child X", "landing_url": council},
        {"id": "child-w", "case": "Child W", "title": "Child W review", "url": dead},
    ])
    dest, home = tmp_path / "downloads", tmp_path / "kb"
    env = {"SCRKB_GOVUK_API": api.api, "SCRKB_WAYBACK_URL": archive.base, "SCRKB_CATALOGUE": str(catalogue)}
    fetched = run_cli("fetch", "--dest", str(dest), "--timeout", str(TIMEOUT), "--json", home=home, env=env)
    summary = json.loads(fetched.stdout)
    assert summary["fetched"] == 4 and summary["failed"] == [] and summary["skipped"] == []
    assert {f["id"]: f["route"] for f in summary["files"]} == {
        "child-v": "direct", "child-u": "govuk", "child-x": "landing", "child-w": "archive",
    }

    run_cli("ingest", str(dest), home=home, env=env)
    kb = KnowledgeBase(Settings(home=home, catalogue=catalogue))
    documents = {d.meta.catalogue_id: d for d in kb.documents()}
    said = {entry_id: d.provenance.summary for entry_id, d in documents.items()}
    assert said == {
        "child-v": f"Downloaded from {direct}",
        "child-u": f"GOV.UK attachment 'Child U: national review of practice' of {GOVUK_PAGE}",
        "child-x": f"Linked as 'Child X review' from {council}",
        "child-w": f"Internet Archive copy of 12 March 2016 of {dead}",
    }
    archived = documents["child-w"]
    shown = run_cli("show", archived.doc_id, home=home, env=env).stdout
    assert f"File: Internet Archive copy of 12 March 2016 of {dead}" in shown
    as_json = json.loads(run_cli("show", archived.doc_id, "--json", home=home, env=env).stdout)
    assert as_json["provenance"]["captured_at"] == "2016-03-12T10:15:00Z"
    assert as_json["provenance"]["summary"] == said["child-w"]

    client = create_app(kb, {"TESTING": True}).test_client()
    for entry_id, document in documents.items():
        page = client.get(f"/documents/{document.doc_id}").get_data(as_text=True)
        assert said[entry_id] in html.unescape(page), entry_id
