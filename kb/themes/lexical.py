"""The words of real review text that go with each theme: TF-IDF over content lemmas, a linear model per theme.

Learnt from labelled real passages (kb/themes/training.py), so it knows the genre's
own phrasing ("the new parish was not made aware", "drinking", "not brought") that
the taxonomy's sentences miss. Only words and word pairs found in passages of at
least MIN_REPORTS different reports are kept, so a child's or a town's name never
becomes evidence of a theme. Inference is plain NumPy; fitting is in training.py.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from kb.models import Sentence

MIN_REPORTS = 3


def document(sentences: list[Sentence]) -> list[str]:
    """A passage's terms: its content lemmas, and each pair of neighbours within a sentence."""
    terms = []
    for sentence in sentences:
        lemmas = [lemma for lemma in sentence.lemmas if any(c.isalpha() for c in lemma)]
        terms.extend(lemmas)
        terms.extend(f"{a} {b}" for a, b in zip(lemmas, lemmas[1:]))
    return terms


@dataclass
class LexicalModel:
    theme_ids: list[str]
    vocabulary: list[str]
    idf: np.ndarray  # (terms,)
    coef: np.ndarray  # (themes, terms)
    intercept: np.ndarray  # (themes,)

    def __post_init__(self):
        self._index = {term: j for j, term in enumerate(self.vocabulary)}

    def matrix(self, documents: list[list[str]]) -> np.ndarray:
        """Sublinear TF-IDF rows, each of unit length."""
        rows = np.zeros((len(documents), len(self.vocabulary)), dtype=np.float32)
        for i, terms in enumerate(documents):
            for term, count in Counter(t for t in terms if t in self._index).items():
                rows[i, self._index[term]] = (1.0 + np.log(count)) * self.idf[self._index[term]]
        norms = np.linalg.norm(rows, axis=1, keepdims=True)
        return rows / np.maximum(norms, 1e-12)

    def probabilities(self, documents: list[list[str]]) -> np.ndarray:
        """(passages, themes) probabilities that each passage shows each theme."""
        logits = self.matrix(documents) @ self.coef.T + self.intercept
        return 1.0 / (1.0 + np.exp(-logits))

    @staticmethod
    def vocabulary_of(documents: list[list[str]], groups: list[str]) -> tuple[list[str], np.ndarray]:
        """Terms found in passages of at least MIN_REPORTS groups, with their smoothed IDF."""
        reports: dict[str, set[str]] = {}
        frequency: Counter = Counter()
        for terms, group in zip(documents, groups):
            for term in set(terms):
                reports.setdefault(term, set()).add(group)
                frequency[term] += 1
        vocabulary = sorted(t for t, seen in reports.items() if len(seen) >= MIN_REPORTS)
        n = len(documents)
        idf = np.array([np.log((1 + n) / (1 + frequency[t])) + 1.0 for t in vocabulary], dtype=np.float32)
        return vocabulary, idf
