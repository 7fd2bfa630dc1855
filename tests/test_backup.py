"""`scrkb backup` and `scrkb restore`: a backup taken while an ingest is writing restores elsewhere to the same
documents and the same search results; damaged archives, busy folders and passwords are handled with care."""

from __future__ import annotations

import io
import json
import shutil
import sqlite3
import tarfile
from pathlib import Path

import pytest
from conftest import run_cli
from pdfs import distinct_reports
from processes import kill, start_ingest, wait_until_halted

from kb import KnowledgeBase, Settings
from kb.store.schema import SCHEMA_VERSION

REPORTS = 3
QUERIES = ["the health visitor did not share the concerns", "history of the family was not considered",
           "who lives in the home"]
FIXTURE = Path(__file__).parent / "data" / "stores" / "schema-1"


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    return distinct_reports(tmp_path_factory.mktemp("backup") / "reports", REPORTS)[0].parent


def answers(home: Path) -> dict:
    """What the store at `home` answers: its documents and paths, and every query's hits in every mode."""
    kb = KnowledgeBase(Settings(home=home, catalogue=home / "none.csv"))
    return {
        "documents": sorted((d.doc_id, d.sha256, tuple(kb.catalogue.paths_of(d.doc_id))) for d in kb.documents()),
        "passages": sorted(kb.catalogue.all_passage_ids()),
        "searches": {(mode, q): [h.passage_id for h in kb.search(q, k=10, mode=mode).hits]
                     for q in QUERIES for mode in ("hybrid", "keyword", "semantic")},
    }


@pytest.mark.parametrize(("stage", "pending"), [
    ("indexed", 0),  # between documents: the second is stored and indexed, the third not yet parsed
    ("stored", 1),   # the second document is committed, its vectors not yet in the index
])
def test_a_backup_taken_during_an_ingest_restores_elsewhere_to_the_same_answers(reports, tmp_path, stage, pending):
    source, target, archive = tmp_path / "source", tmp_path / "restored", tmp_path / "store.tar.gz"
    source.mkdir()
    run_cli("users", "add", "keeper", "--role", "admin", "--password-stdin", home=source,
            input="a long enough password\n")
    ingest = start_ingest(reports, source, f"{stage}:2")
    try:
        wait_until_halted(ingest, source)
        backup = run_cli("backup", str(archive), "--json", home=source)  # the ingest is mid-run, holding its lock
    finally:
        kill(ingest)
    # What the source holds at the backup, once its derived indexes catch up with its catalogue (a copy,
    # so that the source itself is left to resume below): a pending document is in the catalogue, and
    # the keyword and vector indexes are written after it.
    caught_up = tmp_path / "source-caught-up"
    shutil.copytree(source, caught_up)
    run_cli("reindex", home=caught_up)
    at_backup = answers(caught_up)
    manifest = json.loads(backup.stdout)
    assert manifest["documents"] == 2 and manifest["schema_version"] == SCHEMA_VERSION
    assert set(manifest["members"]) == {"catalogue.sqlite3"}  # no passwords without --with-accounts
    with sqlite3.connect(source / "catalogue.sqlite3") as db:
        assert db.execute("SELECT COUNT(*) FROM documents WHERE vectors_done = 0").fetchone()[0] == pending
    db.close()

    restored = json.loads(run_cli("restore", str(archive), "--json", home=target).stdout)  # exit 0: check passed
    assert restored["check"]["consistent"] and restored["check"]["passages"] == len(at_backup["passages"])
    assert restored["vectors_rebuilt"] == 2 and not restored["accounts"]
    assert json.loads(run_cli("check", "--json", home=target).stdout)["consistent"]
    assert answers(target) == at_backup
    assert not (target / "accounts.sqlite3").exists()

    # The source, whose ingest was killed mid-run, finishes on its next run, as always.
    summary = json.loads(run_cli("ingest", str(reports), "--json", home=source).stdout)
    assert summary["documents"] == REPORTS and summary["resumed"] == pending


