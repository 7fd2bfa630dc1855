"""Schema migrations: every older store kept in tests/data/stores opens with this code, migrated in place on a
copy, searches as it did, and passes `scrkb check`; newer or unknown schemas are refused with one sentence."""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
from pathlib import Path

import pytest
from conftest import ingested_store, run_cli

from kb import KnowledgeBase, Settings
from kb.research.exports import UNKNOWN_MODEL
from kb.store import migrations
from kb.store.catalogue import Catalogue
from kb.store.errors import SchemaError
from kb.store.migrations import MIGRATIONS, Migration, run_sql
from kb.store.schema import SCHEMA_VERSION
from kb.themes.model import MODEL_FILE
from webapp import create_app

STORES = Path(__file__).parent / "data" / "stores"
FIXTURES = sorted(STORES.glob("schema-*"), key=lambda p: int(p.name.split("-")[1]))


def copy_of(fixture: Path, tmp_path: Path) -> Path:
    home = tmp_path / fixture.name
    home.mkdir()
    for name in ("catalogue.sqlite3", "accounts.sqlite3"):
        shutil.copy(fixture / name, home / name)
    return home


def version_of(path: Path) -> int:
    with sqlite3.connect(path) as db:
        return int(db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0])


def layout(path: Path) -> dict:
    """Every table's columns (in order, with type, NOT NULL and default), every index's columns, every trigger."""
    db = sqlite3.connect(path)
    try:
        found = {}
        for kind, name in db.execute("SELECT type, name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' "
                                     "AND name NOT LIKE 'passages_fts_%' ORDER BY name"):
            if kind == "table":
                found[name] = [tuple(r[1:6]) for r in db.execute(f"PRAGMA table_xinfo({name})")]
            elif kind == "index":
                found[name] = [r[2] for r in db.execute(f"PRAGMA index_info({name})")]
            else:
                found[name] = kind
        return found
    finally:
        db.close()


def test_there_is_a_fixture_for_every_earlier_schema_and_the_steps_chain_to_this_one():
    assert [int(p.name.split("-")[1]) for p in FIXTURES] == list(range(1, SCHEMA_VERSION))
    assert [(m.from_version, m.to_version) for m in MIGRATIONS] == [(v, v + 1) for v in range(1, SCHEMA_VERSION)]


@pytest.mark.parametrize("fixture", FIXTURES, ids=[p.name for p in FIXTURES])
def test_an_older_store_is_migrated_on_a_copy_and_searches_as_it_did(fixture, tmp_path):
    expected = json.loads((fixture / "expected.json").read_text())
    home = copy_of(fixture, tmp_path)
    catalogue = home / "catalogue.sqlite3"
    before = catalogue.read_bytes()

    dry = run_cli("migrate", "--dry-run", home=home)
    assert f"schema {expected['schema_version']}; this scrkb uses schema {SCHEMA_VERSION}" in dry.stdout
    assert catalogue.read_bytes() == before  # a dry run changes nothing

    # Any command migrates an older store; the message names the copy it took first.
    stats = run_cli("stats", "--json", home=home)
    [copy] = home.glob("catalogue.schema-*.sqlite3")
    assert stats.stderr.strip() == (f"Migrated the catalogue at {catalogue} from schema {expected['schema_version']} "
                                    f"to {SCHEMA_VERSION}; the catalogue as it was before is at {copy}.")
    assert json.loads(stats.stdout) == expected["stats"]
    assert version_of(catalogue) == SCHEMA_VERSION and version_of(copy) == expected["schema_version"]
    fresh = Catalogue(tmp_path / "fresh" / "catalogue.sqlite3")
    assert layout(catalogue) == layout(fresh.path)  # the steps reach exactly what a new store is made with
    assert run_cli("migrate", home=home).stdout.startswith(f"The catalogue at {catalogue} is at schema {SCHEMA_VERSION}")

    # The fixture leaves its vector index out; the catalogue's embeddings rebuild it.
    assert run_cli("check", home=home, check=False).returncode == 1
    run_cli("reindex", home=home)
    assert json.loads(run_cli("check", "--json", home=home).stdout)["consistent"]

    kb = KnowledgeBase(Settings(home=home, catalogue=tmp_path / "none.csv"))
    # It finds what its code found, ranked as this code ranks the same report in a store made today
    # (search improves between versions; a migration must not change what a store holds).
    today = ingested_store(tmp_path / "today", [fixture / "report.pdf"])
    for mode, searches in expected["searches"].items():
        for query, ids in searches.items():
            found = [h.passage_id for h in kb.search(query, k=len(ids) or 5, mode=mode).hits]
            assert sorted(found) == sorted(ids), (mode, query)
            assert found == [h.passage_id for h in today.search(query, k=len(ids) or 5, mode=mode).hits], (mode, query)
    [pack] = kb.packs.list()
    assert pack.title == expected["pack"]["title"]
    assert [item.passage_id for item in kb.packs.get(pack.pack_id).items] == expected["pack"]["passages"]
    user = expected["user"]
    assert kb.accounts.authenticate(user["username"], user["password"], "127.0.0.1").role == user["role"]
    shown = {m.theme_id for p in kb.passages(expected["doc_id"]) for m in p.themes if m.kind == "shows"}
    assert shown == set(expected["themed"])


