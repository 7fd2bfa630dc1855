"""Sign-in, roles on every route, CSRF on every change, session cookies, and the audit log, on the real app."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import replace
from html.parser import HTMLParser

import pytest

from kb import KnowledgeBase
from kb.store.accounts import FAILURES_PER_USER, PERMISSIONS, ROLES
from webapp import create_app
from webapp.access import permission_for

PASSWORD = "a long enough password"
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def team(kb: KnowledgeBase, **settings) -> KnowledgeBase:
    """The same store, served as to a team: sign-in required."""
    return KnowledgeBase(replace(kb.settings, login="required", **settings))


@pytest.fixture(scope="module")
def store(hostile_kb):
    kb = team(hostile_kb)
    for role in ROLES:
        if kb.accounts.by_name(role) is None:
            kb.accounts.add(role, PASSWORD, role)
    return kb


@pytest.fixture(scope="module")
def app(store):
    return create_app(store, {"TESTING": True})


def csrf(client, url="/login") -> str:
    return TOKEN.search(client.get(url).get_data(as_text=True)).group(1)


def signed_in(app, username: str, password: str = PASSWORD):
    client = app.test_client()
    response = client.post("/login", data={"username": username, "password": password, "csrf_token": csrf(client)})
    assert response.status_code == 303, response.get_data(as_text=True)
    return client


@pytest.fixture(scope="module")
def samples(store, app) -> dict:
    """A real value for every route argument, so each route is reached, not refused as unknown."""
    doc = next(d for d in store.documents() if d.meta.case == "Child S")
    passage = store.passages(doc.doc_id)[1]
    pack = store.packs.create("Access test pack")
    item = store.packs.add(pack.pack_id, passage.passage_id)
    return {"doc_id": doc.doc_id, "number": 1, "passage_id": passage.passage_id, "theme_id": "neglect",
            "pack_id": pack.pack_id, "item_id": item, "name": "counts", "fmt": "csv", "filename": "scrkb.css"}


def call(client, method: str, url: str, data: dict | None = None):
    """One request, read in full and closed (a static file's response holds the file open until then)."""
    response = client.open(url, method=method, data=data)
    response.get_data()
    response.close()
    return response


class ActiveContent(HTMLParser):
    """Collects what a CSP would have to block: inline scripts, event-handler attributes, style attributes."""

    def __init__(self):
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        names = {name for name, _ in attrs}
        if tag == "script" and "src" not in names:
            self.found.append("inline <script>")
        self.found += [f"{tag} {name}=" for name in names if name.startswith("on") or name == "style"]


def routes(app, samples):
    """(endpoint, method, url) for every route the app has."""
    with app.test_request_context():
        from flask import url_for

        for rule in app.url_map.iter_rules():
            values = {arg: samples[arg] for arg in rule.arguments}
            if rule.endpoint == "packs.download":
                values["fmt"] = "md"
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                yield rule.endpoint, method, url_for(rule.endpoint, **values)


def test_every_route_has_an_access_rule(app):
    for rule in app.url_map.iter_rules():
        permission = permission_for(rule.endpoint)  # KeyError for a route nobody has classified
        assert permission in (None, "read", "packs", "research", "review", "admin"), rule


def test_an_unclassified_route_is_closed(store):
    app = create_app(store, {"TESTING": True})
    app.add_url_rule("/new-thing", "new_thing", lambda: "should not be seen")
    client = signed_in(app, "admin")
    response = client.get("/new-thing")
    assert response.status_code == 403 and "should not be seen" not in response.get_data(as_text=True)


def test_anonymous_visitors_are_sent_to_sign_in(app, samples):
    client = app.test_client()
    for endpoint, method, url in routes(app, samples):
        if permission_for(endpoint) is None:
            continue
        data = {"csrf_token": csrf(client)} if method == "POST" else None
        response = call(client, method, url, data)
        if url.startswith("/api/"):
            assert response.status_code == 401 and response.json["error"]["status"] == 401, url
        else:
            assert response.status_code == 302 and "/login?next=" in response.location, (method, url)


@pytest.mark.parametrize("role", ROLES)
def test_each_role_reaches_its_pages_and_only_those(app, samples, role):
    client = signed_in(app, role)
    token = csrf(client, "/")
    for endpoint, method, url in routes(app, samples):
        if endpoint.startswith("auth."):
            continue  # signing in and out have their own tests below
        data = {"csrf_token": token} if method == "POST" else None
        response = call(client, method, url, data)
        needed = permission_for(endpoint)
        if needed is None or needed in PERMISSIONS[role]:
            assert response.status_code not in (401, 403) and response.status_code < 500, (role, method, url)
        else:
            assert response.status_code == 403, (role, method, url, response.status_code)


def test_navigation_offers_only_what_the_role_may_open(app):
    reader = signed_in(app, "reader").get("/").get_data(as_text=True)
    assert "Learning packs" not in reader and "Dashboard" not in reader and "/admin/" not in reader
    assert 'id="signed-in">reader (reader)' in reader
    admin = signed_in(app, "admin").get("/").get_data(as_text=True)
    assert "Learning packs" in admin and "Dashboard" in admin and "/admin/users" in admin


def test_wrong_passwords_fail_and_then_sign_in_is_throttled_across_processes(store, app):
    store.accounts.add("throttled", PASSWORD, "reader")
    client = app.test_client()
    for _ in range(FAILURES_PER_USER):
        response = client.post("/login", data={"username": "throttled", "password": "wrong password!",
                                               "csrf_token": csrf(client)})
        assert response.status_code == 401 and "do not match" in response.get_data(as_text=True)
    # A second app on the same store, as another gunicorn worker: it shares nothing but the database.
    other = create_app(team(store), {"TESTING": True}).test_client()
    response = other.post("/login", data={"username": "throttled", "password": PASSWORD, "csrf_token": csrf(other)})
    assert response.status_code == 429 and "Too many failed sign-ins" in response.get_data(as_text=True)
    actions = [e.action for e in store.accounts.events("throttled")]
    assert actions.count("login_failed") == FAILURES_PER_USER and "login_throttled" in actions


def test_unknown_names_and_wrong_passwords_get_the_same_answer(app):
    client = app.test_client()
    unknown = client.post("/login", data={"username": "nobody", "password": "x" * 20, "csrf_token": csrf(client)})
    wrong = client.post("/login", data={"username": "reader", "password": "x" * 20, "csrf_token": csrf(client)})
    assert unknown.status_code == wrong.status_code == 401
    same = [TOKEN.sub("", re.sub("nobody|reader", "", r.get_data(as_text=True))) for r in (unknown, wrong)]
    assert same[0] == same[1]


@pytest.mark.parametrize("target, lands", [
    ("/themes", "/themes"), ("//evil.example/x", "/"), ("https://evil.example/", "/"), ("/\\evil.example", "/"),
])
def test_sign_in_returns_only_to_this_site(app, target, lands):
    client = app.test_client()
    response = client.post("/login", data={"username": "reader", "password": PASSWORD, "next": target,
                                           "csrf_token": csrf(client)})
    assert response.status_code == 303 and response.location == lands


def test_session_cookie_flags(store, app):
    client = app.test_client()
    csrf(client)
    cookie = client.get_cookie("scrkb_session")
    assert cookie.http_only and cookie.same_site == "Lax" and not cookie.secure  # loopback, plain http
    secure = create_app(team(store, secure_cookies="on"), {"TESTING": True}).test_client()
    response = secure.get("/login")
    assert "Secure" in response.headers["Set-Cookie"] and "HttpOnly" in response.headers["Set-Cookie"]


def test_every_change_needs_a_csrf_token(app, samples):
    client = signed_in(app, "admin")
    for endpoint, method, url in routes(app, samples):
        if method == "POST":
            for data in ({}, {"csrf_token": "forged"}):
                response = client.post(url, data=data)
                assert response.status_code == 400 and "CSRF" in response.get_data(as_text=True), url
    assert client.get("/packs").status_code == 200  # still signed in: nothing was changed or logged out


def test_a_token_from_another_session_is_refused(app):
    mine, theirs = signed_in(app, "trainer"), signed_in(app, "admin")
    response = mine.post("/packs", data={"title": "Forged", "csrf_token": csrf(theirs, "/")})
    assert response.status_code == 400


def test_logout_is_a_post_with_a_token_and_ends_the_session(app):
    client = signed_in(app, "reader")
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 400  # no token: a link on another site cannot sign you out
    response = client.post("/logout", data={"csrf_token": csrf(client, "/")})
    assert response.status_code == 303 and response.location == "/login"
    assert client.get("/search").status_code == 302


def test_role_changes_apply_at_once_and_removal_or_a_new_password_ends_sessions(store, app):
    store.accounts.add("changing", PASSWORD, "trainer")
    client = signed_in(app, "changing")
    assert client.get("/packs").status_code == 200
    store.accounts.set_role("changing", "reader")
    assert client.get("/packs").status_code == 403
    store.accounts.set_password("changing", "another long password")
    assert client.get("/search").status_code == 302
    client = signed_in(app, "changing", "another long password")
    store.accounts.remove("changing")
    assert client.get("/search").status_code == 302
    store.accounts.add("changing", PASSWORD, "admin")  # a new account with the old name is not the old session
    assert client.get("/admin/users").status_code == 302


def test_admin_manages_users_on_the_web(store, app):
    client = signed_in(app, "admin")
    token = csrf(client, "/admin/users")
    assert client.post("/admin/users/add", data={"username": "webmade", "password": PASSWORD, "role": "researcher",
                                                 "csrf_token": token}).status_code == 303
    assert store.accounts.by_name("webmade").role == "researcher"
    assert client.post("/admin/users/add", data={"username": "weak", "password": "short", "role": "reader",
                                                 "csrf_token": token}).status_code == 400
    assert client.post("/admin/users/role", data={"username": "webmade", "role": "root",
                                                  "csrf_token": token}).status_code == 400
    assert client.post("/admin/users/role", data={"username": "admin", "role": "reader",
                                                  "csrf_token": token}).status_code == 400  # not yourself
    assert client.post("/admin/users/remove", data={"username": "webmade", "csrf_token": token}).status_code == 303
    assert store.accounts.by_name("webmade") is None
    actions = [(e.action, e.target) for e in store.accounts.events("admin", limit=10)]
    assert ("user_add", "webmade") in actions and ("user_remove", "webmade") in actions


def test_reading_and_exporting_are_audited_and_the_log_exports_formula_safe(store, app, samples):
    client = signed_in(app, "researcher")
    doc_id = samples["doc_id"]
    client.get(f"/documents/{doc_id}")
    client.get(f"/documents/{doc_id}/pages/1")
    client.get(f"/documents/{doc_id}/pages/1.png")
    client.get("/api/v1/exports/evidence.csv?theme=neglect&min_score=0.2")
    client.get("/documents/not-a-document")  # a 404 reads nothing, so it is not logged
    events = store.accounts.events("researcher", limit=10)
    logged = [(e.action, e.target) for e in events]
    assert ("view_document", doc_id) in logged and ("view_page", doc_id) in logged
    assert ("view_page_image", doc_id) in logged and ("login", "") in logged
    export = next(e for e in events if e.action == "export")
    assert export.target == "/api/v1/exports/evidence.csv"
    assert export.detail["args"] == {"theme": ["neglect"], "min_score": ["0.2"]}
    assert not any(e.target == "not-a-document" for e in events)

    bad = app.test_client()
    bad.post("/login", data={"username": "=cmd|' /C calc'!A0", "password": "x" * 12, "csrf_token": csrf(bad)})
    admin = signed_in(app, "admin")
    page = admin.get("/admin/audit?user=researcher").get_data(as_text=True)
    assert "view_document" in page and "/api/v1/exports/evidence.csv" in page
    assert signed_in(app, "reader").get("/admin/audit").status_code == 403
    download = admin.get("/admin/audit.csv")
    rows = list(csv.reader(io.StringIO(download.get_data(as_text=True))))
    assert rows[0] == ["at", "username", "action", "target", "detail", "address"]
    assert ["'=cmd|' /C calc'!A0", "login_failed"] in [r[1:3] for r in rows]  # the name as typed, made inert
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)
    assert store.accounts.events("admin", "export_audit")


def test_security_headers_on_pages_api_errors_and_files(app):
    client = signed_in(app, "admin")
    for url in ("/", "/login", "/api/v1/themes", "/documents/nope", "/static/scrkb.css", "/admin/audit.csv"):
        headers = call(client, "GET", url).headers
        csp = headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp, url
        assert headers["X-Content-Type-Options"] == "nosniff" and headers["X-Frame-Options"] == "DENY", url
        assert headers["Referrer-Policy"] == "same-origin", url


def test_pages_carry_no_inline_script_or_handlers(app, samples):
    client = signed_in(app, "admin")
    for endpoint, method, url in routes(app, samples):
        if method != "GET":
            continue
        response = call(client, "GET", url)
        if response.mimetype != "text/html":
            continue
        parser = ActiveContent()
        parser.feed(response.get_data(as_text=True))
        assert parser.found == [], url
