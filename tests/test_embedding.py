"""One forward pass per passage: the passage's vector as `encode` makes it, and its sentences' from the same pass."""

import numpy as np

from kb.embedding import Embedder

TEXTS = [
    "The health visitor saw the baby twice. A bruise on the cheek was noted but not discussed with the GP.",
    "Police attended three domestic abuse incidents at the address.",
]


def test_text_vectors_equal_encode_and_spans_read_their_own_sentence():
    embedder = Embedder()  # both texts in one padded batch
    first, second = TEXTS[0].split(". ")
    spans = [[(0, len(first) + 1), (len(first) + 2, len(TEXTS[0]))], []]
    vectors, span_vectors = embedder.encode_with_spans(TEXTS, spans)
    assert np.allclose((vectors * embedder.encode(TEXTS)).sum(axis=1), 1.0, atol=1e-4)
    assert [v.shape for v in span_vectors] == [(2, 384), (0, 384)]
    alone = embedder.encode([first + ".", second])
    similarity = span_vectors[0] @ alone.T
    assert similarity[0, 0] > similarity[0, 1] and similarity[1, 1] > similarity[1, 0]
    assert np.allclose(np.linalg.norm(span_vectors[0], axis=1), 1.0, atol=1e-5)