def test_an_upgraded_store_says_its_tags_came_from_an_unknown_model_until_it_is_retagged(tmp_path):
    home = copy_of(FIXTURES[-1], tmp_path)

    def model_about() -> dict:
        return json.loads(run_cli("export", "counts", "--by", "case", "--format", "json", home=home).stdout)["about"]["model"]

    def theme_pages() -> list[str]:
        client = create_app(KnowledgeBase(Settings(home=home, catalogue=tmp_path / "none.csv")), {"TESTING": True}).test_client()
        return [client.get(page).get_data(as_text=True) for page in ("/themes", "/themes/missed_warning_signs", "/research/")]

    before = model_about()
    assert before["stored_tags_made_by"] == [UNKNOWN_MODEL] and before["stored_tags_all_by_this_model"] is False
    tags = sqlite3.connect(home / "catalogue.sqlite3").execute("SELECT COUNT(*) FROM passage_themes").fetchone()[0]
    assert all(f"{tags} stored tags were made by another tagger model" in page for page in theme_pages())
    run_cli("reindex", home=home)
    run_cli("retag", home=home)
    after = model_about()
    assert after["stored_tags_made_by"] == [hashlib.sha256(MODEL_FILE.read_bytes()).hexdigest()] == [after["file_sha256"]]
    assert after["stored_tags_all_by_this_model"] is True
    assert not any("another tagger model" in page for page in theme_pages())


def test_a_store_from_a_newer_scrkb_is_refused_with_both_versions_named(tmp_path):
    home = copy_of(FIXTURES[-1], tmp_path)
    catalogue = home / "catalogue.sqlite3"
    with sqlite3.connect(catalogue) as db:
        db.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION + 7),))
    db.close()
    for args in (["stats"], ["migrate", "--dry-run"], ["migrate"]):
        result = run_cli(*args, home=home, check=False)
        assert result.returncode == 1 and "Traceback" not in result.stderr
        assert result.stderr.strip() == (f"Error: The catalogue at {catalogue} has schema {SCHEMA_VERSION + 7}, newer "
                                         f"than schema {SCHEMA_VERSION} of this scrkb: upgrade scrkb, or restore a "
                                         "backup made by this version.")
    assert version_of(catalogue) == SCHEMA_VERSION + 7 and not list(home.glob("catalogue.schema-*"))


def test_a_schema_no_step_starts_from_is_refused(tmp_path):
    home = copy_of(FIXTURES[0], tmp_path)
    with sqlite3.connect(home / "catalogue.sqlite3") as db:
        db.execute("UPDATE meta SET value = '0' WHERE key = 'schema_version'")
    db.close()
    with pytest.raises(SchemaError, match=f"has schema 0, which this scrkb cannot migrate to schema {SCHEMA_VERSION}"):
        Catalogue(home / "catalogue.sqlite3")


def test_a_step_that_fails_leaves_the_store_as_it_was(tmp_path, monkeypatch):
    home = copy_of(FIXTURES[-1], tmp_path)  # the version just before this one
    catalogue = home / "catalogue.sqlite3"
    old = version_of(catalogue)
    # A real step on the real file that fails half-way: its first statement runs, its second cannot.
    failing = Migration(old, SCHEMA_VERSION, "a step that fails",
                        run_sql("CREATE TABLE half_done (x); ALTER TABLE no_such_table ADD COLUMN y TEXT"))
    monkeypatch.setattr(migrations, "MIGRATIONS", (failing,))
    with pytest.raises(SchemaError, match="failed .*it is unchanged, and its copy is at"):
        Catalogue(catalogue)
    assert version_of(catalogue) == old
    with sqlite3.connect(catalogue) as db:
        assert not db.execute("SELECT 1 FROM sqlite_master WHERE name = 'half_done'").fetchone()
    db.close()
