"""Embedding backends on this CPU: torch against ONNX Runtime, full precision and int8.

    python bench/embedding.py [--quick]

The ONNX models are exported here from the packaged weights (offline) and
cached under /tmp; exporting needs the `onnx` package, which scrkb does not
depend on, so without it only torch is measured. Each backend runs the same
one-pass pooling that ingest uses, over the same review paragraphs, in
alternating rounds so that a change in the machine's load hits all of them.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

CHECKOUT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(CHECKOUT), str(CHECKOUT / "bench")]

from figures import Figure, table  # noqa: E402

from kb.embedding import Embedder  # noqa: E402

MODELS = Path("/tmp/scrkb-bench-onnx")
THREADS = 2


class OnnxEmbedder(Embedder):
    """The same tokenising and pooling as Embedder, with the transformer run by ONNX Runtime."""

    def __init__(self, path: Path, batch_size: int = 32):
        import onnxruntime

        super().__init__(batch_size)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = THREADS
        self.session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def _token_embeddings(self, encodings) -> np.ndarray:
        feed = {
            "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
            "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
        }
        return self.session.run(None, feed)[0]


def run(quick: bool = False) -> Iterator[Figure]:
    texts = paragraphs(120 if quick else 400)
    backends = {"torch": Embedder()}
    try:
        backends["onnx"] = OnnxEmbedder(export_onnx())
        backends["onnx_int8"] = OnnxEmbedder(quantise(export_onnx()))
    except ImportError as exc:
        note = f"ONNX not measured: {exc}"
    else:
        note = None
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
    yield Figure("embed_torch_texts_per_s", torch_rate, "texts/s", note=note or f"{len(texts)} paragraphs, batch 32, {THREADS} threads")
    for name in [n for n in backends if n != "torch"]:
        cosine = (vectors[name] * vectors["torch"]).sum(axis=1)
        yield Figure(f"embed_{name}_texts_per_s", 2 * len(texts) / seconds[name], "texts/s", floor=torch_rate,
                     note=f"ratio = speed-up over torch; cosine to torch mean {cosine.mean():.4f}, min {cosine.min():.4f}")


def paragraphs(count: int) -> list[str]:
    """Review paragraphs from the sample digests, repeated if need be to make `count`."""
    from corpus import _digests

    found = [b.text for d in _digests() for b in d.blocks if b.kind == "para" and len(b.text.split()) >= 20]
    return (found * (count // max(1, len(found)) + 1))[:count]


def export_onnx() -> Path:
    """The packaged model exported to ONNX with dynamic batch and length (once, cached)."""
    import importlib

    import torch

    importlib.import_module("onnx")  # the exporter needs it: fail here with a plain ImportError

    from kb.embedding import _load_model

    path = MODELS / "model.onnx"
    if path.exists():
        return path
    bert = _load_model()[0].auto_model.eval()

    class LastHidden(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.bert(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids).last_hidden_state

    names = ["input_ids", "attention_mask", "token_type_ids"]
    ids = torch.ones((2, 16), dtype=torch.long)
    mask = torch.ones_like(ids)
    mask[1, 8:] = 0  # traced with padding: with none, the exporter bakes in "attend to every token"
    MODELS.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.onnx")
    torch.onnx.export(LastHidden(), (ids, mask, torch.zeros_like(ids)), str(tmp), dynamo=False,
                      input_names=names, output_names=["last_hidden_state"], opset_version=17,
                      dynamic_axes={n: {0: "batch", 1: "tokens"} for n in [*names, "last_hidden_state"]})
    tmp.replace(path)
    return path


def quantise(source: Path) -> Path:
    """Int8 weights per output channel, matrix products only: per-tensor scales cost too much accuracy."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    path = source.with_name("model-int8.onnx")
    if not path.exists():
        tmp = path.with_suffix(".tmp.onnx")
        quantize_dynamic(str(source), str(tmp), weight_type=QuantType.QInt8, per_channel=True, op_types_to_quantize=["MatMul"])
        tmp.replace(path)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    figures = []
    for figure in run(quick=args.quick):
        print(figure.json(), flush=True)
        figures.append(figure)
    print()
    print(table(figures))


if __name__ == "__main__":
    main()
