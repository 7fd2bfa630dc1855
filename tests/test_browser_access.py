"""A team member's journey in a real headless Chromium: sign in, meet a page their role does not include, sign out."""

from dataclasses import replace

import pytest
from browser import browser_page, chromium_path, live_server

from kb import KnowledgeBase
from webapp import create_app

PASSWORD = "a long enough password"


@pytest.fixture(scope="module")
def site(hostile_kb):
    assert chromium_path(), "scripts/system-deps.sh installs Debian's chromium"
    kb = KnowledgeBase(replace(hostile_kb.settings, login="required"))
    if kb.accounts.by_name("browsing-reader") is None:
        kb.accounts.add("browsing-reader", PASSWORD, "reader")
    with live_server(create_app(kb)) as url:
        yield url, kb


def test_sign_in_meet_a_closed_page_and_sign_out(site):
    url, kb = site
    with browser_page() as page:
        page.goto(url + "/search?q=neglect")
        page.wait_for_url("**/login?next=**")  # sent to sign in, and back afterwards

        page.get_by_label("Username").fill("browsing-reader")
        page.get_by_label("Password").fill("not the password")
        page.get_by_role("button", name="Sign in").click()
        assert "do not match" in page.inner_text("#login-error")

        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url("**/search?q=neglect")
        assert page.inner_text("#signed-in") == "browsing-reader (reader)"
        assert page.locator("article.hit").count() > 0
        assert page.get_by_role("link", name="Learning packs").count() == 0  # not offered to a reader

        response = page.goto(url + "/packs")
        assert response.status == 403 and "does not include this page" in page.inner_text("main")

        page.get_by_role("button", name="Sign out").click()
        page.wait_for_url("**/login")
        response = page.goto(url + "/documents")
        assert "/login" in page.url
    actions = [e.action for e in kb.accounts.events("browsing-reader", limit=5)]
    assert actions[:3] == ["logout", "login", "login_failed"]
