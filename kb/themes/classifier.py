"""What the tagger knows of each theme from the taxonomy's own sentences.

A linear classifier per theme, trained on the taxonomy's sentences (each theme's
examples and indicators are its positives; its negatives and every other theme's
examples are its negatives), and the embedded sentences themselves, which the
tagger compares passages with: each theme's examples, its look-alikes, and the
review-genre sentences of kb/data/discourse.yaml that show no theme at all.
Labelled real text is never trained on here: it trains the model that weighs
these signals (kb/themes/model.py).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import yaml

from kb.nlp.embedding import Embedder
from kb.settings import DATA_DIR
from kb.themes.taxonomy import Taxonomy, load_taxonomy

# Ridge penalty: strong enough that ten examples a theme do not pin the boundary.
RIDGE_LAMBDA = 3.0
# Weights for the built-in taxonomy ship with the package, named by its fingerprint.
SHIPPED_DIR = DATA_DIR
DISCOURSE_FILE = DATA_DIR / "discourse.yaml"


class ThemeClassifier:
    def __init__(self, theme_ids: list[str], weights: np.ndarray, bias: np.ndarray,
                 examples: list[np.ndarray], negatives: list[np.ndarray], discourse: dict[str, np.ndarray]):
        self.theme_ids = theme_ids
        self.weights = weights
        self.bias = bias
        self.examples = examples  # per theme: unit vectors of its examples and indicators
        self.negatives = negatives  # per theme: unit vectors of its look-alikes
        self.discourse = discourse  # per kind of non-finding text: unit vectors

    @classmethod
    def train(cls, taxonomy: Taxonomy, embedder: Embedder, base: "ThemeClassifier | None" = None,
              base_sentences: dict | None = None) -> "ThemeClassifier":
        """Train on the taxonomy's sentences; a theme `base` was trained on with the same sentences
        (`base_sentences`) keeps its weights, so adding a team's own theme leaves the built-in ones
        exactly as they were."""
        texts, labels = [], []
        for t, theme in enumerate(taxonomy.themes):
            for text in (*theme.examples, *theme.indicators):
                texts.append(text)
                labels.append(t)
            for text in theme.negatives:
                texts.append(text)
                labels.append(-1 - t)  # a look-alike of theme t: negative for every theme
        discourse = _discourse()
        kinds = [kind for kind, sentences in discourse.items() for _ in sentences]
        vectors = embedder.encode(texts + [s for sentences in discourse.values() for s in sentences])
        themed, genre = vectors[: len(texts)], vectors[len(texts):]
        known = {theme_id: t for t, theme_id in enumerate(base.theme_ids)
                 if theme_id in base_sentences and base_sentences[theme_id] == _sentences(taxonomy.get(theme_id))} if base else {}
        weights, bias = _fit(themed, np.array(labels), len(taxonomy.themes), skip={
            t for t, theme in enumerate(taxonomy.themes) if theme.id in known})
        for t, theme in enumerate(taxonomy.themes):
            if theme.id in known:
                weights[t], bias[t] = base.weights[known[theme.id]], base.bias[known[theme.id]]
        labels_array = np.array(labels)
        return cls(
            taxonomy.ids, weights, bias,
            [themed[labels_array == t] for t in range(len(taxonomy.themes))],
            [themed[labels_array == -1 - t] for t in range(len(taxonomy.themes))],
            {kind: genre[[k == kind for k in kinds]] for kind in discourse},
        )

    @classmethod
    def cached(cls, taxonomy: Taxonomy, embedder: Embedder, cache_dir: Path | None) -> "ThemeClassifier":
        """Load weights trained on this exact taxonomy (shipped, or cached), else train and cache them."""
        name = f"theme_classifier-{fingerprint(taxonomy)}.npz"
        for path in (SHIPPED_DIR / name, cache_dir / name if cache_dir else None):
            if path is not None and path.exists():
                loaded = cls.load(path)
                if loaded.theme_ids == taxonomy.ids:
                    return loaded
        builtin = load_taxonomy()
        base = cls.cached(builtin, embedder, cache_dir) if taxonomy.ids != builtin.ids else None
        classifier = cls.train(taxonomy, embedder, base, {t.id: _sentences(t) for t in builtin.themes})
        if cache_dir is not None:
            cache_dir.mkdir(parents=True, exist_ok=True)
            classifier.save(cache_dir / name)
        return classifier

    def save(self, path: Path) -> None:
        tmp = path.with_suffix(".tmp.npz")
        # Sentence vectors in float16: half the file, a cosine error far below anything the tagger resolves.
        arrays = {f"example_{i}": v.astype(np.float16) for i, v in enumerate(self.examples)}
        arrays |= {f"negative_{i}": v.astype(np.float16) for i, v in enumerate(self.negatives)}
        arrays |= {f"discourse_{kind}": v.astype(np.float16) for kind, v in self.discourse.items()}
        np.savez(tmp, theme_ids=np.array(self.theme_ids), weights=self.weights, bias=self.bias,
                 discourse_kinds=np.array(list(self.discourse)), **arrays)
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> "ThemeClassifier":
        data = np.load(path)
        ids = [str(t) for t in data["theme_ids"]]
        unit = lambda key: data[key].astype(np.float32)  # noqa: E731
        return cls(
            ids, data["weights"], data["bias"],
            [unit(f"example_{i}") for i in range(len(ids))], [unit(f"negative_{i}") for i in range(len(ids))],
            {str(kind): unit(f"discourse_{kind}") for kind in data["discourse_kinds"]},
        )

    def probabilities(self, vectors: np.ndarray) -> np.ndarray:
        """(n, themes) scores in [0, 1] that each vector's text shows each theme."""
        if len(vectors) == 0:
            return np.zeros((0, len(self.theme_ids)), dtype=np.float32)
        raw = vectors @ self.weights.T + self.bias  # about -1 (not shown) to 1 (shown)
        return np.clip((raw + 1.0) / 2.0, 0.0, 1.0).astype(np.float32)


