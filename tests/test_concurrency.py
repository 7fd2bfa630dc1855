"""Concurrent writers and readers, as real processes: a second ingest waits for the first (or, asked not to wait,
stops with exit status 4); an ingest while the web app serves shows its documents without a restart, each whole."""

from __future__ import annotations

import json
import os
import subprocess
import threading
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from conftest import run_cli
from pdfs import distinct_reports
from processes import HANG, kill, scrkb, start_ingest, wait_until_halted
from servers import free_port, stop, wait_until_answering

from kb import KnowledgeBase, Settings

REPORTS = 4


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    return distinct_reports(tmp_path_factory.mktemp("concurrency") / "reports", REPORTS)[0].parent


def assert_whole_and_consistent(home: Path, folder: Path) -> None:
    """Every file stored once, under its own path, its passages all there, and the index in step."""
    check = json.loads(run_cli("check", "--json", home=home).stdout)
    assert check["consistent"], check
    kb = KnowledgeBase(Settings(home=home))
    documents = kb.documents()
    assert len(documents) == REPORTS == len({d.sha256 for d in documents})
    paths = [p for d in documents for p in kb.catalogue.paths_of(d.doc_id)]
    assert sorted(paths) == sorted(str(p.resolve()) for p in folder.iterdir())
    assert check["passages"] == sum(len(kb.passages(d.doc_id)) for d in documents)


def test_a_second_ingest_waits_for_the_first_and_nothing_is_stored_twice(reports, tmp_path):
    home = tmp_path / "kb"
    home.mkdir()
    first = start_ingest(reports, home, "parsed:2")  # one file stored, the second parsed, none of it written
    try:
        wait_until_halted(first, home)
        second = start_ingest(reports, home, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        said = ""
        while "is writing to the store" not in said:  # the event: the second says it is waiting
            line = second.stderr.readline()
            assert line, f"the second ingest ended without waiting (exit {second.wait()})"
            said += line
        assert said.strip().endswith(f"scrkb ingest (process {first.pid}) is writing to the store at {home}; "
                                     "waiting for it to finish (Ctrl-C to stop).")
        assert second.poll() is None  # still waiting: the first holds the lock
    finally:
        kill(first)  # the kernel releases the lock with the process
    out, err = second.communicate(timeout=HANG)
    assert second.returncode == 0, err
    summary = json.loads(out)
    assert summary["unchanged"] == 1 and summary["ingested"] == REPORTS - 1 and summary["failed"] == []
    assert_whole_and_consistent(home, reports)


def test_an_ingest_told_not_to_wait_stops_with_exit_status_4(reports, tmp_path):
    home = tmp_path / "kb"
    home.mkdir()
    first = start_ingest(reports, home, "parsed:1")
    try:
        wait_until_halted(first, home)
        result = run_cli("ingest", str(reports), "--no-wait", home=home, check=False)
        assert result.returncode == 4
        assert result.stderr.strip() == (f"Error: scrkb ingest (process {first.pid}) is writing to the store at "
                                         f"{home}; try again when it has finished.")
        retag = subprocess.Popen([scrkb(), "retag"], env={**os.environ, "SCRKB_HOME": str(home)},
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        assert "is writing to the store" in retag.stderr.readline()  # retag waits its turn too
    finally:
        kill(first)
    retag.communicate(timeout=HANG)
    assert retag.returncode == 0


def api(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=HANG) as response:
        return json.loads(response.read())


def searched_documents(base: str, query: str, mode: str) -> set[str]:
    found = api(f"{base}/api/v1/search?{urllib.parse.urlencode({'q': query, 'mode': mode, 'k': 50})}")
    return {hit["doc_id"] for hit in found["hits"]}


def test_an_ingest_while_the_server_runs_shows_whole_documents_without_a_restart(reports, tmp_path):
    home = tmp_path / "kb"
    first_file, *others = sorted(reports.iterdir())
    later = tmp_path / "later"
    later.mkdir()
    for path in others:
        (later / path.name).write_bytes(path.read_bytes())
    run_cli("ingest", str(first_file), home=home)
    port = free_port()
    log = open(tmp_path / "serve.log", "wb")
    server = subprocess.Popen([scrkb(), "serve", "--port", str(port)], env={**os.environ, "SCRKB_HOME": str(home)},
                              stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    query = "the agency did not share the concerns"
    try:
        wait_until_answering(base + "/", server)
        assert len(searched_documents(base, query, "semantic")) == 1

        # Halted just after the catalogue committed the next report, before its vectors and keywords reach
        # the indexes: the server finds it already, whole, by meaning (read from the catalogue)...
        ingest = start_ingest(later, home, "stored:1")
        try:
            wait_until_halted(ingest, home)
            [new] = [d for d in KnowledgeBase(Settings(home=home)).documents() if d.source_path != str(first_file.resolve())]
            assert new.doc_id in searched_documents(base, query, "semantic")
        finally:
            kill(ingest)
        # ...and by words too once the next ingest has resumed it (it halts with the report after it
        # stored, for the last ingest to resume), still without a restart.
        ingest = start_ingest(later, home, "stored:1")
        try:
            wait_until_halted(ingest, home)
            for mode in ("semantic", "hybrid", "keyword"):
                assert new.doc_id in searched_documents(base, query, mode), mode
            shown = api(f"{base}/api/v1/documents/{new.doc_id}")["passages"]
            assert len(shown) == len(KnowledgeBase(Settings(home=home)).passages(new.doc_id))
        finally:
            kill(ingest)

        # The rest goes in while a reader keeps asking; every document it is shown is whole.
        seen: list[tuple[str, int]] = []
        failures: list[str] = []
        done = threading.Event()

        def read_while_ingesting() -> None:
            while not done.is_set():
                try:
                    for document in api(f"{base}/api/v1/documents")["documents"]:
                        seen.append((document["doc_id"], len(api(f"{base}/api/v1/documents/{document['doc_id']}")
                                                             ["passages"])))
                    searched_documents(base, query, "hybrid")
                except Exception as exc:  # noqa: BLE001 — any failed request is the finding
                    failures.append(repr(exc))
                    return

        reader = threading.Thread(target=read_while_ingesting)
        reader.start()
        try:
            summary = json.loads(run_cli("ingest", str(later), "--json", home=home).stdout)
        finally:
            done.set()
            reader.join(timeout=HANG)
        assert failures == [] and summary["resumed"] == 1 and summary["documents"] == REPORTS
        kb = KnowledgeBase(Settings(home=home))
        whole = {d.doc_id: len(kb.passages(d.doc_id)) for d in kb.documents()}
        assert seen and all(count == whole[doc_id] for doc_id, count in seen)
        assert len(searched_documents(base, query, "semantic")) == REPORTS  # no restart
    finally:
        stop(server)
        log.close()
    check = json.loads(run_cli("check", "--json", home=home).stdout)
    assert check["consistent"] and check["passages"] == sum(whole.values())