def test_restore_checks_every_member_and_a_damaged_archive_changes_nothing(tmp_path):
    archive = tmp_path / "store.tar"
    run_cli("backup", str(archive), "--with-accounts", home=_fixture_copy(tmp_path))
    with tarfile.open(archive) as tar:
        members = {m.name: m for m in tar.getmembers()}
    assert list(members)[0] == "manifest.json" and set(members) == {"manifest.json", "catalogue.sqlite3",
                                                                     "accounts.sqlite3"}
    assert archive.stat().st_mode & 0o077 == 0  # report text and password hashes: for the owner only

    # One byte changed inside the catalogue: its checksum no longer matches.
    damaged = tmp_path / "damaged.tar"
    data = bytearray(archive.read_bytes())
    data[members["catalogue.sqlite3"].offset_data + 5000] ^= 0xFF
    damaged.write_bytes(bytes(data))
    # Cut short, compressed: gzip itself notices.
    run_cli("backup", str(tmp_path / "whole.tar.gz"), home=tmp_path / "fixture")
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes((tmp_path / "whole.tar.gz").read_bytes()[:-3000])
    for bad, sentence in ((damaged, "is damaged: catalogue.sqlite3 does not match its SHA-256 in the manifest."),
                          (cut, "is damaged or not an scrkb backup"),
                          (tmp_path / "whole.tar.gz.nope", "There is no backup at")):
        target = tmp_path / f"into-{bad.name}"
        result = run_cli("restore", str(bad), home=target, check=False)
        assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
        assert sentence in result.stderr and len(result.stderr.strip().splitlines()) == 1
        assert not target.exists()
    assert not list(tmp_path.glob(".scrkb-restore-*"))  # the staging folders went too


def test_restore_refuses_a_folder_in_use_unless_forced_and_restores_accounts_only_when_backed_up(tmp_path):
    archive = tmp_path / "with-accounts.tar"
    run_cli("backup", str(archive), "--with-accounts", home=_fixture_copy(tmp_path))
    target = tmp_path / "target"
    target.mkdir()
    (target / "notes.txt").write_text("an admin's notes")
    refused = run_cli("restore", str(archive), home=target, check=False)
    assert refused.returncode == 1
    assert refused.stderr.strip() == (f"Error: {target} is not empty: restore into a new folder, or add --force to "
                                      "replace its catalogue and indexes.")
    assert sorted(p.name for p in target.iterdir()) == ["notes.txt"]

    restored = json.loads(run_cli("restore", str(archive), "--force", "--json", home=target).stdout)
    assert restored["accounts"] and restored["check"]["consistent"] and restored["schema_version"] == 1
    assert "from schema 1 to" in restored["migrated"]  # a backup of an older store is migrated on restore
    assert (target / "notes.txt").exists()  # other files stay
    kb = KnowledgeBase(Settings(home=target))
    assert kb.accounts.authenticate("fixture-admin", "fixture password 1", "127.0.0.1") is not None
    assert (target / "accounts.sqlite3").stat().st_mode & 0o077 == 0


def test_an_archive_from_a_newer_scrkb_is_refused(tmp_path):
    archive = tmp_path / "store.tar"
    run_cli("backup", str(archive), home=_fixture_copy(tmp_path))
    newer = tmp_path / "newer.tar"
    with tarfile.open(archive) as old, tarfile.open(newer, "w") as new:
        for member in old.getmembers():
            data = old.extractfile(member).read()
            if member.name == "manifest.json":
                manifest = json.loads(data)
                manifest["schema_version"] = SCHEMA_VERSION + 1
                data = json.dumps(manifest).encode()
                member.size = len(data)
            new.addfile(member, io.BytesIO(data))
    result = run_cli("restore", str(newer), home=tmp_path / "target", check=False)
    assert result.returncode == 1 and f"schema {SCHEMA_VERSION + 1}, newer than schema {SCHEMA_VERSION}" in result.stderr
    assert not (tmp_path / "target").exists()


def _fixture_copy(tmp_path: Path) -> Path:
    home = tmp_path / "fixture"
    home.mkdir(exist_ok=True)
    for name in ("catalogue.sqlite3", "accounts.sqlite3"):
        (home / name).write_bytes((FIXTURE / name).read_bytes())
    return home
