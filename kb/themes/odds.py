"""Probabilities to log-odds and back, shared by the theme model's parts."""

from __future__ import annotations

import numpy as np


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -40, 40)))  # clipped: exp overflows past about 700


def log_odds(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-4, 1 - 1e-4)  # a part that is certain must not outvote the others without bound
    return np.log(p / (1 - p))
