"""One forward pass per passage: the passage's vector as `encode` makes it, and its sentences' from the same pass."""

import json
from pathlib import Path

import numpy as np
import pytest

from kb.nlp.embedding import BACKENDS, Embedder

TEXTS = [
    "The health visitor saw the baby twice. A bruise on the cheek was noted but not discussed with the GP.",
    "Police attended three domestic abuse incidents at the address.",
]


@pytest.mark.parametrize("backend", BACKENDS)
def test_text_vectors_equal_encode_and_spans_read_their_own_sentence(backend):
    embedder = Embedder(backend=backend)  # both texts in one padded batch
    first, second = TEXTS[0].split(". ")
    spans = [[(0, len(first) + 1), (len(first) + 2, len(TEXTS[0]))], []]
    vectors, span_vectors = embedder.encode_with_spans(TEXTS, spans)
    assert np.allclose((vectors * embedder.encode(TEXTS)).sum(axis=1), 1.0, atol=1e-4)
    assert [v.shape for v in span_vectors] == [(2, 384), (0, 384)]
    alone = embedder.encode([first + ".", second])
    similarity = span_vectors[0] @ alone.T
    assert similarity[0, 0] > similarity[0, 1] and similarity[1, 1] > similarity[1, 0]
    assert np.allclose(np.linalg.norm(span_vectors[0], axis=1), 1.0, atol=1e-5)
    # Alone, the short text is a batch without padding: its vector must not move, or a passage's
    # tags would depend on what it was ingested with (int8 activations are scaled per batch).
    alone_cosine = vectors[1] @ embedder.encode([TEXTS[1]])[0]
    assert alone_cosine >= 0.9999, alone_cosine


def _dev_passages(count: int = 40) -> list[str]:
    """Passages written like the reviews' own prose: the themes development set."""
    lines = (Path(__file__).parent / "data" / "themes_dev.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["text"] for line in lines[:count]]


@pytest.fixture(scope="module")
def torch_vectors() -> np.ndarray:
    return Embedder(backend="torch").encode(_dev_passages())


@pytest.mark.parametrize("backend", ["onnx", "onnx-int8"])
def test_onnx_vectors_agree_with_torch(backend, torch_vectors):
    vectors = Embedder(backend=backend).encode(_dev_passages())
    cosine = (vectors * torch_vectors).sum(axis=1)
    assert cosine.min() >= (0.9999 if backend == "onnx" else 0.98), cosine.min()
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_an_unknown_backend_is_refused_by_name():
    with pytest.raises(ValueError, match="onnx-int8, onnx, torch"):
        Embedder(backend="tensorflow")
