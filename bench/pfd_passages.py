"""Rebuild the coroners' report passages labelled for training, from the text-free labels file.

    python bench/pfd_passages.py [--out var/realeval] [--write var/realtext/pfd_passages.jsonl]

corpora/realtext/pfd_passages.labels.jsonl holds, for half of the 218 reports in
../shared/data/pfd_reports.csv, each passage's place in its report, a hash of its text and the themes it
shows (coded twice, blind, and settled: docs/themes.md). The passages are cut by ingest itself: the
reports are rendered and ingested into bench/pfd_themes.py's store, and each passage whose text still
hashes as recorded is written as {"id", "text", "themes", "report"} for scripts/train_tagger.py. A
passage whose hash no longer matches (the chunker changed) is counted and left out, never guessed at,
and the script exits with status 1.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.real_search import store_for  # noqa: E402
from bench.real_text import CHECKOUT, REALTEXT, prepare_pfd  # noqa: E402

LABELS = CHECKOUT / "corpora" / "realtext" / "pfd_passages.labels.jsonl"


def text_hash(text: str) -> str:
    return hashlib.sha1(" ".join(text.split()).encode("utf-8")).hexdigest()


def report_id(doc) -> str:
    """The report's id in the CSV, which its catalogue title ends with."""
    return (doc.meta.title or "").rsplit(" ", 1)[-1]


def labels() -> list[dict]:
    return [json.loads(line) for line in LABELS.read_text(encoding="utf-8").splitlines() if line.strip()]


def trained_reports() -> set[str]:
    """The reports whose passages the shipped model learnt from: a report-level figure leaves them out."""
    return {row["report"] for row in labels()} if LABELS.exists() else set()


def rebuild(out: Path) -> tuple[list[dict], int]:
    """The labelled passages as ingest cuts them today, and how many labelled passages no longer match."""
    prepare_pfd(out / "pfd")
    kb = store_for("pfd", out, "themes")
    passages = {}
    for doc in kb.documents():
        rid = report_id(doc)
        for n, passage in enumerate(sorted(kb.passages(doc.doc_id), key=lambda p: p.seq)):
            passages[(rid, n)] = passage.text
    rows, stale = [], 0
    for row in labels():
        text = passages.get((row["report"], row["n"]))
        if text is None or text_hash(text) != row["sha1"]:
            stale += 1
            continue
        rows.append({"id": row["id"], "text": text, "themes": row["themes"], "report": f"pfd-{row['report']}"})
    return rows, stale


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=CHECKOUT / "var" / "realeval")
    parser.add_argument("--write", type=Path, default=REALTEXT / "pfd_passages.jsonl")
    args = parser.parse_args()
    rows, stale = rebuild(args.out)
    args.write.parent.mkdir(parents=True, exist_ok=True)
    args.write.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    print(f"{len(rows)} passages from {len({r['report'] for r in rows})} reports written to {args.write}; "
          f"{stale} labelled passages no longer match the chunker's passages")
    if stale:
        sys.exit(1)


if __name__ == "__main__":
    main()
