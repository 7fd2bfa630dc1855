"""`scrkb serve`: one process by default, or gunicorn workers that each load the models after the fork."""

import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import psutil
from conftest import url_env
from servers import free_port, stop, wait_until_answering

WORKER = re.compile(r"worker=<(\d+)> \"GET /search\" 200")


def start_serve(kb, log, *args) -> tuple[subprocess.Popen, str]:
    scrkb = shutil.which("scrkb", path=os.path.dirname(sys.executable)) or "scrkb"
    port = free_port()
    env = {**os.environ, "SCRKB_HOME": str(kb.settings.home), "SCRKB_CATALOGUE": str(kb.settings.catalogue),
           **url_env(kb.settings.chroma_url)}
    process = subprocess.Popen([scrkb, "serve", "--port", str(port), *args], env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    wait_until_answering(url + "/", process)
    return process, url


def get(url: str) -> int:
    with urllib.request.urlopen(url, timeout=120) as response:
        response.read()
        return response.status


def test_two_workers_each_load_the_models_and_serve(ingested_each_way, tmp_path):
    log_path = tmp_path / "serve.log"
    with open(log_path, "wb") as log:
        process, url = start_serve(ingested_each_way, log, "--workers", "2")
        try:
            master = psutil.Process(process.pid)
            workers = master.children()
            assert len(workers) == 2

            queries = ["mother%27s+partner+never+assessed", "GP+saw+the+mother", "domestic+abuse", "health+visitor"]
            served_by: set[int] = set()
            deadline = time.monotonic() + 120
            with ThreadPoolExecutor(8) as pool:
                while len(served_by) < 2 and time.monotonic() < deadline:
                    statuses = list(pool.map(get, [f"{url}/search?q={q}" for q in queries * 2]))
                    assert statuses == [200] * 8
                    served_by = {int(pid) for pid in WORKER.findall(log_path.read_text())}
            assert served_by == {w.pid for w in workers}
            # The models were loaded after the fork, in each worker (both have served, so both
            # have warmed up; the first to answer may have been exporting the model for both),
            # never in the master.
            def runs_a_model(process: psutil.Process) -> bool:
                return any(lib in m.path for m in process.memory_maps() for lib in ("onnxruntime", "torch"))

            assert not runs_a_model(master)
            assert all(runs_a_model(w) for w in workers)
        finally:
            status = stop(process)
    assert status == 0  # SIGTERM: the workers finish and the master exits cleanly
    assert not any(w.is_running() and w.status() != psutil.STATUS_ZOMBIE for w in workers)
    assert "Traceback" not in log_path.read_text()


def test_one_process_by_default(ingested, tmp_path):
    with open(tmp_path / "serve.log", "wb") as log:
        process, url = start_serve(ingested, log)
        try:
            assert psutil.Process(process.pid).children() == []
            assert get(f"{url}/search?q=GP+saw+the+mother") == 200
        finally:
            stop(process)
    assert "with 1 worker(s)" in (tmp_path / "serve.log").read_text()


def test_workers_that_cannot_reach_the_chroma_server_stop_the_server_with_one_sentence(ingested, tmp_path):
    scrkb = shutil.which("scrkb", path=os.path.dirname(sys.executable)) or "scrkb"
    url = f"http://127.0.0.1:{free_port()}"
    env = {**os.environ, "SCRKB_HOME": str(ingested.settings.home), "SCRKB_CHROMA_URL": url}
    result = subprocess.run([scrkb, "serve", "--workers", "2", "--port", str(free_port())],
                            env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode != 0
    assert f"cannot reach the Chroma server at {url}" in result.stderr and "Traceback" not in result.stderr
