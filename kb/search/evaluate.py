"""Measure search on graded development queries: recall@10, MRR@10 and nDCG@10 per mode."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from kb.nlp.text import read_jsonl
from kb.search.baselines import baseline_ranking
from kb.search.searcher import MODES, Searcher
from kb.store.catalogue import Catalogue

CUTOFF = 10


@dataclass
class Query:
    id: str
    text: str
    style: str
    relevant: dict[str, int]  # passage id -> grade (2 answers the query, 1 is related)


def read_queries(path: Path, catalogue: Catalogue, skipped: list | None = None) -> list[Query]:
    """Read queries whose relevance is anchored by document and quote, resolved to passage ids.

    A quote no stored passage holds is an error, unless `skipped` is given: then the
    query is left out and its id and reason appended there (real text rendered to PDF
    can lose a quote to a page break).
    """
    docs = {d.meta.catalogue_id: d.doc_id for d in catalogue.documents() if d.meta.catalogue_id}
    texts: dict[str, list[tuple[str, str]]] = {}

    def parse(row: dict) -> Query:
        relevant: dict[str, int] = {}
        for item in row["relevant"]:
            doc_id = docs.get(item["doc"])
            if doc_id is None:
                raise ValueError(f"document {item['doc']!r} is not in the store")
            if doc_id not in texts:
                texts[doc_id] = [(p.passage_id, " ".join(p.text.split())) for p in catalogue.passages_of(doc_id)]
            quote = " ".join(item["quote"].split())
            found = [pid for pid, text in texts[doc_id] if quote in text]
            if not found:
                raise ValueError(f"no passage of {item['doc']!r} contains {item['quote']!r}")
            relevant[found[0]] = max(relevant.get(found[0], 0), int(item["grade"]))
        return Query(str(row["id"]), row["query"], row.get("style", ""), relevant)

    def lenient(row: dict) -> Query | None:
        try:
            return parse(row)
        except ValueError as exc:
            skipped.append({"id": str(row.get("id")), "reason": str(exc)})
            return None

    if skipped is None:
        return read_jsonl(path, parse)
    return [q for q in read_jsonl(path, lenient) if q is not None]


def evaluate_search(searcher: Searcher, queries: list[Query], modes=MODES, baselines=()) -> dict:
    """Each mode's figures, and each bare baseline's (bm25, dense) on the same store."""
    results = {}
    for mode in modes:
        rankings = [[h.passage_id for h in searcher.search(q.text, k=CUTOFF, mode=mode).hits] for q in queries]
        results[mode] = metrics(queries, rankings)
    for name in baselines:
        results[name] = metrics(queries, [baseline_ranking(searcher, name, q.text, CUTOFF) for q in queries])
    return {"queries": len(queries), "cutoff": CUTOFF, "modes": results, "by_style": _by_style(searcher, queries, modes)}


def metrics(queries: list[Query], rankings: list[list[str]]) -> dict:
    recall = mrr = ndcg = 0.0
    for query, ranked in zip(queries, rankings):
        top = ranked[:CUTOFF]
        recall += sum(1 for pid in top if pid in query.relevant) / len(query.relevant)
        first = next((i for i, pid in enumerate(top, start=1) if query.relevant.get(pid, 0) > 0), None)
        mrr += 1.0 / first if first else 0.0
        dcg = sum((2 ** query.relevant.get(pid, 0) - 1) / math.log2(i + 1) for i, pid in enumerate(top, start=1))
        ideal = sorted(query.relevant.values(), reverse=True)[:CUTOFF]
        idcg = sum((2**g - 1) / math.log2(i + 1) for i, g in enumerate(ideal, start=1))
        ndcg += dcg / idcg if idcg else 0.0
    n = max(1, len(queries))
    return {"recall@10": round(recall / n, 4), "mrr@10": round(mrr / n, 4), "ndcg@10": round(ndcg / n, 4)}


def _by_style(searcher: Searcher, queries: list[Query], modes) -> dict:
    styles = sorted({q.style for q in queries})
    table = {}
    for style in styles:
        subset = [q for q in queries if q.style == style]
        table[style] = {
            mode: metrics(subset, [[h.passage_id for h in searcher.search(q.text, k=CUTOFF, mode=mode).hits] for q in subset])["ndcg@10"]
            for mode in modes
        }
    return table
