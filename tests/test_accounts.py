"""Accounts, roles, throttling and the audit log in kb; `scrkb users` and `scrkb audit`; the sign-in settings."""

from __future__ import annotations

import csv
import io
import json
import stat
import subprocess
import sys

import pytest
from conftest import run_cli

from kb import KnowledgeBase, Settings
from kb.store.accounts import FAILURES_PER_USER, AccountError, Accounts, Throttled
from kb.store.secret_key import load_or_create
from webapp import create_app

PASSWORD = "a long enough password"


@pytest.fixture
def accounts(tmp_path) -> Accounts:
    return Accounts(tmp_path / "accounts.sqlite3")


def test_passwords_are_stored_hashed_in_a_private_file(accounts):
    accounts.add("ann", PASSWORD, "trainer")
    assert stat.S_IMODE(accounts.path.stat().st_mode) == 0o600
    stored = accounts.db.execute("SELECT password_hash FROM users").fetchone()[0]
    assert PASSWORD not in stored and stored.startswith(("scrypt:", "pbkdf2:"))
    assert PASSWORD.encode() not in accounts.path.read_bytes()


def test_a_server_closing_the_accounts_does_not_pull_them_from_under_another_process(accounts):
    # A web app here has the accounts open while a second handle on the same store is made (as the
    # command line and the tests do) and a server in another process stops. SQLite's file locks belong
    # to the process, and closing any other descriptor of the file drops them all: the server would then
    # take itself for the last user, delete the write-ahead log, and this process's next writes would
    # go to a deleted file and read back as a damaged database.
    accounts.add("ann", PASSWORD, "reader")
    Accounts(accounts.path)
    server = ("import sys; from kb.store.accounts import Accounts; a = Accounts(sys.argv[1]); "
              "a.add('bea', sys.argv[2], 'reader'); a.close()")
    subprocess.run([sys.executable, "-c", server, str(accounts.path), PASSWORD], check=True)
    assert accounts.path.with_name(f"{accounts.path.name}-wal").exists()
    accounts.add("cal", PASSWORD, "reader")
    accounts.close()
    again = Accounts(accounts.path)
    assert {u.username for u in again.list()} == {"ann", "bea", "cal"}
    assert again.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


@pytest.mark.parametrize("username, password, role", [
    ("", PASSWORD, "reader"), ("../etc", PASSWORD, "reader"), ("a b", PASSWORD, "reader"),
    ("=cmd", PASSWORD, "reader"), ("x" * 65, PASSWORD, "reader"), ("ann", "short", "reader"),
    ("ann", "p" * 1025, "reader"), ("ann", PASSWORD, "root"),
])
def test_bad_accounts_are_refused(accounts, username, password, role):
    with pytest.raises(AccountError):
        accounts.add(username, password, role)


def test_roles_and_permissions(accounts):
    reader, trainer = accounts.add("r", PASSWORD, "reader"), accounts.add("t", PASSWORD, "trainer")
    researcher, admin = accounts.add("s", PASSWORD, "researcher"), accounts.add("a", PASSWORD, "admin")
    assert reader.can("read") and not reader.can("packs") and not reader.can("research")
    assert trainer.can("packs") and not trainer.can("research") and not trainer.can("admin")
    assert researcher.can("research") and not researcher.can("packs")
    assert all(admin.can(p) for p in ("read", "packs", "research", "admin"))
    with pytest.raises(AccountError):
        accounts.add("R", PASSWORD, "reader")  # names are case-insensitive


def test_failures_are_counted_per_name_and_success_clears_them(accounts):
    accounts.add("ann", PASSWORD, "reader")
    for _ in range(FAILURES_PER_USER - 1):
        assert accounts.authenticate("ann", "wrong", "10.0.0.1") is None
    assert accounts.authenticate("ann", PASSWORD, "10.0.0.1").username == "ann"
    for _ in range(FAILURES_PER_USER):
        accounts.authenticate("ann", "wrong", "10.0.0.2")
    other = Accounts(accounts.path)  # another process's view of the same file
    with pytest.raises(Throttled):
        other.authenticate("ann", PASSWORD, "10.0.0.3")


