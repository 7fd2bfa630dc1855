"""Keyword engines on the same passages: index size, build time and query p50/p95 for FTS5, tantivy and bm25s.

    python bench/keyword_engines.py [--sizes 100000 300000]

Each engine indexes the texts of a synthetic store (bench/synthetic_store.py) into a
folder of its own under /tmp and answers the development queries as a top-10 OR of
their words (stop words left out): FTS5 as the catalogue's table is built (porter,
unicode61, diacritics removed) ranking by bm25(); tantivy through kb/store/keyword_index.py
(block-max WAND, the fields the store writes); bm25s with its own tokenizer, no
stemmer (its index is a sparse matrix rebuilt whole on any change: it cannot take
one report at a time). This is what chose tantivy (docs/search.md).
"""

from __future__ import annotations

import argparse
import re
import shutil
import sqlite3
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.figures import Figure, print_all  # noqa: E402
from bench.synthetic_store import build, queries, store_dir  # noqa: E402
from kb.search.vocabulary import STOPWORDS  # noqa: E402
from kb.store.keyword_index import IndexedPassage, KeywordIndex  # noqa: E402
from kb.store.schema import FTS_TOKENIZER  # noqa: E402

QUERIES = 200


def words(text: str) -> list[str]:
    return [w for w in dict.fromkeys(re.findall(r"\w+", text.lower())) if w not in STOPWORDS]


def size_of(path: Path) -> float:
    files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
    return sum(p.stat().st_size for p in files) / 2**20


def timed(run, texts: list[str]) -> list[float]:
    times = []
    for text in texts:
        t0 = time.perf_counter()
        run(text)
        times.append(1000 * (time.perf_counter() - t0))
    return times


def fts5(rows, folder: Path, texts: list[str]):
    path = folder / "fts.sqlite3"
    db = sqlite3.connect(path)
    t0 = time.perf_counter()
    db.execute(f"CREATE VIRTUAL TABLE f USING fts5(text, tokenize='{FTS_TOKENIZER}')")
    db.executemany("INSERT INTO f(rowid, text) VALUES (?, ?)", ((r[1], r[2]) for r in rows))
    db.commit()
    built = time.perf_counter() - t0

    def query(text):
        terms = words(text)
        if terms:
            db.execute("SELECT rowid FROM f WHERE f MATCH ? ORDER BY rank LIMIT 10",
                       (" OR ".join(f'"{w}"' for w in terms),)).fetchall()

    return built, size_of(path), timed(query, texts)


def tantivy_engine(rows, folder: Path, texts: list[str]):
    index = KeywordIndex(folder / "tantivy")
    t0 = time.perf_counter()
    documents: dict[str, list[IndexedPassage]] = {}
    for doc_id, rowid, text, section, title in rows:
        documents.setdefault(doc_id, []).append(IndexedPassage(rowid, text, section, title))
    items = list(documents.items())
    for i in range(0, len(items), 500):  # commits of 50,000 passages, as a bulk reindex writes
        index.replace_documents(dict(items[i : i + 500]))
    built = time.perf_counter() - t0

    def query(text):
        q = index.query([[index.analyse(w)] for w in words(text)])
        if q is not None:
            index.search(q, 10)

    return built, size_of(folder / "tantivy"), timed(query, texts)


def bm25s_engine(rows, folder: Path, texts: list[str]):
    try:
        import bm25s
    except ImportError:
        return None
    corpus = [r[2] for r in rows]
    t0 = time.perf_counter()
    retriever = bm25s.BM25()
    retriever.index(bm25s.tokenize(corpus, stopwords="en", show_progress=False), show_progress=False)
    built = time.perf_counter() - t0
    retriever.save(str(folder / "bm25s"), show_progress=False)

    def query(text):
        tokens = bm25s.tokenize([text], stopwords="en", show_progress=False)
        if len(tokens.vocab):
            retriever.retrieve(tokens, k=10, show_progress=False, n_threads=1)

    return built, size_of(folder / "bm25s"), timed(query, texts)


def run(quick: bool = False, sizes: tuple[int, ...] = (100_000,)) -> Iterator[Figure]:
    texts = queries(60 if quick else QUERIES)
    for size in (10_000,) if quick else sizes:
        kb = build(store_dir(size), size)
        rows = list(kb.catalogue.keyword_rows())
        folder = Path(tempfile.mkdtemp(prefix=f"scrkb-engines-{size}-"))
        try:
            for name, engine in (("fts5", fts5), ("tantivy", tantivy_engine), ("bm25s", bm25s_engine)):
                measured = engine(rows, folder, texts)
                if measured is None:
                    print(f"{name}: not installed (pip install '.[bench]')", file=sys.stderr)
                    continue
                built, megabytes, times = measured
                label = f"keyword_engine_{size // 1000}k_{name}"
                yield Figure(f"{label}_build", built, "s")
                yield Figure(f"{label}_size", megabytes, "MB")
                yield Figure(f"{label}_p50", float(np.percentile(times, 50)), "ms")
                yield Figure(f"{label}_p95", float(np.percentile(times, 95)), "ms")
        finally:
            shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    print_all(run(args.quick, tuple(args.sizes)))


if __name__ == "__main__":
    main()
