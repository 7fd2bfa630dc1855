"""Re-rank the top of a fused hybrid ranking with a learned linear combination of features.

Fusion by rank knows only where each ranking put a passage. Re-ranking the top
RERANK_DEPTH looks at the passages themselves: how close in meaning the passage
and its best sentence are to the query (the stored sentence vectors), how much of
the query's words it holds, and the BM25 score against the best one. The weights
are fitted by bench/fit_rerank.py on graded queries (development set, real review
passages, coroners' reports) with grouped cross-validation, groups being the
reports, and ship as data in kb/data/rerank.json; without that file the fused
order stands.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kb.settings import DATA_DIR

RERANK_FILE = DATA_DIR / "rerank.json"
FEATURES = ("fused", "keyword", "semantic", "sentence", "sentence_mean2", "coverage", "in_both",
            "keyword_rank", "semantic_rank", "short", "named_case")
# Passages shorter than this many words (a title, a heading left on its own) are rarely the answer.
SHORT_WORDS = 40


@dataclass
class Reranker:
    weights: dict[str, float] = field(default_factory=dict)
    bias: float = 0.0
    depth: int = 50
    field_boosts: dict[str, float] = field(default_factory=lambda: {"text": 1.0})

    @classmethod
    def load(cls, path: Path = RERANK_FILE) -> "Reranker":
        if not path.exists():
            return cls()
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(weights=data["weights"], bias=data.get("bias", 0.0), depth=data.get("depth", 50),
                   field_boosts=data.get("field_boosts", {"text": 1.0}))

    def features(self, ids: list[str], fused, keyword, semantic, query_vector, matrix, sentences, coverage,
                 lengths, in_named_case) -> np.ndarray:
        """One row per candidate, one column per name in FEATURES."""
        top_fused = max((fused[p] for p in ids), default=1.0) or 1.0
        top_keyword = max(keyword.values(), default=1.0) or 1.0
        keyword_rank = {pid: i for i, pid in enumerate(keyword, start=1)}
        semantic_rank = {pid: i for i, pid in enumerate(semantic, start=1)}
        rows = []
        for pid in ids:
            row = matrix.row.get(pid)
            # The ranking's own cosine where it has one (full precision); the float16 matrix otherwise.
            if pid in semantic or row is None:
                similarity = semantic.get(pid, 0.0)
            else:
                similarity = float(matrix.vectors[row].astype(np.float32) @ query_vector)
            sims = sorted((float(v @ query_vector) for _, _, v in sentences.get(pid, [])), reverse=True) or [similarity]
            rows.append([
                fused[pid] / top_fused,
                keyword.get(pid, 0.0) / top_keyword,
                similarity,
                sims[0],
                sum(sims[:2]) / len(sims[:2]),
                coverage.get(pid, 0.0),
                float(pid in keyword and pid in semantic),
                1.0 / keyword_rank[pid] if pid in keyword_rank else 0.0,
                1.0 / semantic_rank[pid] if pid in semantic_rank else 0.0,
                max(0.0, 1.0 - lengths.get(pid, SHORT_WORDS) / SHORT_WORDS),
                float(pid in in_named_case),
            ])
        return np.asarray(rows, dtype=np.float32).reshape(len(ids), len(FEATURES))

    def score(self, features: np.ndarray) -> np.ndarray:
        w = np.asarray([self.weights.get(name, 0.0) for name in FEATURES], dtype=np.float32)
        return features @ w + self.bias

    @property
    def active(self) -> bool:
        return bool(self.weights)

    def rerank(self, ordered: list[str], fused: dict[str, float], features: np.ndarray) -> tuple[list[str], dict[str, float]]:
        """The top `depth` in the learned order (scores 1 + sigmoid, above every fused score), the rest as fused."""
        top = ordered[: len(features)]
        z = self.score(features)
        order = sorted(range(len(top)), key=lambda i: (-z[i], i))
        scores = dict(fused)
        for i in order:
            scores[top[i]] = 1.0 + 1.0 / (1.0 + math.exp(-float(z[i])))
        return [top[i] for i in order] + ordered[len(top):], scores
