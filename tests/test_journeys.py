"""The three users' journeys on a phone (390 pixels wide), signed in, in a real headless Chromium over
the sample corpus: no page may scroll sideways, and each step does what its user expects."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime, timezone
from urllib.parse import parse_qs, urlsplit

import pypdfium2 as pdfium
import pytest
from browser import LAPTOP, PHONE, browser_page, chromium_path, live_server, page_overflow
from test_citations import parse_bibtex, parse_ris

from kb import KnowledgeBase
from kb.sources.review_types import about_a_case
from webapp import create_app

PASSWORD = "a long enough password"
ROLES = {"reviewer": "reader", "trainer": "trainer", "researcher": "researcher"}


@pytest.fixture(scope="module")
def site(sample_kb):
    assert chromium_path(), "scripts/system-deps.sh installs Debian's chromium"
    kb = KnowledgeBase(replace(sample_kb.settings, login="required"))
    for name, role in ROLES.items():
        if kb.accounts.by_name(name) is None:
            kb.accounts.add(name, PASSWORD, role)
    with live_server(create_app(kb)) as url:
        yield url, kb


def sign_in(page, url: str, name: str) -> None:
    page.goto(f"{url}/login")
    page.get_by_label("Username").fill(name)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_selector("#signed-in")


def fits(page) -> None:
    """The page does not scroll sideways, and every navigation link is inside the window."""
    assert page_overflow(page) <= 0, f"{page.url} is {page_overflow(page)} px wider than the window"
    width = page.evaluate("innerWidth")
    for box in page.locator("nav[aria-label=Main] a").evaluate_all(
            "links => links.map(a => a.getBoundingClientRect().right)"):
        assert box <= width, f"a navigation link runs off the window on {page.url}"


def query_of(url: str) -> dict:
    return parse_qs(urlsplit(url).query)


def test_reviewer_finds_cites_and_widens_on_a_phone(site, tmp_path):
    url, kb = site
    with browser_page(PHONE, accept_downloads=True, permissions=["clipboard-read", "clipboard-write"]) as page:
        sign_in(page, url, "reviewer")
        fits(page)
        page.get_by_label("What are you looking for?").fill("agencies worked in silos")
        page.get_by_role("button", name="Search").click()
        page.wait_for_selector("article.hit")
        fits(page)

        # A ready citation, copied with one press.
        first = page.locator("article.hit").first
        first.locator("summary", has_text="Cite this passage").click()
        box = first.locator("textarea.cite-text")
        citation = box.input_value()
        document = kb.document(first.get_attribute("data-passage").split("-p")[0])
        assert citation.startswith(f"{document.meta.publisher} ({document.meta.year_published}) {document.meta.title}")
        assert re.search(r", pp?\. \d+", citation)
        first.get_by_role("button", name="Copy citation").click()
        assert page.evaluate("navigator.clipboard.readText()") == citation
        fits(page)

        # Citations of two chosen passages, then of the whole search, for a reference manager.
        chosen = [page.locator("article.hit").nth(i).get_attribute("data-passage") for i in (0, 2)]
        for i in (0, 2):
            page.locator("article.hit").nth(i).get_by_label(re.compile(f"Select result {i + 1} ")).check()
        with page.expect_download() as download:
            page.get_by_role("button", name="RIS (selected passages)").click()
        path = tmp_path / "chosen.ris"
        download.value.save_as(path)
        assert [r["ID"] for r in parse_ris(path.read_bytes().decode("utf-8"))] == [[pid] for pid in chosen]
        with page.expect_download() as download:
            page.get_by_role("link", name="BibTeX (whole search)").click()
        path = tmp_path / "search.bib"
        download.value.save_as(path)
        entries = parse_bibtex(path.read_bytes().decode("utf-8"))
        assert len(entries) >= page.locator("article.hit").count() and {e[0] for e in entries} == {"report"}

        # Narrow to one case, then widen to a second: the other cases stay on offer.
        page.get_by_role("link", name="Filter these results").click()
        page.locator("summary", has_text="Case").click()
        page.get_by_label(re.compile(r"^\s*Logan Mwangi")).check()
        page.wait_for_url("**case=Logan+Mwangi**")
        offered = page.locator("input[name=case]").count()
        assert offered > 5, "a ticked case leaves the others on offer"
        page.get_by_label(re.compile(r"^\s*Victoria Climbi")).check()
        page.wait_for_function("() => location.search.split('case=').length === 3")
        assert set(query_of(page.url)["case"]) == {"Logan Mwangi", "Victoria Climbié"}
        assert {"Logan Mwangi", "Victoria Climbié"} <= {
            t.split(" · ")[0] for t in page.locator("article.hit .meta").all_inner_texts()}
        fits(page)

        # The page viewer cites the report in full; the next page leaves the passage behind.
        page.locator("article.hit .citation a").first.click()
        page.wait_for_selector("#passage textarea.cite-text")
        fits(page)
        cited = query_of(page.url)["passage"][0]
        passage = kb.passage(cited)
        assert page.locator("#passage textarea.cite-text").input_value().startswith(
            kb.document(passage.doc_id).meta.publisher)
        if passage.page_end < kb.document(passage.doc_id).page_count:
            for _ in range(passage.page_end - passage.page_start + 1):
                page.get_by_role("link", name="Next page").click()
            page.wait_for_selector("figure.page-view")
            assert "passage" not in query_of(page.url) and page.locator("#passage").count() == 0
            assert "Cited passage" not in page.inner_text("main")

        # More like this, from the "worked in silos" finding.
        silos = next(p for d in kb.documents() for p in kb.passages(d.doc_id) if "Agencies worked in silos" in p.text)
        page.goto(f"{url}/passages/{silos.passage_id}/similar")
        assert page.locator("article.hit").count() == 10
        fits(page)


def test_trainer_builds_a_pack_from_a_theme_on_a_phone(site, tmp_path):
    url, kb = site
    with browser_page(PHONE, accept_downloads=True) as page:
        sign_in(page, url, "trainer")
        page.goto(f"{url}/themes")
        fits(page)
        page.get_by_role("link", name="Missed warning signs").click()
        page.wait_for_selector("h1")
        fits(page)

        # The theme's evidence offers "Add to a learning pack", and the flow it starts works.
        evidence = page.locator("article.hit").first
        evidence.get_by_role("link", name="Add to a learning pack").click()
        page.get_by_label("A new pack, called:").check()
        page.get_by_label("Title of the new pack").fill("Signs nobody acted on")
        page.get_by_role("button", name="Add to pack").click()
        page.wait_for_selector("h1")
        assert "Signs nobody acted on" in page.inner_text("h1")
        fits(page)
        pack = next(p for p in kb.packs.list() if p.title == "Signs nobody acted on")
        with page.expect_download() as download:
            page.get_by_role("link", name="Download as PDF (.pdf)").click()
        path = tmp_path / "pack.pdf"
        download.value.save_as(path)
        pdf = pdfium.PdfDocument(str(path))
        try:
            created = pdf.get_metadata_value("CreationDate")
        finally:
            pdf.close()
        changed = datetime.fromisoformat(kb.packs.get(pack.pack_id).updated).astimezone(timezone.utc)
        assert created == changed.strftime("D:%Y%m%d%H%M%S+00'00'")

        # Searching within the theme puts a case's plain instance first, not a general discussion.
        page.goto(f"{url}/themes/missed_warning_signs")
        page.get_by_role("link", name="Search within this theme").click()
        page.wait_for_selector("article.hit")
        fits(page)
        top = [t.split(" · ")[0] for t in page.locator("article.hit .meta").all_inner_texts()[:3]]
        assert not set(top) & {"Munro review", "Cleveland"}, top


def test_researcher_reads_the_dashboard_on_a_phone(site):
    url, kb = site
    with browser_page(PHONE) as page:
        sign_in(page, url, "researcher")
        expected = len({d.meta.case for d in kb.documents()
                        if d.meta.case and about_a_case().get(d.meta.review_type or "", True)})
        assert page.inner_text("#cases") == str(expected) and expected < len(kb.documents())
        page.goto(f"{url}/research/")
        fits(page)

        # The heatmap scrolls in its own box, says so, and keeps the case column in view.
        box = page.locator(".table-scroll:has(#heatmap)")
        assert box.evaluate("b => b.scrollWidth > b.clientWidth")
        assert page.locator(".scroll-cue").first.is_visible()
        left = page.locator("#heatmap tbody th").first.evaluate("th => th.getBoundingClientRect().left")
        box.evaluate("b => { b.scrollLeft = 300; }")
        page.wait_for_function("() => document.querySelector('.table-scroll').scrollLeft > 0")
        assert page.locator("#heatmap tbody th").first.evaluate("th => th.getBoundingClientRect().left") == left

        # The trend chart's year labels do not run into each other.
        boxes = page.locator("svg.chart text.x-label").evaluate_all(
            "ts => ts.map(t => { const r = t.getBoundingClientRect(); return [r.left, r.right]; })")
        assert len(boxes) >= 2 and all(a[1] <= b[0] for a, b in zip(boxes, boxes[1:]))

        # Each co-occurrence count leads to the passages behind it.
        cell = page.locator("#cooccurrence td.cell a").first
        number = int(cell.inner_text())
        cell.click()
        page.wait_for_selector("#evidence-both")
        assert "with" in query_of(page.url)
        assert page.inner_text("#evidence-count").startswith(f"{number} passage")
        fits(page)

        # Downloads carry one charset.
        response = page.request.get(f"{url}/api/v1/exports/counts.csv?by=case")
        assert response.headers["content-type"] == "text/csv; charset=utf-8"

        # Compare two cases: "both", not "all 2".
        page.goto(f"{url}/compare?case=Peter+Connelly&case=Victoria+Climbi%C3%A9")
        assert "found in both cases" in page.inner_text("#compare-summary")
        fits(page)


def test_at_laptop_width_the_heatmap_fits_and_the_footer_clears_the_form(site):
    url, _ = site
    with browser_page(LAPTOP) as page:
        sign_in(page, url, "researcher")
        page.goto(f"{url}/research/")
        box = page.locator(".table-scroll:has(#heatmap)")
        assert box.evaluate("b => b.scrollWidth <= b.clientWidth"), "every theme column in view at 1280 pixels"
        assert not page.locator(".scroll-cue").first.is_visible()
        page.goto(f"{url}/search")
        button = page.get_by_role("button", name="Apply filters").bounding_box()
        footer = page.locator("footer").bounding_box()
        assert button["y"] + button["height"] + 2 < footer["y"], "the footer rule runs below the button"


def test_a_citation_is_there_to_select_without_javascript(site):
    url, kb = site
    with browser_page(PHONE, java_script_enabled=False) as page:
        sign_in(page, url, "reviewer")
        page.goto(f"{url}/search?q=child+not+seen+alone")
        first = page.locator("article.hit").first
        first.locator("summary", has_text="Cite this passage").click()
        box = first.locator("textarea.cite-text")
        assert box.get_attribute("readonly") is not None and box.input_value().endswith(".")
        assert not first.get_by_role("button", name="Copy citation").is_visible()  # it needs script
        fits(page)
