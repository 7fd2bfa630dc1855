"""What the tagger measures of each passage against each theme: one row of numbers per (passage, theme).

Every feature is relative to the theme (how close the passage's sentences come to
the theme's own examples, whether its cues fire, how the theme ranks among the
others) or describes the passage's genre (how much of it reads like a review
describing itself, a recommendation, a chronology). None names a theme, so one
model weighs them for every theme, a team's own themes included.
"""

from __future__ import annotations

import re

import numpy as np

from kb.models import Sentence
from kb.themes.classifier import ThemeClassifier
from kb.themes.lexicon import Lexicon

# Review-genre wording that describes the review itself rather than the case.
SELF_REFERENCE = re.compile(
    r"\b(?:this|the) (?:serious case |child practice |safeguarding practice )?"
    r"(?:review|panel|report|author|reviewer|inquiry|investigation|briefing|audit)\b"
    r"|terms of reference|methodolog|commissioned|individual management reviews?|\bIMRs?\b"
    r"|\bwe (?:reviewed|interviewed|heard|considered)\b",
    re.I,
)
# Recommendation and aspiration language: a theme is named, not shown.
MODAL = re.compile(r"\b(?:should|must|ought to|needs? to|recommend|will ensure)", re.I)
# Someone who cares for a child, or the home they share: a theme about a carer's condition needs one.
CARER = re.compile(
    r"\b(?:mothers?|fathers?|parents?|parental|carers?|mums?|dads?|step-?(?:father|mother|parent)s?|partners?"
    r"|grand(?:mother|father|parent)s?|husband|wife|boyfriend|girlfriend|couple|adults?|household|famil(?:y|ies)"
    r"|(?:the|at|family) home|Mr|Mrs|Ms)\b", re.I,
)
DATE = re.compile(
    r"\b(?:19|20)\d\d\b|\b(?:January|February|March|April|May|June|July|August|September|October|November|December)\b"
)
GENRE_KINDS = ("review_process", "context", "case_summary", "recommendation", "good_practice")
FEATURES = (
    "sentence_max", "sentence_top2", "passage_prob", "passage_rank", "example_max", "example_top2",
    "example_mean_z", "lookalike_max", "indicators", "terms", "any_indicator", "family", "family_terms",
    "family_sentence_max", "carer_unnamed", "finding_share", *(f"genre_{kind}" for kind in GENRE_KINDS),
    "self_reference", "modal", "dates", "sentences",
)


def theme_features(
    classifier: ThemeClassifier,
    lexicon: Lexicon,
    family: np.ndarray,
    carer: np.ndarray,
    reference: np.ndarray,
    texts: list[str],
    sentences: list[list[Sentence]],
    sentence_vectors: list[np.ndarray],
    passage_vectors: np.ndarray,
) -> np.ndarray:
    """(passages, themes, len(FEATURES)) for a batch of passages.

    `family` marks the family-context themes, `carer` those about a parent's or carer's condition,
    `reference` the themes a theme is ranked against (the built-in ones, so adding a team's own
    theme changes nothing for the others).
    """
    n_themes = len(classifier.theme_ids)
    found = np.zeros((len(texts), n_themes, len(FEATURES)), dtype=np.float32)
    passage_probs = classifier.probabilities(np.asarray(passage_vectors))
    every_example = np.concatenate([e for e, ref in zip(classifier.examples, reference) if ref])
    genre = [classifier.discourse[kind] for kind in GENRE_KINDS]
    for i, text in enumerate(texts):
        vectors = np.asarray(sentence_vectors[i]) if len(sentence_vectors[i]) else passage_vectors[i][None, :]
        spans = [text[s.start : s.end] for s in sentences[i]] or [text]
        probs = classifier.probabilities(vectors)
        cues = [lexicon.themes_in(list(s.lemmas)) for s in sentences[i]]
        indicators = np.array([sum(t in c["indicator"] for c in cues) for t in classifier.theme_ids], dtype=np.float32)
        terms = np.array([sum(t in c["term"] for c in cues) for t in classifier.theme_ids], dtype=np.float32)
        closest = np.stack([(vectors @ e.T).max(axis=1) for e in classifier.examples], axis=1)
        mean_sim = np.array([(passage_vectors[i] @ e.T).mean() for e in classifier.examples])
        mean_z = (mean_sim - mean_sim[reference].mean()) / (mean_sim[reference].std() + 1e-9)
        lookalike = np.array([(vectors @ v.T).max() if len(v) else 0.0 for v in classifier.negatives])
        genre_sim = np.stack([(vectors @ g.T).max(axis=1) for g in genre], axis=1)
        # Sentences that come closer to some theme's example than to any review-genre sentence.
        finding_share = float(np.mean((vectors @ every_example.T).max(axis=1) > genre_sim.max(axis=1)))
        passage = [
            finding_share, *genre_sim.mean(axis=0),
            np.mean([bool(SELF_REFERENCE.search(s)) for s in spans]),
            np.mean([bool(MODAL.search(s)) for s in spans]),
            min(1.0, len(DATE.findall(text)) / 5), min(len(spans), 20) / 10,
        ]
        above = passage_probs[i][None, :] > passage_probs[i][:, None]  # [t, r]: theme r ranks above theme t
        rank = 1 + (above & reference[None, :]).sum(axis=1)
        # For each theme, whether its best sentence names no one who cares for the child.
        unnamed = np.array([not CARER.search(spans[j]) for j in probs.argmax(axis=0)], dtype=np.float32)
        found[i, :, 0] = probs.max(axis=0)
        found[i, :, 1] = _top2(probs)
        found[i, :, 2] = passage_probs[i]
        found[i, :, 3] = 1.0 / rank
        found[i, :, 4] = closest.max(axis=0)
        found[i, :, 5] = _top2(closest)
        found[i, :, 6] = mean_z
        found[i, :, 7] = lookalike
        found[i, :, 8] = np.minimum(indicators, 3)
        found[i, :, 9] = np.minimum(terms, 3)
        found[i, :, 10] = indicators > 0
        found[i, :, 11] = family
        found[i, :, 12] = family * np.minimum(terms, 3)
        found[i, :, 13] = family * probs.max(axis=0)
        found[i, :, 14] = carer * unnamed
        found[i, :, 15:] = passage
    return found


def without_carer(probs: np.ndarray, carer: np.ndarray, texts: list[str]) -> np.ndarray:
    """Probabilities with each carer theme set to 0 in a passage that names no one who cares for a child.
    A learnt weight is not enough here: a pupil's own cannabis use, with no parent in sight, must never
    count as a parent's substance misuse, whatever the training set's balance."""
    unnamed = np.array([not CARER.search(text) for text in texts], dtype=bool)
    return np.where(unnamed[:, None] & carer.astype(bool)[None, :], 0.0, probs).astype(np.float32)


def _top2(values: np.ndarray) -> np.ndarray:
    """Mean of each column's two highest values (its highest, for one row)."""
    ordered = np.sort(values, axis=0)
    return ordered[-2:].mean(axis=0)
