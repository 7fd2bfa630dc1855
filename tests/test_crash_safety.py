"""Crash safety: `scrkb ingest` killed at any moment resumes to a consistent store; reindex repairs the index."""

import json
import random
import time

import pytest
from conftest import run_cli, url_env
from pdfs import distinct_reports
from processes import kill, start_ingest, wait_until_halted

from ingest import ingest_paths
from kb import KnowledgeBase, Settings
from kb.store.catalogue import Catalogue

REPORTS = 8
SEED = 20240611


def assert_resumes_to_a_consistent_store(folder, home) -> dict:
    summary = json.loads(run_cli("ingest", str(folder), "--json", home=home).stdout)  # exit status 0
    assert summary["failed"] == [] and summary["documents"] == REPORTS
    assert summary["ingested"] + summary["unchanged"] == REPORTS
    check = json.loads(run_cli("check", "--json", home=home).stdout)
    assert check["consistent"], check
    assert check["passages"] == check["vectors"] == check["keyword_passages"] == summary["passages"]
    assert json.loads(run_cli("failures", "--json", home=home).stdout) == []
    kb = KnowledgeBase(Settings(home=home))
    paths = [path for document in kb.documents() for path in kb.catalogue.paths_of(document.doc_id)]
    assert sorted(paths) == sorted(str(p.resolve()) for p in folder.iterdir())
    return summary


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    return distinct_reports(tmp_path_factory.mktemp("crash") / "reports", REPORTS)[0].parent


@pytest.mark.parametrize(("stage", "stored", "pending"), [
    ("parsed", 2, 0),   # the third file is parsed and tagged, none of it written
    ("stored", 3, 1),   # the third file's rows are committed, its vectors not yet in the index
    ("vectors", 3, 1),  # its vectors are in the index, its passages not yet in the keyword index
    ("indexed", 3, 0),  # the third file is wholly stored and indexed
])
def test_ingest_killed_at_each_stage_resumes_to_a_consistent_store(reports, tmp_path, stage, stored, pending):
    home = tmp_path / "kb"
    home.mkdir()
    process = start_ingest(reports, home, f"{stage}:3")
    try:
        wait_until_halted(process, home)
    finally:
        kill(process)
    catalogue = Catalogue(home / "catalogue.sqlite3")
    assert catalogue.stats()["documents"] == stored
    assert len(catalogue.documents_missing_vectors()) == pending
    summary = assert_resumes_to_a_consistent_store(reports, home)
    assert summary["resumed"] == pending and summary["unchanged"] == stored


def test_ingest_killed_at_random_moments_resumes_to_a_consistent_store(reports, tmp_path):
    home = tmp_path / "kb"
    home.mkdir()
    catalogue = Catalogue(home / "catalogue.sqlite3")
    rng = random.Random(SEED)
    # Kills at random moments: the first while the process is still starting, each later one
    # once the store holds a chosen number of documents plus a random delay, so they fall between
    # and inside the writes of the catalogue and the index. Each run also halts after storing the
    # last file it has left, so however fast the machine, no run finishes before its kill.
    kills = [("delay", rng.uniform(0.5, 3.0))] + [("documents", n) for n in sorted(rng.sample(range(1, REPORTS - 2), 2))]
    seen = []
    for kind, value in kills:
        left = REPORTS - catalogue.stats()["documents"]
        process = start_ingest(reports, home, f"stored:{left}")
        try:
            if kind == "documents":
                while catalogue.stats()["documents"] < value and not (home / "halted").exists():
                    assert process.poll() is None, "the run ended before it was killed"
                    time.sleep(0.02)
                value = rng.uniform(0.0, 0.3)  # soon after a commit: the index write may not have happened yet
            time.sleep(value)
            assert process.poll() is None, "the run ended before it was killed"
        finally:
            kill(process)
        seen.append(catalogue.stats()["documents"])
    assert max(seen) > 0, seen
    summary = assert_resumes_to_a_consistent_store(reports, home)
    assert summary["ingested"] + summary["resumed"] > 0, "every file was done before the last kill"


def test_reindex_repairs_an_index_that_lost_vectors(make_kb, tmp_path, chroma_url):
    kb = make_kb(chroma_url=chroma_url)
    ingest_paths(kb, distinct_reports(tmp_path / "reports", 2))
    lost = sorted(kb.catalogue.all_passage_ids())[:3]
    kb.vectors.delete(lost)
    home, env = kb.settings.home, url_env(chroma_url)

    broken = run_cli("check", "--json", home=home, check=False, env=env)
    assert broken.returncode == 1
    report = json.loads(broken.stdout)
    assert not report["consistent"] and report["missing_vectors"] == lost
    repaired = json.loads(run_cli("reindex", home=home, env=env).stdout)
    assert repaired["documents_reindexed"] >= 1
    assert json.loads(run_cli("check", "--json", home=home, env=env).stdout)["consistent"]


def test_reindex_rebuilds_a_keyword_index_that_was_lost_or_left_behind(make_kb, tmp_path):
    import shutil as sh

    kb = make_kb()
    ingest_paths(kb, distinct_reports(tmp_path / "reports", 2))
    home = kb.settings.home
    word = kb.passages(kb.documents()[0].doc_id)[0].text.split()[-1].strip(".,;")
    before = sorted(h.passage_id for h in kb.search(word, mode="keyword").hits)
    assert before
    sh.rmtree(kb.settings.keyword_dir)  # what a restore of the catalogue alone leaves

    broken = run_cli("check", "--json", home=home, check=False)
    assert broken.returncode == 1
    report = json.loads(broken.stdout)
    assert report["keyword_passages"] == 0 and len(report["missing_keywords"]) == report["passages"]
    assert json.loads(run_cli("reindex", home=home).stdout)["documents_reindexed"] == 2
    assert json.loads(run_cli("check", "--json", home=home).stdout)["consistent"]
    fresh = KnowledgeBase(Settings(home=home, catalogue=kb.settings.catalogue))
    assert sorted(h.passage_id for h in fresh.search(word, mode="keyword").hits) == before


def test_an_interrupted_run_leaves_pending_documents_that_the_next_run_indexes_first(make_kb, tmp_path, chroma_url):
    kb = make_kb(chroma_url=chroma_url)
    [first, second] = distinct_reports(tmp_path / "reports", 2)
    ingest_paths(kb, [first])
    # What a kill between the catalogue's commit and the index write leaves behind.
    [document] = kb.documents()
    kb.drop_vectors(kb.catalogue.passage_ids_of(document.doc_id))
    kb.catalogue.db.execute("UPDATE documents SET vectors_done = 0")
    assert not kb.check()["consistent"]
    report = ingest_paths(kb, [first, second])
    assert report.resumed == 1 and report.unchanged == 1 and report.ingested == 1
    assert kb.check()["consistent"]
