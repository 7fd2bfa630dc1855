"""Reviewing tags in the web app, and accuracy beside counts: the review route with and without a script,
who may use it, bad input, and the theme pages, dashboard and API that show how far a count can be trusted."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from conftest import ingested_store, passage_id
from test_access import PASSWORD, csrf, signed_in
from test_api import valid

from kb import KnowledgeBase
from webapp import create_app

JSON = {"Accept": "application/json"}


@pytest.fixture(scope="module")
def store(tmp_path_factory, child_s_pdf) -> KnowledgeBase:
    return ingested_store(tmp_path_factory.mktemp("reviews-web"), [child_s_pdf])


@pytest.fixture(scope="module")
def client(store):
    # Reviews here are about the route; CSRF on every form is checked in test_access.py and below.
    return create_app(store, {"TESTING": True, "WTF_CSRF_ENABLED": False}).test_client()


@pytest.fixture(scope="module")
def team(store):
    kb = KnowledgeBase(replace(store.settings, login="required"))
    for role in ("reader", "trainer", "researcher"):
        kb.accounts.add(role, PASSWORD, role)
    return create_app(kb, {"TESTING": True})


@pytest.fixture(autouse=True)
def no_reviews(store):
    yield
    store.catalogue.db.execute("DELETE FROM tag_reviews")


def stored(store) -> list[tuple]:
    return [(r.passage_id, r.theme_id, r.verdict) for r in store.reviews.latest()]


def a_tag(store) -> tuple[str, str, str]:
    """The GP passage, a theme it shows, and the document it is in."""
    gp = passage_id(store, "3.1 The GP")
    passage = store.passage(gp)
    return gp, next(m.theme_id for m in passage.themes if m.kind == "shows"), passage.doc_id


def test_without_a_script_the_form_posts_and_returns_to_the_passage(client, store):
    gp, theme, doc_id = a_tag(store)
    page = client.get(f"/documents/{doc_id}").get_data(as_text=True)
    assert f'id="r-{gp}-{theme}"' in page and 'method="post" action="/reviews"' in page
    response = client.post("/reviews", data={"passage": gp, "theme": theme, "verdict": "reject",
                                             "note": "describes the review's method", "next": f"/documents/{doc_id}"})
    assert response.status_code == 303 and response.location == f"/documents/{doc_id}#r-{gp}"
    assert stored(store) == [(gp, theme, "reject")]
    page = client.get(f"/documents/{doc_id}").get_data(as_text=True)
    row = re.search(rf'<li class="review-row review-reject" id="r-{gp}-{theme}">(.*?)</li>', page, re.S).group(1)
    assert "Rejected by local" in row and "not counted" in row and "describes the review&#39;s method" in row
    assert 'value="confirm"' in row and 'value="reject"' not in row  # one click undoes it


def test_a_script_gets_the_new_row_to_put_in_place(client, store):
    gp, theme, _ = a_tag(store)
    response = client.post("/reviews", data={"passage": gp, "theme": theme, "verdict": "confirm"}, headers=JSON)
    assert response.status_code == 200
    data = response.get_json()
    assert data["review"]["verdict"] == "confirm" and data["counted"] and data["message"].endswith("by local.")
    assert data["html"].startswith(f'<li class="review-row review-confirm" id="r-{gp}-{theme}">')
    added = client.post("/reviews", data={"passage": gp, "theme": "early_help", "verdict": "add"}, headers=JSON)
    assert "Added by local" in added.get_json()["html"]
    assert sorted(stored(store)) == sorted([(gp, theme, "confirm"), (gp, "early_help", "add")])


@pytest.mark.parametrize("form, status, words", [
    ({"passage": "0000000000000000-p0001-00", "theme": "neglect", "verdict": "confirm"}, 404, "There is no passage"),
    ({"passage": "", "theme": "neglect", "verdict": "reject"}, 400, "its id is missing"),
    ({"theme": "not_a_theme", "verdict": "add"}, 404, "There is no theme"),
    ({"theme": "neglect", "verdict": "delete"}, 400, "The verdict must be one of"),
    ({"theme": "neglect", "verdict": "add", "note": "n" * 2001}, 400, "at most 2000 characters"),
    ({"theme": "x" * 400, "verdict": "add"}, 400, "far too long"),
])
def test_bad_input_gets_a_clear_message_and_changes_nothing(client, store, form, status, words):
    form = {"passage": passage_id(store, "3.1 The GP"), **form}
    page = client.post("/reviews", data=form)
    assert page.status_code == status and words in page.get_data(as_text=True)
    script = client.post("/reviews", data=form, headers=JSON)
    assert script.status_code == status and words in script.get_json()["error"]["message"]
    assert stored(store) == []


def test_the_return_address_stays_on_this_site(client, store):
    gp, theme, _ = a_tag(store)
    response = client.post("/reviews", data={"passage": gp, "theme": theme, "verdict": "confirm",
                                             "next": "//evil.example/x"})
    assert response.status_code == 303 and response.location == f"/#r-{gp}"


@pytest.mark.parametrize("role", ["reader", "trainer"])
def test_readers_and_trainers_get_403_and_no_buttons(team, store, role):
    gp, theme, doc_id = a_tag(store)
    client = signed_in(team, role)
    page = client.get(f"/documents/{doc_id}").get_data(as_text=True)
    assert 'action="/reviews"' not in page and 'class="badge"' in page
    token = csrf(client, "/")
    response = client.post("/reviews", data={"passage": gp, "theme": theme, "verdict": "reject", "csrf_token": token})
    assert response.status_code == 403 and f"({role})" in response.get_data(as_text=True)
    assert stored(store) == []


def test_a_researcher_reviews_as_themselves_with_a_csrf_token(team, store):
    gp, theme, doc_id = a_tag(store)
    client = signed_in(team, "researcher")
    forged = client.post("/reviews", data={"passage": gp, "theme": theme, "verdict": "reject", "csrf_token": "x"})
    assert forged.status_code == 400 and stored(store) == []
    page = client.get(f"/documents/{doc_id}").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = client.post("/reviews", data={"passage": gp, "theme": theme, "verdict": "reject", "csrf_token": token,
                                             "next": f"/documents/{doc_id}"}, headers=JSON)
    assert response.status_code == 200 and response.get_json()["review"]["username"] == "researcher"
    assert store.accounts.events(action="tag_review")[0].username == "researcher"


def test_theme_pages_show_accuracy_and_an_estimate(client, store):
    gp, theme, _ = a_tag(store)
    listing = client.get("/themes").get_data(as_text=True)
    measured = store.theme_quality
    assert "Found correctly in about" in listing and "Experimental" in listing
    assert "Measured on" in listing and f"({measured.reports} reports, {measured.passages} passages)" in listing
    page = client.get(f"/themes/{theme}").get_data(as_text=True)
    quality = store.theme_quality.of(theme)
    assert quality.plain_words() in page.replace("&#39;", "'")
    assert 'id="theme-estimate"' in page and f'id="r-{gp}-{theme}"' in page
    client.post("/reviews", data={"passage": gp, "theme": theme, "verdict": "confirm"})
    page = client.get(f"/themes/{theme}").get_data(as_text=True)
    assert "confirmed by a reviewer" in page and "reviewed)" in page


def test_the_dashboard_and_evidence_pages_show_accuracy_and_review_controls(client, store):
    gp, theme, _ = a_tag(store)
    dashboard = client.get("/research/").get_data(as_text=True)
    assert "Estimated true passages" in dashboard and "How far to trust it" in dashboard
    assert 'name="reviewed_only"' in dashboard and "95% interval" in dashboard
    client.post("/reviews", data={"passage": gp, "theme": theme, "verdict": "confirm"})
    reviewed = client.get("/research/?reviewed_only=1").get_data(as_text=True)
    assert "only when a reviewer confirmed or added" in reviewed
    evidence = client.get(f"/research/evidence/{theme}").get_data(as_text=True)
    assert f'id="r-{gp}-{theme}"' in evidence and 'id="evidence-quality"' in evidence


def test_the_api_carries_accuracy_and_the_reviewed_only_rule(client, store):
    gp, theme, _ = a_tag(store)
    client.post("/reviews", data={"passage": gp, "theme": theme, "verdict": "confirm"})
    themes = valid(client.get("/api/v1/themes"), "/themes")
    entry = next(t for t in themes["themes"] if t["id"] == theme)
    quality = store.theme_quality.of(theme)
    assert entry["counts"]["reviewed"] == 1 and entry["quality"]["in_plain_words"] == quality.plain_words()
    data = valid(client.get("/api/v1/prevalence?reviewed_only=1"), "/prevalence")
    assert data["about"]["counting_rules"]["reviewed_only"] is True
    assert data["about"]["reviews"]["counted_tags"] == data["about"]["reviews"]["counted_tags_reviewed"] == 1
    assert data["about"]["theme_quality"]["themes"][theme]["status"] == quality.status
    document = valid(client.get(f"/api/v1/documents/{store.passage(gp).doc_id}"), "/documents/{doc_id}")
    match = next(m for p in document["passages"] if p["passage_id"] == gp for m in p["themes"] if m["theme_id"] == theme)
    assert match["review"] == "confirm"
    valid(client.get("/api/v1/counts?reviewed_only=maybe"), "/counts", "400")
