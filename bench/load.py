"""Load test: concurrent users on `scrkb serve --workers N` over the sample corpus, on 127.0.0.1 only.

    python bench/load.py [--users 20] [--duration 120] [--workers 2] [--think 1.0] [--store DIR | --url URL]

Each user repeats: a search (80%: the search page or the JSON API, some with
filters), a document page (15%: a report, the page viewer, a page image) or an
export (5%: a research output as CSV, JSON or Excel), then pauses a random
0.5-1.5 x --think seconds. Without --url it builds the sample corpus store once
(cached under --store), serves it on a free port and measures the memory of the
server's processes. Prints JSON lines and a table; exits 1 on any error
(an exception or a status other than 2xx).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlencode

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.figures import Figure, table  # noqa: E402

MIX = {"search": 0.80, "document": 0.15, "export": 0.05}
QUERIES = [
    "information not shared between agencies", "health visitor did not see the child", "disguised compliance",
    "mother's new partner not assessed", "missed appointments at the GP", "domestic abuse referral threshold",
    "child not seen alone", "neglect over many years", "case closed with no further action",
    "school raised concerns about attendance", "police attended the home", "unexplained bruising on a baby",
    "strategy discussion did not take place", "professional curiosity", "voice of the child",
    "parental substance misuse", "hospital discharge without a plan", "failure to escalate",
    "social worker caseload", "sexual exploitation of teenagers", "learning for the partnership",
    "recommendations for children's social care", "starvation", "fabricated illness",
]
SECTIONS = ["findings", "recommendations", "chronology", "analysis"]
EXPORTS = [("counts", "csv"), ("prevalence", "json"), ("cooccurrence", "xlsx"), ("trends", "csv"),
           ("coded", "csv"), ("before_incident", "json"), ("evidence", "json")]
SAMPLE_STORE = Path("/tmp/scrkb-bench-load-sample")
SERVED_BY = re.compile(r"worker=<(\d+)>")


class Corpus:
    """What the requests choose from, read from the server's own API."""

    def __init__(self, base: str):
        documents, total = [], None
        while total is None or len(documents) < total:
            page = _json(f"{base}/api/v1/documents?limit=100&offset={len(documents)}")
            documents, total = documents + page["documents"], page["total"]
        self.documents = [(d["doc_id"], d["page_count"]) for d in documents if d["page_count"]]
        self.cases = sorted({d["case"] for d in documents if d["case"]})
        self.themes = [t["id"] for t in _json(f"{base}/api/v1/themes")["themes"]]
        if not self.documents:
            raise SystemExit(f"{base} serves no documents to load-test")

    def request(self, rng: random.Random) -> tuple[str, str]:
        """One user action as (kind, path)."""
        kind = rng.choices(list(MIX), weights=list(MIX.values()))[0]
        return kind, getattr(self, kind)(rng)

    def search(self, rng: random.Random) -> str:
        args = {"q": rng.choice(QUERIES)}
        if rng.random() < 0.2:
            args["mode"] = rng.choice(["keyword", "semantic"])
        roll = rng.random()
        if roll < 0.15:
            args["theme"] = rng.choice(self.themes)
        elif roll < 0.25:
            args["section"] = rng.choice(SECTIONS)
        elif roll < 0.32:
            args.update(year_from=1990, year_to=2015)
        elif roll < 0.37 and self.cases:
            args["case"] = rng.choice(self.cases)
        api = rng.random() < 0.25
        return f"/{'api/v1/' if api else ''}search?{urlencode(args)}"

    def document(self, rng: random.Random) -> str:
        doc_id, pages = rng.choice(self.documents)
        page = rng.randint(1, pages)
        return rng.choice([f"/documents/{doc_id}", f"/documents/{doc_id}/pages/{page}",
                           f"/documents/{doc_id}/pages/{page}.png"])

    def export(self, rng: random.Random) -> str:
        name, fmt = rng.choice(EXPORTS)
        query = f"?theme={rng.choice(self.themes)}" if name == "evidence" else ""
        return f"/api/v1/exports/{name}.{fmt}{query}"


def _json(url: str):
    with urllib.request.urlopen(url, timeout=120) as response:
        return json.loads(response.read())


def fetch(url: str) -> None:
    """GET and read the whole body; raises for a status other than 2xx."""
    with urllib.request.urlopen(url, timeout=300) as response:
        response.read()
        if not 200 <= response.status < 300:  # urllib raises for 4xx and 5xx itself
            raise OSError(f"status {response.status}")


class Results:
    def __init__(self):
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.errors: list[str] = []
        self._lock = threading.Lock()

    def record(self, kind: str, seconds: float, error: str | None) -> None:
        with self._lock:
            if error:
                self.errors.append(error)
            else:
                self.latency[kind].append(seconds * 1000)


