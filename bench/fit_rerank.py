"""Fit the re-ranker's weights (kb/data/rerank.json) by grouped cross-validation, groups being reports.

    python bench/fit_rerank.py [--sets dev review pfd] [--write]

For every graded query of each set the fused top RERANK_DEPTH candidates and their
features are taken from the real searcher; a pairwise logistic model (a relevant
passage should score above each non-relevant one of the same query) is fitted on
the queries of four fifths of the reports and scored on the queries of the rest,
so no report is both trained and tested on. It prints, per set, MRR@10, recall@10
and nDCG@10 of the fused order and of the cross-validated re-ranked order; with
--write, the weights fitted on every query are written for search to use.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.real_search import DEV, SETS, store_for  # noqa: E402
from bench.real_text import CHECKOUT  # noqa: E402
from kb.search.evaluate import metrics, read_queries  # noqa: E402
from kb.search.rerank import FEATURES, RERANK_FILE, Reranker  # noqa: E402

FOLDS = 5
L2 = 0.0005


def collect(names: list[str], out: Path, tag: str) -> list[dict]:
    """One record per query: its set, report group, candidate ids, features and relevance."""
    records = []
    for name in names:
        store = "review" if name == "dev" else name
        if store != "dev":
            SETS[store](out / store)
        kb = store_for(store, out, tag)
        searcher = kb.searcher
        searcher.reranker = Reranker(depth=searcher.reranker.depth)  # the fused order, whatever is shipped
        path = DEV if name == "dev" else out / name / "queries.jsonl"
        queries = read_queries(path, kb.catalogue, [])
        docs = {}
        for q in queries:
            ranked = searcher.rank(q.text, "hybrid")
            ids = ranked.ordered[: searcher.reranker.depth]
            features = searcher.rerank_features(ranked, ids)
            first = next(iter(q.relevant))
            doc = docs.setdefault(first, kb.catalogue.passages_by_id([first])[first].doc_id)
            records.append({"set": name, "group": f"{name}:{doc}", "query": q, "ids": ids, "x": features,
                            "y": np.array([q.relevant.get(p, 0) for p in ids], dtype=np.float32),
                            "ordered": ranked.ordered, "names_only": ranked.names_only})
    return records


def fit(records: list[dict], steps: int = 4000, rate: float = 4.0) -> np.ndarray:
    """Pairwise logistic regression: each more relevant passage over each less relevant one of the
    same query (grade 2 over 1 over 0), every query weighing the same however many pairs it has."""
    diffs = []
    records = [r for r in records if not r["names_only"]]  # search keeps their fused order
    for r in records:
        y = r["y"]
        for i in np.where(y > 0)[0]:
            below = np.where(y < y[i])[0]
            if len(below):
                diffs.append(r["x"][i] - r["x"][below])
    if not diffs:
        return np.zeros(len(FEATURES), dtype=np.float32)
    # Weigh each query's pairs to one query in total.
    per_query = []
    for r in records:
        y = r["y"]
        per_query.append(sum(int((y < y[i]).sum()) for i in np.where(y > 0)[0]))
    scale = np.concatenate([np.full(n, 1.0 / n) for n in per_query if n])
    d = np.concatenate(diffs)
    w = np.zeros(d.shape[1], dtype=np.float64)
    for _ in range(steps):
        margin = d @ w
        grad = -(d * (scale / (1.0 + np.exp(margin)))[:, None]).sum(axis=0) / len(per_query) + L2 * w
        w -= rate * grad
    return w.astype(np.float32)


def reordered(record: dict, w: np.ndarray) -> list[str]:
    if record["names_only"]:
        return record["ordered"]
    z = record["x"] @ w
    order = sorted(range(len(record["ids"])), key=lambda i: (-z[i], i))
    return [record["ids"][i] for i in order] + record["ordered"][len(record["ids"]):]


def fold_of(group: str) -> int:
    return int(hashlib.sha256(group.encode()).hexdigest(), 16) % FOLDS


def cross_validate(records: list[dict]) -> dict:
    rankings = {}
    weights = []
    for fold in range(FOLDS):
        train = [r for r in records if fold_of(r["group"]) != fold]
        w = fit(train)
        weights.append(w)
        for i, r in enumerate(records):
            if fold_of(r["group"]) == fold:
                rankings[i] = reordered(r, w)
    table = {}
    for name in dict.fromkeys(r["set"] for r in records):
        idx = [i for i, r in enumerate(records) if r["set"] == name]
        queries = [records[i]["query"] for i in idx]
        table[name] = {
            "fused": metrics(queries, [records[i]["ordered"] for i in idx]),
            "reranked (cross-validated)": metrics(queries, [rankings[i] for i in idx]),
        }
    spread = np.std(np.stack(weights), axis=0)
    return {"sets": table, "weight_spread": dict(zip(FEATURES, map(float, spread)))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="+", default=["dev", "review", "pfd"])
    parser.add_argument("--out", type=Path, default=CHECKOUT / "var" / "realeval")
    parser.add_argument("--tag", default="current")
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    records = collect(args.sets, args.out, args.tag)
    result = cross_validate(records)
    for name, rows in result["sets"].items():
        for label, m in rows.items():
            print(f"{name:<7} {label:<28} MRR@10 {m['mrr@10']:.3f}  recall@10 {m['recall@10']:.3f}  nDCG@10 {m['ndcg@10']:.3f}")
    w = fit(records)
    print("weights:", {n: round(float(v), 3) for n, v in zip(FEATURES, w)})
    print("spread across folds:", {n: round(v, 3) for n, v in result["weight_spread"].items()})
    if args.write:
        data = {"features": list(FEATURES), "weights": {n: round(float(v), 4) for n, v in zip(FEATURES, w)},
                "bias": 0.0, "depth": Reranker().depth, "field_boosts": Reranker.load().field_boosts,
                "fitted_on": {name: sum(r["set"] == name for r in records) for name in args.sets},
                "cross_validated": result["sets"]}
        RERANK_FILE.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {RERANK_FILE}")


if __name__ == "__main__":
    main()
