"""Peak memory (RSS) of one serving process over a large store.

A fresh process opens the store, warms up as `scrkb serve` does, and answers
web requests (search pages in every mode, with filters, the JSON API) through
the real Flask app. Its floor is a bare process holding what any server must:
the embedding model and the store's vectors as one NumPy matrix. Ingest's peak
is measured by the ingest benchmark.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.figures import Figure, peak_rss_mb  # noqa: E402
from bench.synthetic_store import build, queries, store_dir  # noqa: E402

TARGET_MB = 2500


def run(quick: bool = False) -> Iterator[Figure]:
    size = 10_000 if quick else 540_000
    build(store_dir(size), size)
    serving = child("serve", store_dir(size))
    bare = child("floor", store_dir(size))
    yield Figure(f"serve_peak_rss_{size // 1000}k", serving, "MB", bare, target=f"< {TARGET_MB} MB",
                 note="floor: the model and the vector matrix alone")


def child(role: str, store: Path) -> float:
    out = subprocess.run([sys.executable, "-m", "bench.memory", role, str(store)], capture_output=True, text=True,
                         check=True, cwd=Path(__file__).resolve().parent.parent)
    return json.loads(out.stdout.strip().splitlines()[-1])["peak_rss_mb"]


def serve(store: Path) -> None:
    from kb import KnowledgeBase, Settings
    from webapp import create_app

    kb = KnowledgeBase(Settings(home=store, catalogue=store / "none.csv"))
    kb.warm_up()
    client = create_app(kb).test_client()
    for i, text in enumerate(queries(120)):
        mode = ("hybrid", "keyword", "semantic")[i % 3]
        extra = {"year_from": 2005, "year_to": 2012} if i % 2 else {}
        assert client.get("/search", query_string={"q": text, "mode": mode, **extra}).status_code == 200
        assert client.get("/api/v1/search", query_string={"q": text, "k": 20}).status_code == 200


def bare(store: Path) -> None:
    import numpy as np
    from sentence_transformers import SentenceTransformer

    from kb.nlp.embedding import model_dir
    from kb.store.catalogue import Catalogue

    model = SentenceTransformer(str(model_dir()), device="cpu", local_files_only=True)
    model.encode(queries(10))
    catalogue = Catalogue(store / "catalogue.sqlite3")
    matrix = np.empty((catalogue.passage_count(), 384), dtype=np.float32)
    for i, (blob,) in enumerate(catalogue.db.execute("SELECT embedding FROM passages")):
        matrix[i] = np.frombuffer(blob, dtype=np.float32)
    assert matrix.shape[0] > 0


if __name__ == "__main__":
    role, store = sys.argv[1], Path(sys.argv[2])
    {"serve": serve, "floor": bare}[role](store)
    print(json.dumps({"peak_rss_mb": round(peak_rss_mb(), 1)}))