def run_users(base: str, corpus: Corpus, users: int, duration: float, think: float, seed: int = 5) -> Results:
    results = Results()
    stop_at = time.monotonic() + duration

    def user(n: int) -> None:
        rng = random.Random(seed * 1000 + n)
        while time.monotonic() < stop_at:
            kind, path = corpus.request(rng)
            started = time.perf_counter()
            error = None
            try:
                fetch(base + path)
            except Exception as exc:  # an error of any kind is what this test counts
                error = f"{kind} {path}: {exc}"
            results.record(kind, time.perf_counter() - started, error)
            time.sleep(think * rng.uniform(0.5, 1.5))

    threads = [threading.Thread(target=user, args=(n,)) for n in range(users)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


# --- the server under test ------------------------------------------------------------------------


def build_sample_store(store: Path) -> None:
    """Ingest the sample corpus into `store` (a no-op for files already there)."""
    from ingest import ingest_paths
    from kb import KnowledgeBase, Settings

    kb = KnowledgeBase(Settings(home=store, catalogue=ROOT / "corpora" / "catalogue.csv"))
    report = ingest_paths(kb, [ROOT / "corpora" / "sample"])
    if report.failed:
        raise SystemExit(f"the sample corpus did not ingest: {report.failed}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def serve(store: Path, workers: int):
    """`scrkb serve --workers N` on a free port of 127.0.0.1; yields (base URL, process, access log path)."""
    scrkb = shutil.which("scrkb", path=os.path.dirname(sys.executable)) or "scrkb"
    port = free_port()
    log_path = store.parent / f"{store.name}-serve.log"
    env = {**os.environ, "SCRKB_HOME": str(store), "SCRKB_CATALOGUE": str(ROOT / "corpora" / "catalogue.csv"),
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    with open(log_path, "wb") as log:
        process = subprocess.Popen([scrkb, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)],
                                   env=env, stdout=log, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 600
            while True:
                if process.poll() is not None:
                    raise SystemExit(f"scrkb serve exited with status {process.returncode}; see {log_path}")
                try:
                    fetch(base + "/")
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise SystemExit(f"scrkb serve did not answer within 600s; see {log_path}") from None
                    time.sleep(0.5)
            yield base, process, log_path
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def warm_every_worker(base: str, log_path: Path, workers: int, timeout: float = 300) -> None:
    """Send searches until each worker has answered one, so the start figures are of warm workers."""
    if workers == 1:
        fetch(f"{base}/search?q=warm+up")
        return
    deadline = time.monotonic() + timeout
    while len(set(SERVED_BY.findall(log_path.read_text()))) < workers:
        if time.monotonic() > deadline:
            raise SystemExit(f"not every worker answered within {timeout:.0f}s; see {log_path}")
        threads = [threading.Thread(target=fetch, args=(f"{base}/search?q=warm+up",)) for _ in range(2 * workers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()


def rss_mb(pid: int) -> list[float]:
    """Resident memory of the server process and each of its children (the workers), in MB."""
    import psutil

    master = psutil.Process(pid)
    return [p.memory_info().rss / 2**20 for p in [master, *master.children(recursive=True)]]


# --- figures ----------------------------------------------------------------------------------------


def measure(base: str, users: int, duration: float, think: float, pid: int | None) -> Iterator[Figure]:
    corpus = Corpus(base)
    before = rss_mb(pid) if pid else None
    started = time.perf_counter()
    results = run_users(base, corpus, users, duration, think)
    elapsed = time.perf_counter() - started
    after = rss_mb(pid) if pid else None
    setting = f"{users} users, {duration:.0f}s, think {think:g}s"
    for kind in MIX:
        times = results.latency.get(kind, [])
        for stat in (50, 95):
            value = float(np.percentile(times, stat)) if times else float("nan")
            yield Figure(f"load_{kind}_p{stat}_ms", value, "ms", note=f"{len(times)} requests; {setting}")
    total = sum(len(t) for t in results.latency.values())
    yield Figure("load_requests_per_s", total / elapsed, "req/s", note=f"{total} requests; {setting}")
    yield Figure("load_errors", len(results.errors), "requests", target="0",
                 note="; ".join(results.errors[:3]) or None)
    if before and after:
        for name, rss in (("start", before), ("end", after)):
            per = ", ".join(f"{mb:.0f}" for mb in rss)
            yield Figure(f"load_server_rss_{name}_mb", sum(rss), "MB",
                         note=f"master + {len(rss) - 1} worker(s): {per} MB")
    assert not results.errors, f"{len(results.errors)} request(s) failed, the first: {results.errors[0]}"


def run(quick: bool = False, users: int = 20, duration: float | None = None, workers: int = 2,
        think: float = 1.0, url: str | None = None, store: Path = SAMPLE_STORE) -> Iterator[Figure]:
    """The load test's figures; a quick run lasts 20 seconds instead of 120."""
    duration = duration or (20.0 if quick else 120.0)
    if url:
        yield from measure(url.rstrip("/"), users, duration, think, pid=None)
        return
    build_sample_store(store)
    with serve(store, workers) as (base, process, log_path):
        warm_every_worker(base, log_path, workers)
        yield from measure(base, users, duration, think, pid=process.pid)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--duration", type=float, default=120.0, help="Seconds of load.")
    parser.add_argument("--workers", type=int, default=2, help="Worker processes of the server it starts.")
    parser.add_argument("--think", type=float, default=1.0, help="Mean pause between a user's requests, seconds.")
    parser.add_argument("--url", help="Load a server already running (on 127.0.0.1) instead of starting one.")
    parser.add_argument("--store", type=Path, default=SAMPLE_STORE, help="Where the sample corpus store is cached.")
    args = parser.parse_args()
    if args.url and not re.match(r"https?://(127\.0\.0\.1|localhost)(:\d+)?/?$", args.url):
        parser.error("--url must be a server on this machine (127.0.0.1 or localhost)")
    figures = []
    try:
        for figure in run(users=args.users, duration=args.duration, workers=args.workers, think=args.think,
                          url=args.url, store=args.store):
            figures.append(figure)
            print(figure.json(), flush=True)
    except AssertionError as exc:
        print(f"\n{table(figures)}\n\nFAILED: {exc}", file=sys.stderr)
        sys.exit(1)
    print(f"\n{table(figures)}")


if __name__ == "__main__":
    main()
