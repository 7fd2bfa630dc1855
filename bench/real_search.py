"""Search quality on real text: MRR@10, recall@10 and nDCG@10 per mode, beside bare BM25 and dense, in one run.

    python bench/real_search.py [--sets review pfd] [--out var/realeval] [--json]

Renders the real text to PDF (bench/real_text.py), ingests it into a store of its
own per set (the review set among the sample corpus; cached, rebuilt when the
rendered input changes) and evaluates the queries written for it. Real text is
never committed: inputs and stores live under var/ (git-ignored).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.real_text import CHECKOUT, prepare_pfd, prepare_review  # noqa: E402
from kb import KnowledgeBase, Settings  # noqa: E402
from kb.search.evaluate import evaluate_search, read_queries  # noqa: E402

SETS = {"review": prepare_review, "pfd": prepare_pfd}
DEV = CHECKOUT / "tests" / "data" / "search_dev.jsonl"


def inputs_key(folder: Path) -> str:
    digest = hashlib.sha256()
    for pdf in sorted(folder.glob("*.pdf")):
        digest.update(pdf.name.encode())
        digest.update(str(pdf.stat().st_size).encode())
    return digest.hexdigest()[:12]


def store_for(name: str, out: Path, tag: str) -> KnowledgeBase:
    from ingest import ingest_paths

    folder = out / name
    home = folder / f"kb-{tag}-{inputs_key(folder / 'pdfs')}"
    kb = KnowledgeBase(Settings.load(home=home, catalogue=folder / "catalogue.csv"))  # SCRKB_EMBEDDING_BACKEND applies
    sources = [folder / "pdfs"] + ([CHECKOUT / "corpora" / "sample"] if name == "review" else [])
    started = time.perf_counter()
    report = ingest_paths(kb, sources)
    if report.ingested:
        print(f"{name}: ingested {report.ingested} files in {time.perf_counter() - started:.0f} s "
              f"({report.passages} passages, {len(report.failed)} failed)", file=sys.stderr, flush=True)
    return kb


def run(names: list[str], out: Path, tag: str, baselines=("bm25", "dense")) -> dict:
    results = {}
    for name in names:
        prepared = SETS[name](out / name)
        kb = store_for(name, out, tag)
        skipped: list = []
        queries = read_queries(out / name / "queries.jsonl", kb.catalogue, skipped)
        result = evaluate_search(kb.searcher, queries, baselines=baselines)
        result.update(prepared=prepared, skipped=skipped, passages=kb.stats()["passages"])
        results[name] = result
        if name == "review":  # the dev set is over the sample corpus, which this store holds
            results["dev"] = evaluate_search(kb.searcher, read_queries(DEV, kb.catalogue), baselines=baselines)
    return results


def table(results: dict) -> str:
    lines = []
    for name, result in results.items():
        lines.append(f"{name}: {result['queries']} queries" + (f", {len(result['skipped'])} skipped" if result.get("skipped") else "")
                     + (f", {result['passages']} passages" if "passages" in result else ""))
        lines.append(f"  {'ranking':<10} {'MRR@10':>7} {'recall@10':>10} {'nDCG@10':>8}")
        for mode, m in result["modes"].items():
            lines.append(f"  {mode:<10} {m['mrr@10']:>7.3f} {m['recall@10']:>10.3f} {m['ndcg@10']:>8.3f}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="+", default=list(SETS), choices=list(SETS))
    parser.add_argument("--out", type=Path, default=CHECKOUT / "var" / "realeval")
    parser.add_argument("--tag", default="current", help="names the stores, so code that chunks differently gets its own")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results = run(args.sets, args.out, args.tag)
    print(json.dumps(results) if args.json else table(results))


if __name__ == "__main__":
    main()