def fingerprint(taxonomy: Taxonomy) -> str:
    """The taxonomy's fingerprint, extended by the review-genre sentences the classifier also embeds."""
    digest = hashlib.sha256(taxonomy.fingerprint.encode())
    digest.update(DISCOURSE_FILE.read_bytes())
    return digest.hexdigest()[:16]


def _sentences(theme) -> tuple:
    return (theme.examples, theme.indicators, theme.negatives)


def _discourse() -> dict[str, list[str]]:
    return {str(kind): [str(s) for s in sentences] for kind, sentences in yaml.safe_load(DISCOURSE_FILE.read_text(encoding="utf-8")).items()}


def _fit(vectors: np.ndarray, labels: np.ndarray, n_themes: int, skip: set[int] = frozenset()) -> tuple[np.ndarray, np.ndarray]:
    """Fit a class-balanced ridge regression to +1/-1 targets for every theme.

    A closed-form solve per theme takes milliseconds, where logistic regression
    took seconds for the same macro-F1 on the development set.
    """
    x = np.hstack([vectors, np.ones((len(vectors), 1), dtype=vectors.dtype)]).astype(np.float64)
    weights = np.zeros((n_themes, vectors.shape[1]), dtype=np.float32)
    bias = np.zeros(n_themes, dtype=np.float32)
    for t in range(n_themes):
        if t in skip:
            continue
        positive = labels == t
        balance = np.where(positive, (~positive).sum() / max(1, positive.sum()), 1.0)
        target = np.where(positive, 1.0, -1.0)
        gram = (x * balance[:, None]).T @ x + RIDGE_LAMBDA * np.eye(x.shape[1])
        coef = np.linalg.solve(gram, (x * balance[:, None]).T @ target)
        weights[t], bias[t] = coef[:-1], coef[-1]
    return weights, bias
