"""How much each of the model's parts is trusted for each theme, learnt from their out-of-fold probabilities.

The theme model blends its parts (weigher, lexical model, attention) with fixed
weights shared by every theme. The parts are not equally good at every theme, and
a part's probabilities run high for some themes and low for others. A stacker per
theme is a small logistic model over the parts' log-odds, fitted on predictions
each part made of passages it was not trained on (training.py), so it learns how
far to believe each part, not how well each part remembers its training. The
finding gate is stacked the same way, beside the passage's strongest theme.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.linear_model import LogisticRegression

from kb.themes import odds

STACKER_C = 1.0
MIN_POSITIVES = 5  # fewer labelled passages than this: the theme keeps the fixed blend
# The strongest theme may hold open the gate of a passage its vectors are unsure of, never of one they
# reject: a recommendation ("agencies should share...") or a note on how the report names people scores
# a theme highly and sits under 0.2. About half of the real passages that show no theme sit under it; in
# nested cross-validation floors from 0 to 0.25 scored the same micro-F1 (0.620-0.622).
GATE_FLOOR = 0.2


@dataclass
class ThemeStacker:
    theme_ids: list[str]
    coef: np.ndarray  # (themes, parts) weight of each part's log-odds
    intercept: np.ndarray  # (themes,)

    def log_odds(self, parts: np.ndarray, theme_ids: list[str]) -> tuple[np.ndarray, list[int]]:
        """From (passages, themes, parts) probabilities: (passages, themes it knows) log-odds and the
        columns of `theme_ids` they belong to."""
        columns = [theme_ids.index(t) for t in self.theme_ids]
        return np.einsum("ntp,tp->nt", odds.log_odds(parts[:, columns, :]), self.coef) + self.intercept, columns

    def arrays(self, prefix: str) -> dict[str, np.ndarray]:
        return {f"{prefix}_theme_ids": np.array(self.theme_ids), f"{prefix}_coef": self.coef,
                f"{prefix}_intercept": self.intercept}

    @classmethod
    def from_arrays(cls, data, prefix: str) -> "ThemeStacker | None":
        if f"{prefix}_theme_ids" not in data or not len(data[f"{prefix}_theme_ids"]):
            return None
        return cls([str(t) for t in data[f"{prefix}_theme_ids"]], data[f"{prefix}_coef"], data[f"{prefix}_intercept"])

    @classmethod
    def fit(cls, parts: np.ndarray, gold: np.ndarray, theme_ids: list[str]) -> "ThemeStacker | None":
        """Fit on (passages, themes, parts) out-of-fold probabilities and (passages, themes) labels.
        Classes are balanced, as in the weigher, so a rare theme's log-odds are not pushed down."""
        trained, coef, intercept = [], [], []
        for t, theme in enumerate(theme_ids):
            labels = gold[:, t]
            if MIN_POSITIVES <= labels.sum() < len(labels):
                model = LogisticRegression(C=STACKER_C, max_iter=2000, class_weight="balanced")
                model.fit(odds.log_odds(parts[:, t, :]), labels)
                trained.append(theme)
                coef.append(model.coef_[0])
                intercept.append(model.intercept_[0])
        if not trained:
            return None
        return cls(trained, np.array(coef, np.float32), np.array(intercept, np.float32))


@dataclass
class GateStacker:
    """The finding gate read beside the passage's strongest theme.

    The gate judges from a passage's vectors alone whether it shows any failure, and
    a themed passage that reads like an account of events falls under its cut even
    when one theme's evidence is plain. A logistic model over the gate's log-odds and
    the strongest theme's, fitted on out-of-fold predictions like the stackers, lets
    strong evidence for a theme hold the gate open, and a passage the gate doubts
    and no theme claims stay shut. Under GATE_FLOOR the vectors' judgement stands.
    """

    theme_ids: list[str]  # the themes whose strongest counts: those the model was trained on
    coef: np.ndarray  # (2,) weights of the gate's log-odds and the strongest theme's
    intercept: float

    def gate(self, vector_gates: np.ndarray, probs: np.ndarray, theme_ids: list[str]) -> np.ndarray:
        columns = [theme_ids.index(t) for t in self.theme_ids if t in theme_ids]
        inputs = _stacked_inputs(vector_gates, probs[:, columns] if columns else np.zeros((len(probs), 1)))
        mixed = odds.sigmoid(inputs @ self.coef + self.intercept)
        return np.where(vector_gates >= GATE_FLOOR, mixed, np.minimum(vector_gates, mixed)).astype(np.float32)

    def arrays(self, prefix: str) -> dict[str, np.ndarray]:
        return {f"{prefix}_theme_ids": np.array(self.theme_ids), f"{prefix}_coef": self.coef,
                f"{prefix}_intercept": np.float32(self.intercept)}

    @classmethod
    def from_arrays(cls, data, prefix: str) -> "GateStacker | None":
        if f"{prefix}_theme_ids" not in data or not len(data[f"{prefix}_theme_ids"]):
            return None
        return cls([str(t) for t in data[f"{prefix}_theme_ids"]], data[f"{prefix}_coef"], float(data[f"{prefix}_intercept"]))

    @classmethod
    def fit(cls, vector_gates: np.ndarray, probs: np.ndarray, shows_any: np.ndarray, theme_ids: list[str]) -> "GateStacker | None":
        if shows_any.all() or not shows_any.any():  # nothing to tell apart: the gate is read alone
            return None
        model = LogisticRegression(C=STACKER_C, max_iter=2000, class_weight="balanced")
        model.fit(_stacked_inputs(vector_gates, probs), shows_any)
        return cls(list(theme_ids), model.coef_[0].astype(np.float32), float(model.intercept_[0]))


def _stacked_inputs(vector_gates: np.ndarray, probs: np.ndarray) -> np.ndarray:
    return np.stack([odds.log_odds(vector_gates), odds.log_odds(probs).max(axis=1)], axis=1)
