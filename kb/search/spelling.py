"""Words the index has never seen, searched as the indexed word they most likely mean, and said so.

"sherrif" is searched as "sheriff" and "Connolly" as "Connelly"; a word English
knows ("charity": the embedding model's tokenizer holds it whole) is left alone
even where no report holds it. The result names
each change (`SearchResult.corrections`, `searched_as`), so a reader sees what was
searched and can ask for the words as typed (`exact`). A word is only corrected
when no way of writing it (its vocabulary group: "HV", "health visitor") is in the
index, so abbreviations and aliases are never "corrected".
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass

from kb.search.term_statistics import TermStatistics
from kb.search.vocabulary import Term, Vocabulary

# Shorter words have too many close neighbours ("cot" / "cat") for a guess to be safe.
SHORTEST = 4
# How alike (difflib ratio) a typed word and the indexed word it is searched as must be; a case's
# name may be a little further off ("Pelke" for Pelka), as names are misspelt more freely.
CUTOFF = 0.85
CASE_CUTOFF = 0.8


@dataclass(frozen=True)
class Correction:
    typed: str
    searched: str


def correct(terms: list[Term], statistics: TermStatistics, vocabulary: Vocabulary,
            is_known_word: Callable[[str], bool]) -> list[Correction]:
    """A correction for each typed word that no passage holds in any of its forms, where one is close.

    `is_known_word` says whether English has the word: the embedding model's tokenizer
    holding it whole ("charity", "relocated"), where typos ("disese", "sherrif") and
    rare words ("snark") come apart in pieces.
    """
    found = []
    for term in terms:
        word = term.text
        if term.phrase or " " in word or len(word) < SHORTEST or not word.isalpha():
            continue
        if statistics.is_word(word):
            continue
        held = [a for a in term.alternatives if all(statistics.is_word(w) for w in a.split())]
        if held:
            # A spelling the vocabulary knows ("Connolly" for Connelly) is searched in both forms
            # already; say so when the reports hold only the other one.
            close = [a for a in held if " " not in a
                     and difflib.SequenceMatcher(None, word.lower(), a.lower()).ratio() >= CASE_CUTOFF]
            if close:
                found.append(Correction(word, _cased(close[0], word)))
            continue
        if statistics.passages_with([word])[0]:  # held in another form of the same stem ("visitors")
            continue
        best = statistics.correction(word)
        if not best:
            continue
        case = best in vocabulary.cases
        if difflib.SequenceMatcher(None, word.lower(), best).ratio() < (CASE_CUTOFF if case else CUTOFF):
            continue
        # A word English knows is only taken for a misspelling of a case's name ("Connolly"):
        # "charity" is not "clarity" because the store happens not to hold it.
        if case or not is_known_word(word):
            found.append(Correction(word, _cased(best, word)))
    return found


def _cased(word: str, like: str) -> str:
    """`word` capitalised as the typed word was ("connelly" for "Connolly" is shown "Connelly")."""
    return word[:1].upper() + word[1:] if like[:1].isupper() else word


def rewrite(query: str, corrections: list[Correction]) -> str:
    """The query with each corrected word replaced, as it is searched."""
    for correction in corrections:
        query = re.sub(rf"(?<!\w){re.escape(correction.typed)}(?!\w)", correction.searched, query)
    return query
