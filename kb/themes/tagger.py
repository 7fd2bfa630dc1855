"""Tag passages with failure themes: a score in [0, 1], whether the passage shows the
theme or only names it, and the sentences that carry it.

Two signals, each doing what it does best: a linear classifier over sentence and
passage embeddings (trained on the taxonomy's own sentences), and lemma cues
from the taxonomy (indicators that show a failure, terms that name it) with
negation handled. A sentence written as a recommendation, or a passage in a
glossary or recommendations section without an indicator, names a theme rather
than showing it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np

from kb.models import Evidence, Sentence, ThemeMatch
from kb.nlp.embedding import Embedder
from kb.nlp.spacy_pipeline import analyse, pipeline
from kb.themes.calibration import Calibration
from kb.themes.classifier import ThemeClassifier
from kb.themes.lexicon import NEGATIONS, Cue, Lexicon, content_lemmas
from kb.themes.taxonomy import Taxonomy

SENTENCE_WEIGHT = 0.5
PASSAGE_WEIGHT = 0.5
INDICATOR_WEIGHT = 0.3
TERM_WEIGHT = 0.15
MAX_EVIDENCE = 3
# How much of its passage's direction a sentence vector keeps (see `embed`).
CONTEXT_SHARE = 0.3
NAMING_SECTIONS = {"recommendations", "glossary", "scope", "appendix"}
# Recommendation and aspiration language: the theme is named, not shown.
MODAL = re.compile(
    r"\b(?:should|must|ought to|needs? to|will (?:ensure|need|be)|ensure that|is recommended|recommend(?:s|ed|ations?)?)\b",
    re.I,
)


@dataclass
class SentenceScore:
    start: int
    end: int
    score: float
    indicator: bool
    term: bool
    modal: bool


@dataclass
class ThemeScore:
    theme_id: str
    score: float
    sentences: list[SentenceScore] = field(default_factory=list)
    naming_only: bool = False


class ThemeTagger:
    def __init__(self, taxonomy: Taxonomy, embedder: Embedder, calibration: Calibration, cache_dir: Path | None = None):
        self.taxonomy = taxonomy
        self.embedder = embedder
        self.calibration = calibration
        self.cache_dir = cache_dir

    @property
    def version(self) -> str:
        return self.taxonomy.version

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
    ) -> list[dict[str, ThemeScore]]:
        """Score every theme for each passage, from its sentences and their vectors."""
        passage_probs = self.classifier.probabilities(np.asarray(passage_vectors))
        results = []
        for i, text in enumerate(texts):
            sents = sentences[i]
            if not sents:
                results.append({})
                continue
            probs = self.classifier.probabilities(np.asarray(sentence_vectors[i]))
            kind = section_kinds[i] if section_kinds else None
            results.append(self._score_passage(text, sents, probs, passage_probs[i], kind))
        return results

    def _score_passage(self, text, sents, probs, passage_probs, section_kind) -> dict[str, ThemeScore]:
        cues = [self._lexicon.themes_in(list(s.lemmas)) for s in sents]
        modal = [bool(MODAL.search(text[s.start : s.end])) for s in sents]
        scores: dict[str, ThemeScore] = {}
        for t, theme_id in enumerate(self.classifier.theme_ids):
            per_sentence = []
            for j, s in enumerate(sents):
                indicator = theme_id in cues[j]["indicator"]
                term = theme_id in cues[j]["term"]
                value = SENTENCE_WEIGHT * probs[j, t] + INDICATOR_WEIGHT * indicator + TERM_WEIGHT * term
                per_sentence.append(SentenceScore(s.start, s.end, float(value), indicator, term, modal[j]))
            ranked = sorted(per_sentence, key=lambda s: -s.score)
            total = min(1.0, ranked[0].score + PASSAGE_WEIGHT * float(passage_probs[t]))
            top = ranked[0]
            naming = top.modal or (section_kind in NAMING_SECTIONS and not top.indicator)
            scores[theme_id] = ThemeScore(theme_id, round(total, 4), ranked, naming)
        return scores

    # --- tagging -------------------------------------------------------------

    def tag(self, texts, sentences, sentence_vectors, passage_vectors, section_kinds=None) -> list[list[ThemeMatch]]:
        scored = self.score(texts, sentences, sentence_vectors, passage_vectors, section_kinds)
        return [self.matches(text, scores) for text, scores in zip(texts, scored)]

    def tag_texts(self, texts: list[str], section_kinds=None) -> tuple[list[list[ThemeMatch]], list]:
        """Tag raw texts (running spaCy and the embedder); also return the spaCy Docs."""
        docs = list(analyse(texts))
        sentences = [self.sentences_of(doc) for doc in docs]
        vectors, sentence_vectors = self.embed(texts, sentences)
        return self.tag(texts, sentences, sentence_vectors, vectors, section_kinds), docs

    def embed(self, texts: list[str], sentences: list[list[Sentence]]) -> tuple[np.ndarray, list[np.ndarray]]:
        """Embed each passage once: its vector, and a vector per sentence read from the same pass.

        A sentence's tokens, pooled in their passage, share much of the passage's
        direction; taking part of the passage vector back out leaves what the
        sentence itself says, which is what the classifier learnt from isolated
        sentences (keeping CONTEXT_SHARE of it scored best on the development set).
        """
        vectors, in_context = self.embedder.encode_with_spans(texts, [[(s.start, s.end) for s in sents] for sents in sentences])
        own = []
        for vector, spans in zip(vectors, in_context):
            rest = spans - (1 - CONTEXT_SHARE) * vector
            own.append((rest / np.maximum(np.linalg.norm(rest, axis=1, keepdims=True), 1e-12)).astype(np.float32))
        return vectors, own

    def matches(self, text: str, scores: dict[str, ThemeScore]) -> list[ThemeMatch]:
        found = []
        for theme_id, score in scores.items():
            threshold = self.calibration.threshold(theme_id)
            shown = score.score >= threshold and not score.naming_only
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
