"""Housekeeping for a team: the audit log's retention, page images cached on disk (checked, bounded, rebuilt),
and changing one's own password on the web."""

from __future__ import annotations

import getpass
import json
import os
import re
import shutil
from dataclasses import replace

import pytest
from conftest import ingested_store, run_cli

from kb import KnowledgeBase, Settings
from kb.cli.serving import _prepare_store
from kb.store.accounts import Accounts
from kb.store.page_cache import PageImageCache, is_valid_png
from webapp import create_app

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
OLD, NEW = "the first long password", "the second long password"


# --- the audit log ------------------------------------------------------------------------------------------------


def test_pruning_deletes_only_old_events_and_is_itself_audited(tmp_path):
    home = tmp_path / "kb"
    accounts = Accounts(home / "accounts.sqlite3")
    for action in ("login", "view_document", "export", "login"):
        accounts.record("alice", action)
    accounts.db.execute("UPDATE audit SET at = '2001-01-01T00:00:00+00:00' WHERE action != 'login'")

    unset = run_cli("audit", "--prune", home=home, check=False)
    assert unset.returncode == 2 and "SCRKB_AUDIT_DAYS is not set, so every event is kept" in unset.stderr
    assert accounts.count_events() == 4

    pruned = run_cli("audit", "--prune", home=home, env={"SCRKB_AUDIT_DAYS": "30"})
    assert pruned.stdout.startswith("Deleted 2 audit event(s) from before ")
    remaining = accounts.events()
    assert [e.action for e in remaining] == ["audit_prune", "login", "login"]
    assert remaining[0].username == f"cli:{getpass.getuser()}"
    assert remaining[0].detail["deleted"] == 2 and remaining[0].detail["days"] == 30

    # `scrkb serve` prunes as it starts, when SCRKB_AUDIT_DAYS is set; --days overrides the setting.
    _prepare_store(Settings(home=home, audit_days=30), login=False)
    assert accounts.events(action="audit_prune")[0].username == "serve"
    assert json.loads(run_cli("audit", "--json", home=home).stdout)[0]["action"] == "audit_prune"
    assert run_cli("audit", "--prune", "--days", "1", home=home).stdout.startswith("Deleted 0 audit event(s)")


# --- page images --------------------------------------------------------------------------------------------------


@pytest.fixture
def store(tmp_path, child_s_pdf):
    """A store whose report lives in tmp_path, so a test can take the file away."""
    own = shutil.copy(child_s_pdf, tmp_path / "child-s.pdf")
    return ingested_store(tmp_path, [own])


def test_page_images_are_cached_checked_before_serving_and_rebuilt_when_broken(store, tmp_path):
    [document] = store.documents()
    passage = store.passages(document.doc_id)[1]
    first = store.page_png(document.doc_id, 1, passage)
    assert is_valid_png(first)
    [cached] = store.settings.page_cache_dir.rglob("*.png")
    assert cached.read_bytes() == first

    # Served from the cache: with the PDF gone, the cached page still comes, an uncached one cannot.
    pdf = tmp_path / "child-s.pdf"
    pdf.rename(tmp_path / "away.pdf")
    assert store.page_png(document.doc_id, 1, passage) == first
    with pytest.raises(FileNotFoundError):
        store.page_png(document.doc_id, 2, passage)
    (tmp_path / "away.pdf").rename(pdf)

    for damage in (lambda b: b[: len(b) // 2], lambda b: b[:900] + bytes([b[900] ^ 0xFF]) + b[901:], lambda b: b""):
        cached.write_bytes(damage(first))
        assert not is_valid_png(cached.read_bytes())
        assert store.page_png(document.doc_id, 1, passage) == first  # rendered again, never the broken file
        assert cached.read_bytes() == first  # and the cache mended
    cached.unlink()
    assert store.page_png(document.doc_id, 1, passage) == first and cached.exists()

    plain = store.page_png(document.doc_id, 1)  # no outline: an image of its own
    assert plain != first and len(list(store.settings.page_cache_dir.rglob("*.png"))) == 2

    response = create_app(store, {"TESTING": True}).test_client().get(
        f"/documents/{document.doc_id}/pages/1.png?passage={passage.passage_id}")
    assert response.status_code == 200 and response.data == first and response.mimetype == "image/png"

    off = KnowledgeBase(replace(store.settings, page_cache_mb=0))
    shutil.rmtree(store.settings.page_cache_dir)
    assert off.page_png(document.doc_id, 1, passage) == first and not store.settings.page_cache_dir.exists()


def test_the_cache_stays_under_its_size_and_lets_the_least_recently_used_go(store, tmp_path):
    [document] = store.documents()
    image = store.page_png(document.doc_id, 1)
    cache = PageImageCache(tmp_path / "bounded", int(3.5 * len(image)))  # room for three images and a half
    for n in range(3):
        cache.put(f"{n:064x}", image)
        path = next((tmp_path / "bounded").rglob(f"{n:064x}.png"))
        os.utime(path, (1_000_000 + n, 1_000_000 + n))  # an order of use that does not depend on the clock
    assert cache.get(f"{0:064x}") == image  # used again: now the most recent
    cache.put(f"{3:064x}", image)  # the fourth: over the limit, so the least recently used go
    kept = sorted(int(p.stem, 16) for p in (tmp_path / "bounded").rglob("*.png"))
    assert kept == [0, 3] and len(kept) * len(image) <= cache.max_bytes


# --- one's own password -------------------------------------------------------------------------------------------


def csrf(client, url="/login") -> str:
    return TOKEN.search(client.get(url).get_data(as_text=True)).group(1)


def signed_in(app, password: str = OLD):
    client = app.test_client()
    response = client.post("/login", data={"username": "pat", "password": password, "csrf_token": csrf(client)})
    assert response.status_code == 303, response.get_data(as_text=True)
    return client


def test_a_signed_in_user_changes_their_password_and_their_other_sessions_end(tmp_path):
    kb = KnowledgeBase(Settings(home=tmp_path / "kb", catalogue=tmp_path / "none.csv", login="required"))
    kb.accounts.add("pat", OLD, "trainer")
    app = create_app(kb, {"TESTING": True})
    here, elsewhere = signed_in(app), signed_in(app)
    token = csrf(here, "/account/password")

    def change(current, new, again=None, with_token=True):
        data = {"current": current, "new": new, "again": new if again is None else again}
        return here.post("/account/password", data={**data, **({"csrf_token": token} if with_token else {})})

    assert change(OLD, NEW, with_token=False).status_code == 400  # no CSRF token
    wrong = change("not the password", NEW)
    assert wrong.status_code == 401 and "That is not your current password." in wrong.get_data(as_text=True)
    assert change(OLD, NEW, again="something else entirely").status_code == 400
    short = change(OLD, "short")
    assert short.status_code == 400 and "A password must be 12 to 1024 characters long." in short.get_data(as_text=True)
    assert elsewhere.get("/packs").status_code == 200  # nothing changed yet

    done = change(OLD, NEW)
    assert done.status_code == 303 and done.location == "/account/password?changed=1"
    assert here.get("/packs").status_code == 200  # this session goes on under the new password
    assert elsewhere.get("/packs").status_code == 302  # the other one has ended
    assert kb.accounts.authenticate("pat", OLD, "t") is None and kb.accounts.authenticate("pat", NEW, "t")
    assert [e.action for e in kb.accounts.events("pat", limit=3)][:2] == ["password_change", "password_change_failed"]

    local = create_app(KnowledgeBase(replace(kb.settings, login="off")), {"TESTING": True}).test_client()
    assert local.get("/account/password").status_code == 404  # no accounts on a one-person server