def test_audit_events_filter_and_export(accounts):
    accounts.record("ann", "view_document", "abc", {"path": "/documents/abc"}, "10.0.0.1")
    accounts.record("bob", "export", "-2+3", {"args": {"q": ["@SUM(1)"]}})
    assert [e.action for e in accounts.events()] == ["export", "view_document"]
    assert [e.username for e in accounts.events(action="view_document")] == ["ann"]
    assert accounts.count_events(username="bob") == 1
    from kb.store.accounts import audit_csv

    rows = list(csv.reader(io.StringIO(audit_csv(accounts.events()).decode())))
    assert rows[1][3] == "'-2+3"


def test_users_commands(tmp_path):
    home = tmp_path / "kb"
    run_cli("users", "add", "ann", "--role", "trainer", "--password-stdin", home=home, input=PASSWORD + "\n")
    listed = json.loads(run_cli("users", "list", "--json", home=home).stdout)
    assert [(u["username"], u["role"]) for u in listed] == [("ann", "trainer")] and "password_hash" not in listed[0]
    run_cli("users", "set-role", "ann", "researcher", home=home)
    run_cli("users", "set-password", "ann", "--password-stdin", home=home, input="another long password\n")
    refused = run_cli("users", "add", "bob", "--password-stdin", home=home, input="short\n", check=False)
    assert refused.returncode == 1 and "12" in refused.stderr
    assert run_cli("users", "remove", "nobody", home=home, check=False).returncode == 1
    accounts = KnowledgeBase(Settings(home=home)).accounts
    assert accounts.authenticate("ann", "another long password", "").role == "researcher"
    run_cli("users", "remove", "ann", home=home)
    log = list(csv.DictReader(io.StringIO(run_cli("audit", home=home).stdout)))
    assert [r["action"] for r in log] == ["user_remove", "user_password", "user_role", "user_add"]
    assert all(r["username"].startswith("cli:") and r["target"] == "ann" for r in log)


def test_open_access_only_on_loopback(tmp_path):
    assert not Settings(home=tmp_path, host="127.0.0.1").login_required()
    assert not Settings(home=tmp_path, host="::1").login_required()
    assert Settings(home=tmp_path, host="0.0.0.0").login_required()
    assert Settings(home=tmp_path, host="reports.example.org").login_required()
    assert Settings(home=tmp_path, host="127.0.0.1", login="required").login_required()
    with pytest.raises(ValueError, match="only allowed on a loopback"):
        Settings(home=tmp_path, host="0.0.0.0", login="off").login_required()
    with pytest.raises(ValueError, match="only allowed on a loopback"):
        create_app(KnowledgeBase(Settings(home=tmp_path, host="192.168.1.5", login="off")))
    served = run_cli("serve", "--host", "0.0.0.0", home=tmp_path / "kb", env={"SCRKB_LOGIN": "off"}, check=False)
    assert served.returncode == 1 and "only allowed on a loopback" in served.stderr


def test_cookies_are_secure_beyond_loopback(tmp_path):
    assert not Settings(home=tmp_path).cookies_secure()
    assert Settings(home=tmp_path, host="0.0.0.0").cookies_secure()
    assert not Settings(home=tmp_path, host="0.0.0.0", secure_cookies="off").cookies_secure()
    app = create_app(KnowledgeBase(Settings(home=tmp_path, host="0.0.0.0")))
    assert app.config["SESSION_COOKIE_SECURE"] and app.config["SESSION_COOKIE_HTTPONLY"]


def test_secret_key_is_made_once_privately_and_kept(tmp_path):
    path = tmp_path / "private" / "secret_key"
    key = load_or_create(path)
    assert len(key) == 64 and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create(path) == key
    assert not list(path.parent.glob(".secret_key.*"))  # no temporary file left behind
    app = create_app(KnowledgeBase(Settings(home=tmp_path / "kb", secret_key_file=path)))
    assert app.secret_key == key
    path.chmod(0o644)
    with pytest.raises(PermissionError):
        load_or_create(path)


def test_default_secret_key_lives_in_the_store_home(tmp_path):
    create_app(KnowledgeBase(Settings(home=tmp_path / "kb")))
    assert (tmp_path / "kb" / "secret_key").exists()
