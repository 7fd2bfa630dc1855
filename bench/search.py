"""Search latency at 10k, 100k, 300k and 540k passages: p50/p95 per mode, with and without filters.

    python -m bench --only search [--quick]      python bench/search.py [--sizes 10000 100000]

Every timing includes embedding the query. The floor of each query is the bare
libraries doing the core of the same work in the same run: the query through the
tokenizer and the embedding backend's session with a mean, a Chroma top-10
query, and one tantivy BM25 top-10 query OR-ing the query's words (pruned, as the
engine does it bare; restricted to the filter's rows for filtered queries, the rows
taken from the same in-memory filter columns search uses). Stores are synthetic (kept under /tmp and reused,
each size extending the one below it): see synthetic_store.py.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.figures import Figure, print_all  # noqa: E402
from bench.synthetic_store import CASES, SIZES, build, queries, store_dir  # noqa: E402
from kb.knowledge_base import KnowledgeBase  # noqa: E402
from kb.nlp.embedding import model_dir  # noqa: E402
from kb.search.filters import SearchFilters  # noqa: E402
from kb.search.vocabulary import STOPWORDS  # noqa: E402

# Queries per mode, with and without filters: at least 200 at the sizes the targets are set for.
QUERIES = {10_000: 100, 100_000: 100, 300_000: 200, 540_000: 200}
TARGET_P95_MS = {300_000: 100, 540_000: 150}
GROWTH_TARGET = 4.0


def run(quick: bool = False, sizes: tuple[int, ...] | None = None) -> Iterator[Figure]:
    p95: dict[int, float] = {}
    for size in sizes or ((10_000,) if quick else SIZES):
        started = time.perf_counter()
        kb = build(store_dir(size), size)
        print(f"store of {size} passages ready in {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
        for figure in measure(kb, size, 60 if quick else QUERIES.get(size, 100)):
            if figure.name.endswith("_hybrid_p95"):
                p95[size] = figure.value
            yield figure
    if len(p95) > 1:
        small, large = min(p95), max(p95)
        yield Figure(f"search_hybrid_p95_growth_{label(small)}_to_{label(large)}", p95[large] / p95[small], "x",
                     target=f"< {GROWTH_TARGET:g}x", note=f"{large // small}x the passages")


def measure(kb: KnowledgeBase, size: int, count: int) -> Iterator[Figure]:
    texts = queries(count)
    rng = random.Random(3)
    themes = kb.tagger.taxonomy.ids
    filters = [
        SearchFilters(themes=(rng.choice(themes),)) if i % 3 == 0
        else SearchFilters(year_from=2005, year_to=2012) if i % 3 == 1
        else SearchFilters(cases=(rng.choice(CASES),))
        for i in range(count)
    ]
    kb.warm_up()
    kb.search("warm up", k=10, filters=filters[0])
    for mode in ("keyword", "semantic", "hybrid"):
        for filtered in (False, True):
            times, floors = [], []
            for text, flt in zip(texts, filters):
                flt = flt if filtered else SearchFilters()
                t0 = time.perf_counter()
                kb.search(text, k=10, mode=mode, filters=flt)
                times.append(1000 * (time.perf_counter() - t0))
                floors.append(floor(kb, text, flt, mode))
            name = f"search_{label(size)}_{mode}{'_filtered' if filtered else ''}"
            yield Figure(f"{name}_p50", percentile(times, 50), "ms", percentile(floors, 50))
            target = TARGET_P95_MS.get(size) if mode == "hybrid" else None
            yield Figure(f"{name}_p95", percentile(times, 95), "ms", percentile(floors, 95),
                         target=f"<= {target} ms" if target else None)
    yield from stages(kb, size, texts[:60])


def floor(kb: KnowledgeBase, text: str, filters: SearchFilters, mode: str) -> float:
    """Milliseconds the bare libraries take for the core of this query."""
    t0 = time.perf_counter()
    if mode != "semantic":
        words = [w for w in "".join(c if c.isalnum() else " " for c in text).split() if w.lower() not in STOPWORDS]
        if words:
            keywords = kb.keywords
            query = keywords.query([[keywords.analyse(w)] for w in words])
            if query is not None:
                if not filters.is_empty():
                    query = keywords.within(query, kb.searcher.filter_index.fresh().allowed(filters))
                keywords.search(query, 10)
    if mode != "keyword":
        vector = bare_encode(kb, text)
        kb.vectors.collection.query(query_embeddings=[vector.tolist()], n_results=10, include=["distances"])
    return 1000 * (time.perf_counter() - t0)


def bare_encode(kb: KnowledgeBase, text: str) -> np.ndarray:
    """The query's vector by the bare libraries: the tokenizer, then ONNX Runtime (or torch) and a mean."""
    tokens = bare_tokenizer().encode(text)
    if kb.embedder.backend == "torch":
        return bare_torch_model().encode([text], normalize_embeddings=True)[0]
    hidden = kb.embedder._session.run(None, {
        "input_ids": np.array([tokens.ids], dtype=np.int64),
        "attention_mask": np.array([tokens.attention_mask], dtype=np.int64),
        "token_type_ids": np.array([tokens.type_ids], dtype=np.int64),
    })[0][0]
    vector = hidden.mean(axis=0)
    return vector / np.linalg.norm(vector)


@lru_cache(maxsize=1)
def bare_tokenizer():
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(model_dir() / "tokenizer.json"))
    tokenizer.no_padding()
    return tokenizer


@lru_cache(maxsize=1)
def bare_torch_model():
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(model_dir()), device="cpu", local_files_only=True)


def stages(kb: KnowledgeBase, size: int, texts: list[str]) -> Iterator[Figure]:
    """Where an unfiltered hybrid query spends its time (medians), to say which stage dominates."""
    searcher = kb.searcher
    spent: dict[str, list[float]] = {"keyword": [], "embedding": [], "vector": [], "total": []}
    empty = SearchFilters()
    for text in texts:
        t0 = time.perf_counter()
        searcher._keyword(searcher._keyword_query(searcher.vocabulary.terms(text)), empty)
        t1 = time.perf_counter()
        vector = kb.embedder.encode([searcher.vocabulary.expand_for_embedding(text)])[0]
        t2 = time.perf_counter()
        searcher._semantic(vector, empty)
        t3 = time.perf_counter()
        kb.search(text, k=10)
        t4 = time.perf_counter()
        for key, seconds in (("keyword", t1 - t0), ("embedding", t2 - t1), ("vector", t3 - t2), ("total", t4 - t3)):
            spent[key].append(1000 * seconds)
    parts = {key: percentile(values, 50) for key, values in spent.items()}
    parts["results"] = max(0.0, parts.pop("total") - parts["keyword"] - parts["embedding"] - parts["vector"])
    dominant = max(parts, key=parts.get)
    for key, value in parts.items():
        yield Figure(f"search_{label(size)}_hybrid_stage_{key}_p50", value, "ms",
                     note="dominates" if key == dominant else None)


def percentile(values: list[float], q: float) -> float:
    return round(float(np.percentile(values, q)), 2)


def label(size: int) -> str:
    return f"{size // 1000}k"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    print_all(run(args.quick, tuple(args.sizes)))


if __name__ == "__main__":
    main()
