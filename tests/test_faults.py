"""Faults a store meets over the years, met by real processes: a full disk during an ingest, a Chroma server that
accepts connections and never answers, a store folder made read-only. Each ends in one sentence, never a traceback."""

from __future__ import annotations

import ctypes
import json
import os
import resource
import stat
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import run_cli
from pdfs import distinct_reports
from processes import HANG, scrkb
from servers import free_port, silent_server

from kb import KnowledgeBase, Settings
from webapp import create_app

# A file-size limit (RLIMIT_FSIZE) stands for the full disk: it needs no privileges and works on any
# file system, and a write past it fails as a write to a full disk does. 64 kB is less than the WAL of
# one document's transaction, so the catalogue's write fails (before any vector is written).
FILE_LIMIT = 64 * 1024
PR_CAPBSET_DROP, CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER = 24, 1, 2, 3


def run_scrkb(*args: str, home: Path, env: dict | None = None, preexec_fn=None) -> subprocess.CompletedProcess:
    return subprocess.run([scrkb(), *args], env={**os.environ, "SCRKB_HOME": str(home), **(env or {})},
                          capture_output=True, text=True, timeout=HANG, preexec_fn=preexec_fn)


def one_sentence(result: subprocess.CompletedProcess) -> str:
    """The command's only output on stderr: one line, no traceback."""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    return lines[0]


def test_a_full_disk_during_an_ingest_names_the_file_and_the_next_run_resumes(tmp_path):
    reports = distinct_reports(tmp_path / "reports", 3)
    home = tmp_path / "kb"
    run_cli("ingest", str(reports[0]), home=home)

    def small_disk() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_LIMIT, FILE_LIMIT))

    full = run_scrkb("ingest", str(reports[0].parent), "--json", home=home, preexec_fn=small_disk)
    assert full.returncode == 5 and full.stdout == ""
    assert one_sentence(full) == (f"Error: Cannot write or read {home / 'catalogue.sqlite3'}: a disk I/O error: the "
                                  "disk is full, a file-size limit was reached, or the disk is failing.")
    check = json.loads(run_cli("check", "--json", home=home).stdout)  # exit 0: consistent
    assert check["consistent"] and check["passages"] == check["vectors"]
    kb = KnowledgeBase(Settings(home=home))
    assert len(kb.documents()) == 1 and kb.failures() == []  # nothing half-written, no file blamed

    summary = json.loads(run_cli("ingest", str(reports[0].parent), "--json", home=home).stdout)
    assert summary["unchanged"] == 1 and summary["ingested"] == 2 and summary["failed"] == []
    assert json.loads(run_cli("check", "--json", home=home).stdout)["consistent"]


def test_a_chroma_server_that_never_answers_stops_commands_and_pages_within_the_timeout(ingested, tmp_path):
    with silent_server() as url:
        env = {"SCRKB_CHROMA_URL": url, "SCRKB_CHROMA_TIMEOUT": "2"}
        for args in (["check"], ["search", "health visitor"], ["serve", "--port", str(free_port())]):
            result = run_scrkb(*args, home=ingested.settings.home, env=env)
            assert result.returncode == 1, (args, result.stderr)
            assert one_sentence(result) == (f"Error: the Chroma server at {url} did not answer within 2 s "
                                            "(SCRKB_CHROMA_TIMEOUT)"), args
        silent = KnowledgeBase(replace(ingested.settings, chroma_url=url, chroma_timeout=2))
        client = create_app(silent, {"TESTING": True}).test_client()
        for page in ("/search?q=health+visitor", "/api/v1/search?q=health+visitor"):
            response = client.get(page)
            assert response.status_code == 503
            assert "The search index is not reachable just now" in response.get_data(as_text=True)
        assert client.get("/search?q=health+visitor&theme=neglect").status_code == 200  # filtered: no Chroma call


def drop_root_file_powers() -> None:
    """Run as root would without overriding file permissions, so a read-only folder is read-only to it too."""
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER):
        if libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


@pytest.fixture
def read_only_store(tmp_path, child_s_pdf):
    home = tmp_path / "kb"
    run_cli("ingest", str(child_s_pdf), home=home)
    modes = {path: path.stat().st_mode for path in [home, *home.rglob("*")]}
    for path, mode in modes.items():
        path.chmod(mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))  # chmod -R a-w
    yield home
    for path, mode in modes.items():
        path.chmod(mode)


def test_a_read_only_store_is_refused_with_a_sentence_by_every_command(read_only_store, child_s_pdf):
    preexec = drop_root_file_powers if os.geteuid() == 0 else None
    for args in (["stats"], ["ingest", str(child_s_pdf)], ["search", "health visitor"],
                 ["serve", "--port", str(free_port())]):
        result = run_scrkb(*args, home=read_only_store, preexec_fn=preexec)
        assert result.returncode == 5, (args, result.stderr)
        sentence = one_sentence(result)
        assert sentence.startswith(f"Error: Cannot write or read {read_only_store}"), sentence
        assert "read-only for this user" in sentence or "cannot be opened" in sentence, sentence
    # Reading it out still works: a backup taken elsewhere, from the untouched files.
    archive = read_only_store.parent / "from-read-only.tar"
    backup = run_scrkb("backup", str(archive), home=read_only_store, preexec_fn=preexec)
    assert backup.returncode == 0 and "Backed up 1 document(s)" in backup.stdout, backup.stderr


def test_what_cannot_be_written_to_the_audit_log_is_not_shown(ingested):
    kb = KnowledgeBase(ingested.settings)
    client = create_app(kb, {"TESTING": True}).test_client()
    [document] = kb.documents()
    assert client.get(f"/documents/{document.doc_id}").status_code == 200
    kb.accounts.db.execute("PRAGMA query_only = ON")  # the accounts file refuses writes, as on a full disk
    try:
        for url in (f"/documents/{document.doc_id}", f"/api/v1/documents/{document.doc_id}"):
            response = client.get(url)
            assert response.status_code == 503, url
            assert "could not be recorded in the audit log" in response.get_data(as_text=True)
            assert "Riverton" not in response.get_data(as_text=True)  # none of the report
    finally:
        kb.accounts.db.execute("PRAGMA query_only = OFF")
