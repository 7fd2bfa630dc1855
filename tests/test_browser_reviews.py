"""Reviewing a tag in a real headless Chromium: one click, no reload with JavaScript, a plain form post
without it; and the theme page and dashboard showing how far a count can be trusted."""

from __future__ import annotations

import pytest
from browser import CHROMIUM_ARGS, browser_page, chromium_path, live_server
from conftest import ingested_store, passage_id

from webapp import create_app


@pytest.fixture(scope="module")
def store(tmp_path_factory, child_s_pdf):
    return ingested_store(tmp_path_factory.mktemp("browser-reviews"), [child_s_pdf])


@pytest.fixture(scope="module")
def site(store):
    assert chromium_path(), "scripts/system-deps.sh installs Debian's chromium"
    with live_server(create_app(store)) as url:
        yield url


@pytest.fixture(autouse=True)
def no_reviews(store):
    yield
    store.catalogue.db.execute("DELETE FROM tag_reviews")


def a_tag(store):
    gp = passage_id(store, "3.1 The GP")
    passage = store.passage(gp)
    match = next(m for m in passage.themes if m.kind == "shows")
    return gp, match.theme_id, store.tagger.taxonomy.get(match.theme_id).label, passage.doc_id


def test_one_click_review_without_reloading_the_page(site, store, tmp_path):
    gp, theme, label, doc_id = a_tag(store)
    with browser_page() as page:
        page.goto(f"{site}/documents/{doc_id}")
        page.evaluate("window.notReloaded = true")  # gone if the page were loaded again
        box = page.locator(f"#r-{gp}")
        box.get_by_label(f"Note on {label} (optional)").fill("the GP's own records")
        box.get_by_role("button", name=f"Reject {label}").click()
        row = page.locator(f"#r-{gp}-{theme}")
        row.locator(".review-status", has_text="Rejected by local").wait_for()
        assert page.evaluate("window.notReloaded") is True
        assert "review-reject" in row.get_attribute("class") and "the GP's own records" in row.inner_text()
        assert box.locator(".review-message").inner_text().endswith("rejected (no longer counted) by local.")
        assert [(r.verdict, r.note) for r in store.reviews.latest()] == [("reject", "the GP's own records")]
        # Change of mind, one click again, on the row that replaced the old one.
        row.get_by_role("button", name=f"Confirm {label}").click()
        row.locator(".review-status", has_text="Confirmed by local").wait_for()
        # Add a theme the tagger missed: a new row appears, and the theme leaves the list of choices.
        box.locator("summary", has_text="Add a theme the tagger missed").click()  # <details>: no script needed
        box.get_by_label("Theme to add").select_option("early_help")
        box.get_by_role("button", name="Add theme").click()
        page.locator(f"#r-{gp}-early_help .review-status", has_text="Added by local").wait_for()
        assert box.locator("select[name=theme] option[value=early_help]").count() == 0
        assert page.evaluate("window.notReloaded") is True
        page.screenshot(path=str(tmp_path / "document-reviewed.png"), full_page=True)
    assert sorted((r.theme_id, r.verdict) for r in store.reviews.latest()) == sorted([("early_help", "add"),
                                                                                     (theme, "confirm")])


def test_review_without_javascript_posts_and_comes_back(site, store):
    gp, theme, label, _ = a_tag(store)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        page = browser.new_context(java_script_enabled=False).new_page()
        page.goto(f"{site}/themes/{theme}")
        page.locator(f"#r-{gp}").get_by_role("button", name=f"Reject {label}").click()
        page.wait_for_url(f"**/themes/{theme}#r-{gp}")
        # No longer counted, so no longer among the theme's evidence: the page says what was done.
        assert page.locator(f"#r-{gp}").count() == 0
        assert f"{label}: rejected (no longer counted) by local" in page.locator(".flash").inner_text()
        page.goto(f"{site}/documents/{store.passage(gp).doc_id}")
        row = page.locator(f"#r-{gp}-{theme}")
        assert "Rejected by local" in row.inner_text()
        row.get_by_role("button", name=f"Confirm {label}").click()  # undone from the report's page
        page.wait_for_url(f"**#r-{gp}")
        assert "Confirmed by local" in page.locator(f"#r-{gp}-{theme}").inner_text()
        browser.close()
    assert [(r.passage_id, r.verdict, r.reviews) for r in store.reviews.latest()] == [(gp, "confirm", 2)]


def test_theme_page_and_dashboard_show_accuracy_and_intervals(site, store, tmp_path):
    counts, quality = store.theme_counts(), store.theme_quality
    theme = next(t for t in store.tagger.taxonomy.ids
                 if counts.get(t, {}).get("shows") and quality.of(t).factor_interval is not None)
    label = store.tagger.taxonomy.get(theme).label
    with browser_page() as page:
        page.goto(f"{site}/themes/{theme}")
        words = page.locator("#theme-quality").inner_text()
        assert words.startswith(quality.of(theme).plain_words())
        assert ("Experimental" in words) == quality.of(theme).experimental
        assert "95% interval" in page.locator("#theme-estimate").inner_text()
        page.screenshot(path=str(tmp_path / "theme.png"), full_page=True)
        page.goto(f"{site}/research/")
        row = page.locator("#prevalence tr", has_text=label).first
        assert "95% interval" in row.inner_text() and "Found correctly in about" in row.inner_text()
        assert page.locator("#prevalence .experimental").count() > 0
        page.get_by_label("Count only tags a reviewer confirmed or added").check()
        page.get_by_role("button", name="Apply").click()
        page.wait_for_url("**reviewed_only=1**")
        assert "only when a reviewer confirmed or added" in page.locator("#rules-meaning").inner_text()
        page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)
