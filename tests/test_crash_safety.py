"""Crash safety: `scrkb ingest` killed at any moment resumes to a consistent store; reindex repairs the index."""

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time

from conftest import run_cli, url_env
from pdfs import distinct_reports

from ingest import ingest_paths
from kb import KnowledgeBase, Settings
from kb.catalogue import Catalogue

REPORTS = 8
SEED = 20240611


def start_ingest(folder, home) -> subprocess.Popen:
    scrkb = shutil.which("scrkb", path=os.path.dirname(sys.executable)) or "scrkb"
    return subprocess.Popen(
        [scrkb, "ingest", str(folder), "--json"], env={**os.environ, "SCRKB_HOME": str(home)},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )


def test_ingest_killed_at_random_moments_resumes_to_a_consistent_store(tmp_path):
    folder = tmp_path / "reports"
    distinct_reports(folder, REPORTS)
    home = tmp_path / "kb"
    home.mkdir()
    catalogue = Catalogue(home / "catalogue.sqlite3")
    rng = random.Random(SEED)
    # The first kill lands while the process is still starting; each later one
    # once the store holds a chosen number of documents, plus a random delay,
    # so kills fall between and inside the writes of the catalogue and the index.
    kills = [("delay", rng.uniform(0.5, 3.0))] + [("documents", n) for n in sorted(rng.sample(range(1, REPORTS - 2), 2))]
    seen = []
    for kind, value in kills:
        process = start_ingest(folder, home)
        try:
            if kind == "documents":
                deadline = time.monotonic() + 300
                while catalogue.stats()["documents"] < value and process.poll() is None and time.monotonic() < deadline:
                    time.sleep(0.02)
                value = rng.uniform(0.0, 0.3)  # soon after a commit: the index write may not have happened yet
            time.sleep(value)
            assert process.poll() is None, "the run finished before it could be killed"
        finally:
            process.send_signal(signal.SIGKILL)
            process.wait()
        seen.append(catalogue.stats()["documents"])
    assert seen[-1] < REPORTS and max(seen) > 0, seen

    summary = json.loads(run_cli("ingest", str(folder), "--json", home=home).stdout)  # exit status 0
    assert summary["failed"] == [] and summary["documents"] == REPORTS
    assert summary["ingested"] + summary["unchanged"] == REPORTS
    check = json.loads(run_cli("check", "--json", home=home).stdout)
    assert check["consistent"], check
    assert check["passages"] == check["vectors"] == summary["passages"]
    assert json.loads(run_cli("failures", "--json", home=home).stdout) == []
    kb = KnowledgeBase(Settings(home=home))
    paths = [path for document in kb.documents() for path in kb.catalogue.paths_of(document.doc_id)]
    assert sorted(paths) == sorted(str(p.resolve()) for p in folder.iterdir())


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
