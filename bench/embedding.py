"""Embedding backends on this CPU: torch against ONNX Runtime, full precision and int8.

    python bench/embedding.py [--quick]

Each backend is kb.nlp.embedding's own (SCRKB_EMBEDDING_BACKEND), the ONNX models
exported from the packaged weights on first use into SCRKB_MODEL_CACHE, before
the clock starts. Each runs the same one-pass pooling that ingest uses, over
the same review paragraphs, in alternating rounds so that a change in the
machine's load hits all of them.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterator
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parent.parent
if __package__ in (None, ""):
    sys.path.insert(0, str(CHECKOUT))

from bench.figures import Figure, print_all  # noqa: E402
from kb.nlp.embedding import Embedder, _threads  # noqa: E402
from kb.nlp.onnx_export import ExportError  # noqa: E402


def run(quick: bool = False) -> Iterator[Figure]:
    texts = paragraphs(120 if quick else 400)
    backends = {"torch": Embedder(backend="torch")}
    note = None
    try:
        for name in ("onnx", "onnx-int8"):
            backends[name] = Embedder(backend=name)
            backends[name].encode(texts[:1])  # export now if need be, before the clock
    except ExportError as exc:
        backends.pop(name)
        note = f"ONNX not measured: {exc}"
    for backend in backends.values():
        backend.encode_with_spans(texts[:4], [[]] * 4)  # load and warm
    seconds = {name: 0.0 for name in backends}
    vectors = {}
    for _ in range(2):
        for name, backend in backends.items():
            started = time.perf_counter()
            vectors[name], _ = backend.encode_with_spans(texts, [[]] * len(texts))
            seconds[name] += time.perf_counter() - started
    torch_rate = 2 * len(texts) / seconds["torch"]
    yield Figure("embed_torch_texts_per_s", torch_rate, "texts/s", note=note or f"{len(texts)} paragraphs, batch 32 (int8: one text at a time), {_threads()} threads")
    for name in [n for n in backends if n != "torch"]:
        cosine = (vectors[name] * vectors["torch"]).sum(axis=1)
        yield Figure(f"embed_{name.replace('-', '_')}_texts_per_s", 2 * len(texts) / seconds[name], "texts/s", floor=torch_rate,
                     note=f"ratio = speed-up over torch; cosine to torch mean {cosine.mean():.4f}, min {cosine.min():.4f}")


def paragraphs(count: int) -> list[str]:
    """Review paragraphs from the sample digests, repeated if need be to make `count`."""
    from bench.corpus import sample_digests

    found = [b.text for d in sample_digests() for b in d.blocks if b.kind == "para" and len(b.text.split()) >= 20]
    return (found * (count // max(1, len(found)) + 1))[:count]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    print_all(run(quick=args.quick))


if __name__ == "__main__":
    main()
