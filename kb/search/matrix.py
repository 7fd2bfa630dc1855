"""Every passage vector in memory, for filtered semantic ranking, re-ranking, duplicates and "more like this".

Kept in float16 (400 MB at 540,000 passages instead of 800) and scored in float32
blocks, as NumPy has no fast float16 product; reloaded when the catalogue's
generation changes.
"""

from __future__ import annotations

import threading

import numpy as np

from kb.store.catalogue import Catalogue

MATRIX_DTYPE = np.float16
SCORE_BLOCK = 65_536


class VectorMatrix:
    """Every passage vector in memory, reloaded when the catalogue's generation changes."""

    def __init__(self, catalogue: Catalogue):
        self.catalogue = catalogue
        self.generation = -1
        self.ids: list[str] = []
        self.row: dict[str, int] = {}
        self.vectors = np.zeros((0, 0), dtype=np.float32)
        self.doc_ids: list[str] = []
        self.cases: list[str | None] = []
        self.rowids = np.zeros(0, dtype=np.int64)  # ascending: the catalogue's rowid of each row
        self._lock = threading.Lock()

    def fresh(self) -> "VectorMatrix":
        generation = self.catalogue.generation()
        if generation != self.generation:
            with self._lock:
                if generation != self.generation:
                    self.ids, self.vectors, self.doc_ids, self.cases, self.rowids = self.catalogue.embedding_matrix(
                        dtype=MATRIX_DTYPE)
                    self.row = {pid: i for i, pid in enumerate(self.ids)}
                    self.generation = generation
        return self

    def rows_of(self, rowids: np.ndarray) -> np.ndarray:
        """Matrix rows of these catalogue rowids; rowids the matrix does not hold (yet) are left out."""
        if not len(self.rowids):
            return np.zeros(0, dtype=np.int64)
        rows = np.minimum(np.searchsorted(self.rowids, rowids), len(self.rowids) - 1)
        return rows[self.rowids[rows] == rowids]

    def ids_at(self, rowids: list[int]) -> dict[int, str]:
        """The passage ids of these catalogue rowids that the matrix holds."""
        if not rowids or not len(self.rowids):
            return {}
        wanted = np.asarray(rowids, dtype=np.int64)
        rows = np.minimum(np.searchsorted(self.rowids, wanted), len(self.rowids) - 1)
        return {int(r): self.ids[row] for r, row, ok in zip(wanted, rows, self.rowids[rows] == wanted) if ok}

    def score(self, query: np.ndarray, rows: np.ndarray | None, limit: int) -> list[tuple[str, float]]:
        """The `limit` rows most like the query, among `rows` (all when None)."""
        if rows is None:
            rows = np.arange(len(self.ids))
        if not len(rows):
            return []
        query = np.asarray(query, dtype=np.float32)
        sims = np.concatenate([self.vectors[rows[i : i + SCORE_BLOCK]].astype(np.float32) @ query
                               for i in range(0, len(rows), SCORE_BLOCK)])
        top = np.argpartition(-sims, limit - 1)[:limit] if len(rows) > limit else np.arange(len(rows))
        top = top[np.argsort(-sims[top], kind="stable")]
        return [(self.ids[rows[i]], float(sims[i])) for i in top]
