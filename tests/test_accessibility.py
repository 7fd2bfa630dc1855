"""An accessibility audit of every page template with axe-core, signed out and signed in, at phone and
laptop widths: no serious or critical violation. Moderate and minor findings are printed (pytest -s)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from browser import LAPTOP, PHONE, audit, axe_script, browser_page, chromium_path, live_server, page_overflow

from kb import KnowledgeBase
from webapp import create_app

PASSWORD = "a long enough password"
BLOCKING = {"serious", "critical"}


@pytest.fixture(scope="module")
def site(sample_kb):
    assert chromium_path(), "scripts/system-deps.sh installs Debian's chromium"
    axe_script()  # fetched once, before any page is timed
    kb = KnowledgeBase(replace(sample_kb.settings, login="required"))
    if kb.accounts.by_name("audit-admin") is None:
        kb.accounts.add("audit-admin", PASSWORD, "admin")
    with live_server(create_app(kb)) as url:
        yield url, kb


@pytest.fixture(scope="module")
def pages(site) -> list[str]:
    """A URL for every page template in the states a user meets it."""
    _, kb = site
    documents = kb.documents()
    connelly = next(d for d in documents if d.meta.case == "Peter Connelly")
    passage = kb.passages(connelly.doc_id)[3]
    pack = kb.packs.create("Audit pack", "A pack for the accessibility audit.")
    kb.packs.add(pack.pack_id, passage.passage_id, heading="A heading", note="A note.")
    return [
        "/", "/search", "/search?q=health+visitor", "/search?q=health+visitor&case=Peter+Connelly&theme=neglect",
        "/search?q=zebra+crossing+aviation&mode=keyword&theme=neglect",
        f"/passages/{passage.passage_id}/similar", "/documents", f"/documents/{connelly.doc_id}",
        f"/documents/{connelly.doc_id}/pages/{passage.page_start}?passage={passage.passage_id}",
        f"/documents/{connelly.doc_id}/pages/1", "/themes", "/themes/missed_warning_signs",
        "/compare", "/compare?case=Peter+Connelly&case=Victoria+Climbi%C3%A9", "/compare?case=Peter+Connelly",
        "/packs", f"/packs/{pack.pack_id}", f"/packs/add?passage={passage.passage_id}",
        f"/packs/{pack.pack_id}/delete", "/research/", "/research/evidence/neglect",
        "/research/evidence/missed_warning_signs?with=information_sharing", "/admin/users", "/admin/audit",
        "/admin/settings", "/documents/no-such-report",
    ]


def check(page, url: str, findings: list) -> None:
    page.goto(url)
    for violation in audit(page):
        findings.append((page.viewport_size["width"], url, violation))
    assert page_overflow(page) <= 0, f"{url} scrolls sideways at {page.viewport_size['width']} pixels"


def report(findings: list) -> None:
    for width, url, v in findings:
        print(f"axe {v['impact']}: {v['id']} ({v['help']}) at {width}px on {url}: {', '.join(v['targets'])}")
    blocking = [f for f in findings if f[2]["impact"] in BLOCKING]
    assert not blocking, "\n".join(f"{w}px {u}: {v['id']} {v['help']} {v['targets']}" for w, u, v in blocking)


@pytest.mark.parametrize("width", [PHONE, LAPTOP])
def test_signed_out_pages_have_no_serious_violations(site, width):
    url, _ = site
    findings: list = []
    with browser_page(width, bypass_csp=True) as page:  # the app's policy rightly refuses the injected audit
        check(page, f"{url}/login", findings)
        page.get_by_label("Username").fill("audit-admin")
        page.get_by_label("Password").fill("not the password at all")
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_selector("#login-error")
        findings += [(width, "/login (failed)", v) for v in audit(page)]
        check(page, f"{url}/no-such-page", findings)
    report(findings)


@pytest.mark.parametrize("width", [PHONE, LAPTOP])
def test_signed_in_pages_have_no_serious_violations(site, pages, width):
    url, _ = site
    findings: list = []
    with browser_page(width, bypass_csp=True) as page:
        page.goto(f"{url}/login")
        page.get_by_label("Username").fill("audit-admin")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_selector("#signed-in")
        for path in pages:
            check(page, url + path, findings)
    report(findings)


def test_the_audit_finds_a_violation_when_there_is_one(site):
    url, _ = site
    with browser_page(PHONE, bypass_csp=True) as page:
        page.goto(f"{url}/login")
        assert audit(page) == []
        page.evaluate("""() => {
            const img = document.createElement("img");
            img.src = "/static/none.png";  // no alt text: a critical violation
            document.querySelector("main").append(img);
        }""")
        assert "image-alt" in {v["id"] for v in audit(page) if v["impact"] in BLOCKING}


def test_every_page_fits_the_narrowest_phone(site, pages):
    url, _ = site
    with browser_page(320) as page:
        page.goto(f"{url}/login")
        assert page_overflow(page) <= 0
        page.get_by_label("Username").fill("audit-admin")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_selector("#signed-in")
        wide = []
        for path in pages:
            page.goto(url + path)
            if page_overflow(page) > 0:
                wide.append((path, page_overflow(page)))
        assert not wide, f"these pages scroll sideways at 320 pixels: {wide}"
