"""A team member changes their own password in a real headless Chromium; their session elsewhere ends."""

import pytest
from browser import browser_sessions, chromium_path, live_server

from kb import KnowledgeBase, Settings
from webapp import create_app

OLD, NEW = "my first long password", "a new and longer password"


@pytest.fixture
def site(tmp_path):
    assert chromium_path(), "scripts/system-deps.sh installs Debian's chromium"
    kb = KnowledgeBase(Settings(home=tmp_path / "kb", catalogue=tmp_path / "none.csv", login="required"))
    kb.accounts.add("robin", OLD, "reader")
    with live_server(create_app(kb)) as url:
        yield url, kb


def sign_in(page, url, password):
    page.goto(url + "/login")
    page.get_by_label("Username").fill("robin")
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_change_your_own_password_and_your_other_sessions_end(site):
    url, kb = site
    with browser_sessions(2) as (laptop, office):
        for page in (laptop, office):
            sign_in(page, url, OLD)
            page.wait_for_selector("#signed-in")

        laptop.get_by_role("link", name="Change password").click()
        laptop.wait_for_url("**/account/password")
        laptop.get_by_label("Current password").fill("not my password at all")
        laptop.get_by_label("New password (12 to 1024 characters)").fill(NEW)
        laptop.get_by_label("New password again").fill(NEW)
        laptop.get_by_role("button", name="Change password").click()
        assert laptop.inner_text("#password-error") == "That is not your current password."

        laptop.get_by_label("Current password").fill(OLD)
        laptop.get_by_label("New password (12 to 1024 characters)").fill(NEW)
        laptop.get_by_label("New password again").fill(NEW)
        laptop.get_by_role("button", name="Change password").click()
        laptop.wait_for_url("**/account/password?changed=1")
        assert "Your password has been changed" in laptop.inner_text("#password-changed")

        laptop.goto(url + "/documents")  # this session goes on
        assert laptop.inner_text("#signed-in") == "robin (reader)"
        office.goto(url + "/documents")  # the other one has ended
        office.wait_for_url("**/login?next=**")

        sign_in(office, url, OLD)
        assert "do not match" in office.inner_text("#login-error")
        sign_in(office, url, NEW)
        office.wait_for_selector("#signed-in")
    actions = [e.action for e in kb.accounts.events("robin", limit=10)]
    assert "password_change" in actions and "password_change_failed" in actions
