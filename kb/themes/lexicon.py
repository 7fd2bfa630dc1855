"""Lemma matching of a theme's terms and indicators in a sentence, with negation handled.

Indicators are matched loosely: their content lemmas must appear in order in
one sentence with at most a few tokens between them, because reviews say the
same thing in many word orders ("the significance of the bruise was not
recognised" for "significance was not recognised").
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

NEGATIONS = frozenset({"not", "no", "never", "without", "n't", "nor", "neither", "nobody", "none", "nothing"})
# Phrases that deny what follows them: "there is no evidence that ... was missed".
DENIALS = (("no", "evidence"), ("no", "indication"), ("not", "the", "case"), ("no", "suggestion"))
MAX_GAP = 4
NEGATION_WINDOW = 3


@dataclass(frozen=True)
class Cue:
    theme_id: str
    lemmas: tuple[str, ...]
    kind: str  # "indicator" (shows) or "term" (names)
    negated_form: bool  # the cue itself says something was not done


@dataclass(frozen=True)
class CueMatch:
    cue: Cue
    start: int  # token index in the sentence
    end: int


class Lexicon:
    """Every theme's cues, indexed by their first lemma for a fast scan of each sentence."""

    def __init__(self, cues: list[Cue]):
        self.by_first: dict[str, list[Cue]] = defaultdict(list)
        for cue in cues:
            if cue.lemmas:
                self.by_first[cue.lemmas[0]].append(cue)
        self.term_phrases = {(cue.theme_id, cue.lemmas) for cue in cues if cue.kind == "term"}

    def themes_in(self, lemmas: list[str]) -> dict[str, set[str]]:
        """The themes whose indicators, and whose terms, a sentence's lemmas contain; "showing" holds
        those with an indicator that is not also one of the theme's terms. A phrase listed as both
        ("mother's partner", "was not brought") names the theme as often as it shows it."""
        found: dict[str, set[str]] = {"indicator": set(), "term": set(), "showing": set()}
        for match in self.matches(lemmas):
            cue = match.cue
            found[cue.kind].add(cue.theme_id)
            if cue.kind == "indicator" and (cue.theme_id, cue.lemmas) not in self.term_phrases:
                found["showing"].add(cue.theme_id)
        return found

    def matches(self, lemmas: list[str]) -> list[CueMatch]:
        found = []
        for i, lemma in enumerate(lemmas):
            for cue in self.by_first.get(lemma, ()):
                end = _match_from(lemmas, i, cue)
                if end is not None and not _negated(lemmas, i, cue):
                    found.append(CueMatch(cue, i, end))
        return found


def content_lemmas(tokens) -> tuple[str, ...]:
    """The lemmas that carry a phrase's meaning: stop words dropped, negations kept."""
    kept = []
    for tok in tokens:
        lemma = tok.lemma_.lower()
        if tok.is_punct or tok.is_space:
            continue
        if lemma in NEGATIONS or tok.lower_ in NEGATIONS or not tok.is_stop:
            kept.append("not" if tok.lower_ == "n't" else lemma)
    return tuple(kept)


def _match_from(lemmas: list[str], start: int, cue: Cue) -> int | None:
    if cue.kind == "term":  # a term is named as written: contiguous
        end = start + len(cue.lemmas)
        return end if tuple(lemmas[start:end]) == cue.lemmas else None
    pos = start
    for lemma in cue.lemmas[1:]:
        window = lemmas[pos + 1 : pos + 2 + MAX_GAP]
        if lemma not in window:
            return None
        pos = pos + 1 + window.index(lemma)
    return pos + 1


def _negated(lemmas: list[str], start: int, cue: Cue) -> bool:
    before = lemmas[max(0, start - NEGATION_WINDOW) : start]
    if not cue.negated_form and any(lemma in NEGATIONS for lemma in before):
        return True
    head = lemmas[:start]
    return any(_contains(head, denial) for denial in DENIALS)


def _contains(seq: list[str], phrase: tuple[str, ...]) -> bool:
    n = len(phrase)
    return any(tuple(seq[i : i + n]) == phrase for i in range(len(seq) - n + 1))
