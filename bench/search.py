"""Search latency at scale: p50/p95 per mode, with and without filters, query embedding included.

    python bench/search.py [--passages 100000] [--queries 200] [--store DIR]

Prints one JSON line per measurement and a table. The synthetic store is built
once under --store and reused.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from synthetic_store import CASES, build, queries  # noqa: E402

from kb.filters import SearchFilters  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passages", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--store", type=Path, default=None)
    args = parser.parse_args()
    store = args.store or Path(f"/tmp/scrkb-bench-search-{args.passages}")
    started = time.perf_counter()
    kb = build(store, args.passages)
    print(f"store: {kb.stats()['passages']} passages ready in {time.perf_counter() - started:.0f}s", file=sys.stderr)
    texts = queries(args.queries)
    rng = random.Random(3)
    themes = kb.tagger.taxonomy.ids
    filters = [
        SearchFilters(themes=(rng.choice(themes),)) if i % 3 == 0
        else SearchFilters(year_from=2005, year_to=2012) if i % 3 == 1
        else SearchFilters(cases=(rng.choice(CASES),))
        for i in range(len(texts))
    ]
    kb.search("warm up", k=10)  # load the model and the vector matrix outside the timings
    kb.search("warm up", k=10, filters=filters[0])
    rows = []
    for mode in ("keyword", "semantic", "hybrid"):
        for filtered in (False, True):
            times = []
            for text, flt in zip(texts, filters):
                t0 = time.perf_counter()
                kb.search(text, k=10, mode=mode, filters=flt if filtered else None)
                times.append((time.perf_counter() - t0) * 1000)
            name = f"search_{mode}{'_filtered' if filtered else ''}"
            for stat, value in (("p50", np.percentile(times, 50)), ("p95", np.percentile(times, 95))):
                row = {"name": f"{name}_{stat}_ms", "value": round(float(value), 1), "unit": "ms",
                       "passages": kb.stats()["passages"]}
                rows.append(row)
                print(json.dumps(row))
    print(f"\n{'measurement':<40} {'ms':>8}")
    for row in rows:
        print(f"{row['name']:<40} {row['value']:>8.1f}")


if __name__ == "__main__":
    main()
