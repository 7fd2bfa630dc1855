"""Tag passages with failure themes: a score in [0, 1], whether the passage shows the
theme or only names it, and the sentences that carry it.

The tagger measures each passage against each theme (kb/themes/features.py: how
close its sentences come to the theme's own examples, whether the theme's cues
fire, how much of it reads like a review describing itself), and a model learnt
from labelled real review text (kb/themes/model.py) turns those measurements and
the passage's words into a probability. A passage the model's finding gate judges
to show no failure at all (a method section, terms of reference, the law, a bare
account of events) gets no theme. A passage that only names a theme (a heading, a
glossary, a recommendation) is tagged "names".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np

from kb.models import Evidence, Sentence, ThemeMatch
from kb.nlp.embedding import Embedder
from kb.nlp.spacy_pipeline import analyse, pipeline
from kb.themes.calibration import Calibration
from kb.themes.classifier import ThemeClassifier
from kb.themes.features import theme_features, without_carer
from kb.themes.lexical import document
from kb.themes.lexicon import NEGATIONS, Cue, Lexicon, content_lemmas
from kb.themes.model import ThemeModel, gate_inputs
from kb.themes.subject import without_child_themes
from kb.themes.taxonomy import Taxonomy

INDICATOR_WEIGHT = 0.3
TERM_WEIGHT = 0.15
MAX_EVIDENCE = 3
# How much of its passage's direction a sentence vector keeps (see `embed`).
CONTEXT_SHARE = 0.3
# Wordpieces per window when a text is longer than the model reads (256): its sentences
# are embedded in windows of whole sentences, as ingest's passages already are.
WINDOW_TOKENS = 240
NAMING_SECTIONS = {"recommendations", "glossary", "scope", "appendix"}


@dataclass
class SentenceScore:
    start: int
    end: int
    score: float
    indicator: bool
    term: bool


@dataclass
class ThemeScore:
    theme_id: str
    score: float
    sentences: list[SentenceScore] = field(default_factory=list)
    naming_only: bool = False
    gate: float = 1.0  # how likely the passage is to show any theme (the same for every theme of a passage)


class ThemeTagger:
    def __init__(self, taxonomy: Taxonomy, embedder: Embedder, calibration: Calibration, cache_dir: Path | None = None,
                 model: ThemeModel | None = None):
        self.taxonomy = taxonomy
        self.embedder = embedder
        self.calibration = calibration
        self.cache_dir = cache_dir
        self.model = model
        self.family = np.array([t.group == "family" for t in taxonomy.themes], dtype=np.float32)
        self.carer = np.array([t.about == "carer" for t in taxonomy.themes], dtype=np.float32)
        self.child_only = np.array([t.child_only for t in taxonomy.themes], dtype=bool)
        builtin = np.array([t.source == "built-in" for t in taxonomy.themes])
        self.reference = builtin if builtin.any() else np.ones(len(taxonomy.themes), dtype=bool)

    @property
    def version(self) -> str:
        return self.taxonomy.version

    @property
    def model_sha256(self) -> str:
        """The trained model's file hash, stored with each tag it makes ("" without a model)."""
        return self.model.sha256 if self.model else ""

    @cached_property
    def classifier(self) -> ThemeClassifier:
        return ThemeClassifier.cached(self.taxonomy, self.embedder, self.cache_dir)

    @cached_property
    def _lexicon(self) -> Lexicon:
        nlp = pipeline()
        cues = []
        with nlp.select_pipes(enable=["tok2vec", "tagger", "attribute_ruler", "lemmatizer"]):
            for theme in self.taxonomy.themes:
                phrases = [(p, "indicator") for p in theme.indicators] + [(p, "term") for p in theme.terms]
                for (phrase, kind), doc in zip(phrases, nlp.pipe(p for p, _ in phrases)):
                    lemmas = content_lemmas(doc)
                    if kind == "indicator" and len(lemmas) < 2:
                        continue  # one word left ("work", "stab") fires on ordinary prose
                    cues.append(Cue(theme.id, lemmas, kind, any(lemma in NEGATIONS for lemma in lemmas)))
        return Lexicon(cues)

    @staticmethod
    def sentences_of(doc) -> list[Sentence]:
        """The sentences of a spaCy Doc, with the content lemmas the cues match on."""
        return [Sentence(s.start_char, s.end_char, content_lemmas(s)) for s in doc.sents if s.text.strip()]

    # --- scoring -------------------------------------------------------------

    def score(
        self,
        texts: list[str],
        sentences: list[list[Sentence]],
        sentence_vectors: list[np.ndarray],
        passage_vectors: np.ndarray,
        section_kinds: list[str | None] | None = None,
        tokens: list[np.ndarray] | None = None,
        child_present: list[bool] | None = None,
    ) -> list[dict[str, ThemeScore]]:
        """Score every theme for each passage, from its sentences and their vectors, and its token
        embeddings where the model reads them (passed on from `embed`, or embedded again here: a
        store keeps passage and sentence vectors, not tokens). `child_present` says, per passage of
        a document, whether a child is in its scene (kb/themes/subject.py); None, for passages on
        their own, takes every passage as a child's."""
        passage_vectors = np.asarray(passage_vectors)
        if tokens is None and self.model is not None and self.model.attention is not None:
            tokens = self.embed(texts, sentences)[2]
        features = theme_features(self.classifier, self._lexicon, self.family, self.carer, self.reference, texts, sentences, sentence_vectors,
                                  passage_vectors)
        probs, gates = self.probabilities(texts, features, sentences, sentence_vectors, passage_vectors, tokens, child_present)
        results = []
        for i, text in enumerate(texts):
            if not sentences[i]:
                results.append({})
                continue
            kind = section_kinds[i] if section_kinds else None
            sentence_probs = self.classifier.probabilities(np.asarray(sentence_vectors[i]))
            results.append(self._score_passage(text, sentences[i], sentence_probs, probs[i], float(gates[i]), kind))
        return results

    def probabilities(self, texts, features, sentences, sentence_vectors, passage_vectors, tokens=None,
                      child_present=None) -> tuple[np.ndarray, np.ndarray]:
        """Each passage's probability per theme (under the carer and child rules) and its finding gate;
        without a trained model, the features' own best guess (the classifier's, raised by cues) and an
        open gate. The rules apply before the gate reads the probabilities, as in training."""
        if self.model is None:
            guess = np.clip(0.5 * features[:, :, 0] + 0.5 * features[:, :, 2] + INDICATOR_WEIGHT * features[:, :, 10], 0, 1)
            return self._rules(guess, texts, child_present), np.ones(len(features), dtype=np.float32)
        documents = [document(s) for s in sentences]
        probs = self._rules(self.model.probabilities(features, self.taxonomy.ids, documents, tokens), texts, child_present)
        return probs, self.model.gate(gate_inputs(passage_vectors, sentence_vectors), probs, self.taxonomy.ids)

    def _rules(self, probs: np.ndarray, texts, child_present) -> np.ndarray:
        return without_child_themes(without_carer(probs, self.carer, texts), self.child_only, child_present)

    def _score_passage(self, text, sents, sentence_probs, probs, gate, section_kind) -> dict[str, ThemeScore]:
        cues = [self._lexicon.themes_in(list(s.lemmas)) for s in sents]
        scores: dict[str, ThemeScore] = {}
        for t, theme_id in enumerate(self.taxonomy.ids):
            per_sentence = []
            for j, s in enumerate(sents):
                indicator = theme_id in cues[j]["showing"]
                term = theme_id in cues[j]["term"]
                value = sentence_probs[j, t] + INDICATOR_WEIGHT * indicator + TERM_WEIGHT * term
                per_sentence.append(SentenceScore(s.start, s.end, float(value), indicator, term))
            ranked = sorted(per_sentence, key=lambda s: -s.score)
            top = ranked[0]
            # A glossary, the scope or the recommendations name a theme unless a sentence shows it (an
            # indicator that is not also a term: "the mother's partner" in a note on names shows nothing);
            # advice elsewhere ("agencies should share...") is left to the finding gate, which learnt that
            # recommendations show nothing.
            naming = section_kind in NAMING_SECTIONS and not top.indicator
            scores[theme_id] = ThemeScore(theme_id, round(float(probs[t]), 4), ranked, naming, round(gate, 4))
        return scores

    # --- tagging -------------------------------------------------------------

    def tag(self, texts, sentences, sentence_vectors, passage_vectors, section_kinds=None, tokens=None,
            child_present=None) -> list[list[ThemeMatch]]:
        scored = self.score(texts, sentences, sentence_vectors, passage_vectors, section_kinds, tokens, child_present)
        return [self.matches(text, scores) for text, scores in zip(texts, scored)]

    def tag_texts(self, texts: list[str], section_kinds=None, child_present=None) -> tuple[list[list[ThemeMatch]], list]:
        """Tag raw texts (running spaCy and the embedder); also return the spaCy Docs."""
        docs = list(analyse(texts))
        sentences = [self.sentences_of(doc) for doc in docs]
        vectors, sentence_vectors, tokens = self.embed(texts, sentences)
        return self.tag(texts, sentences, sentence_vectors, vectors, section_kinds, tokens, child_present), docs

    def embed(self, texts: list[str], sentences: list[list[Sentence]]) -> tuple[np.ndarray, list[np.ndarray], list[np.ndarray]]:
        """Embed each passage once: its vector, a vector per sentence and its token embeddings, all from one pass.

        A sentence's tokens, pooled in their passage, share much of the passage's
        direction; taking part of the passage vector back out leaves what the
        sentence itself says, which is what the classifier learnt from isolated
        sentences (keeping CONTEXT_SHARE of it scored best on the development set).
        A text longer than the model reads is embedded in windows of whole sentences
        (ingest's passages always fit in one); its token embeddings are then its windows' in turn.
        """
        windows = [self._windows(text, sents) for text, sents in zip(texts, sentences)]
        pieces = [(text[a:b], [(s.start - a, s.end - a) for s in sents[i:j]])
                  for text, sents, spans in zip(texts, sentences, windows) for a, b, i, j in spans]
        piece_vectors, piece_spans, piece_tokens = self.embedder.encode_with_tokens([p for p, _ in pieces], [s for _, s in pieces])
        vectors, own, tokens, k = [], [], [], 0
        for spans in windows:
            weights = np.array([b - a for a, b, _, _ in spans], dtype=np.float32)
            vector = (piece_vectors[k : k + len(spans)] * weights[:, None]).sum(axis=0)
            vector /= max(float(np.linalg.norm(vector)), 1e-12)
            rests = [piece_spans[k + w] - (1 - CONTEXT_SHARE) * piece_vectors[k + w] for w in range(len(spans))]
            rest = np.concatenate(rests) if rests else np.zeros((0, len(vector)), dtype=np.float32)
            own.append((rest / np.maximum(np.linalg.norm(rest, axis=1, keepdims=True), 1e-12)).astype(np.float32))
            vectors.append(vector)
            tokens.append(np.concatenate(piece_tokens[k : k + len(spans)]))
            k += len(spans)
        return np.stack(vectors).astype(np.float32) if vectors else np.zeros((0, 0), np.float32), own, tokens

    def _windows(self, text: str, sents: list[Sentence]) -> list[tuple[int, int, int, int]]:
        """(start, end, first sentence, end sentence) of each window of whole sentences, one for a short text."""
        if len(sents) <= 1 or self.embedder.count_tokens(text) <= WINDOW_TOKENS:
            return [(0, len(text), 0, len(sents))]
        windows, first, tokens = [], 0, 0
        for j, s in enumerate(sents):
            size = self.embedder.count_tokens(text[s.start : s.end])
            if j > first and tokens + size > WINDOW_TOKENS:
                windows.append((sents[first].start, sents[j - 1].end, first, j))
                first, tokens = j, 0
            tokens += size
        windows.append((sents[first].start, len(text), first, len(sents)))
        windows[0] = (0, *windows[0][1:])
        return windows

    def matches(self, text: str, scores: dict[str, ThemeScore]) -> list[ThemeMatch]:
        found = []
        for theme_id, score in scores.items():
            threshold = self.calibration.threshold(theme_id)
            shown = score.score >= threshold and score.gate >= self.calibration.gate and not score.naming_only
            if shown:
                kind = "shows"
                evidence = [s for s in score.sentences[:MAX_EVIDENCE] if s.score >= score.sentences[0].score * 0.8]
            elif any(s.term for s in score.sentences) or score.score >= threshold:
                kind = "names"
                evidence = [s for s in score.sentences if s.term][:MAX_EVIDENCE] or score.sentences[:1]
            else:
                continue
            found.append(
                ThemeMatch(
                    theme_id, score.score, kind,
                    [Evidence(text[s.start : s.end], s.start, s.end) for s in sorted(evidence, key=lambda s: s.start)],
                )
            )
        return sorted(found, key=lambda m: (m.kind != "shows", -m.score))
