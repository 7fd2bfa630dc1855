"""Journeys in a real headless Chromium over the sample corpus: what reviewers and trainers do."""

import pytest
from browser import browser_page, chromium_path, live_server

from webapp import create_app


@pytest.fixture(scope="module")
def site(sample_kb):
    assert chromium_path(), "scripts/system-deps.sh installs Debian's chromium"
    with live_server(create_app(sample_kb)) as url:
        yield url


@pytest.fixture
def page(site, tmp_path):
    with browser_page() as page:
        page.screenshots = tmp_path
        yield page


def shot(page, name):
    page.screenshot(path=str(page.screenshots / f"{name}.png"), full_page=True)


def test_search_filter_and_open_a_citation_at_its_page(page, site):
    page.goto(site)
    page.get_by_label("What are you looking for?").fill("Baby P health visitor")
    page.get_by_role("button", name="Search").click()
    page.wait_for_selector("article.hit")
    assert "Peter Connelly" in page.inner_text("article.hit >> nth=0")
    assert page.locator("article.hit mark").count() > 0
    shot(page, "search")

    # Filter by a theme: the filter lands in the URL, so the search can be shared.
    page.locator("summary", has_text="Theme").click()
    page.get_by_label("Information sharing").check()
    page.wait_for_url("**theme=information_sharing**")
    assert page.locator("article.hit").count() > 0
    shot(page, "filtered")

    # The citation opens the report at that page with the passage outlined.
    citation = page.locator("article.hit .citation a").first
    cited = citation.inner_text()
    citation.click()
    page.wait_for_selector("figure.page-view img")
    assert page.locator("#passage blockquote").count() == 1
    # the page image renders (it is drawn on the server, so it may take a moment)
    page.wait_for_function("() => { const i = document.querySelector('figure.page-view img'); return i.complete && i.naturalWidth > 0; }")
    assert "outlined" in page.inner_text("figcaption")
    assert cited.split(",")[-1].strip().split()[-1] in page.inner_text("h1")
    shot(page, "citation")


def test_open_a_theme_and_its_evidence(page, site):
    page.goto(f"{site}/themes")
    page.get_by_role("link", name="Thresholds and screening decisions").click()
    page.wait_for_selector("h1")
    assert page.inner_text("h1") == "Thresholds and screening decisions"
    assert page.locator("article.hit").count() >= 3
    cases = {page.inner_text(f"article.hit:nth-of-type({i}) .meta") for i in range(1, 4)}
    assert len(cases) >= 2, "evidence comes from more than one report"
    shot(page, "theme")


def test_keyboard_users_can_skip_to_content_and_see_focus(page, site):
    page.goto(site)
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.textContent")
    assert focused.strip() == "Skip to main content"
    outline = page.evaluate("getComputedStyle(document.activeElement).backgroundColor")
    assert outline == "rgb(255, 221, 0)"  # the focus colour
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"


def test_pages_work_without_javascript(site, tmp_path):
    from browser import CHROMIUM_ARGS
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        context = browser.new_context(java_script_enabled=False)
        page = context.new_page()
        page.goto(f"{site}/search?q=threshold+not+met")
        page.locator("summary", has_text="Theme").click()  # <details> needs no script
        page.get_by_label("Thresholds").check()
        page.get_by_role("button", name="Apply filters").click()
        page.wait_for_url("**theme=thresholds**")
        assert page.locator("article.hit").count() > 0
        browser.close()


def test_build_a_learning_pack_and_download_it_as_word(page, site, tmp_path):
    from docx import Document

    page.goto(f"{site}/search?q=child+not+seen+alone")
    page.locator("article.hit").first.get_by_role("link", name="Add to a learning pack").click()
    page.get_by_label("A new pack, called:").check()  # other tests may have made packs in this store
    page.get_by_label("Title of the new pack").fill("Seeing the child")
    page.get_by_label("Heading for this passage").fill("Nobody saw her alone")
    page.get_by_label("Trainer’s note").fill("Ask: who last spoke to the child on her own?")
    page.get_by_role("button", name="Add to pack").click()
    page.wait_for_selector("h1")
    assert "Seeing the child" in page.inner_text("h1")
    shot(page, "pack")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download as Word (.docx)").click()
    path = tmp_path / "pack.docx"
    download_info.value.save_as(path)
    text = "\n".join(p.text for p in Document(str(path)).paragraphs)
    assert "Seeing the child" in text and "Nobody saw her alone" in text
    assert "Ask: who last spoke to the child on her own?" in text and "Sources" in text


def test_export_case_by_theme_counts_from_the_dashboard(page, site, tmp_path, sample_kb):
    import csv

    page.goto(f"{site}/research/")
    assert page.locator("table").count() >= 2
    shot(page, "dashboard")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Case × theme counts (CSV)").click()
    path = tmp_path / "counts.csv"
    download_info.value.save_as(path)
    with path.open(encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    assert "information_sharing" in rows[0]
    assert len(rows) - 1 == len({d.meta.case for d in sample_kb.documents()})
