"""How common each word of a query is in the keyword index, and the words a misspelling may mean.

Counts come from the keyword index itself and query words are cut into tokens
by the index's own analyser (stemming included), so the two always agree. A
word the index has never seen is matched against the passages' surface words
(unstemmed, so a correction can be shown to the reader as a word).
"""

from __future__ import annotations

import difflib
import threading
from collections import defaultdict

from kb.store.catalogue import Catalogue
from kb.store.keyword_index import KeywordIndex

# Words in more than this share of passages are left out of a query that has rarer words:
# their BM25 weight is small, their cost is large. Tuned on tests/data/search_dev.jsonl.
COMMON_SHARE = 0.3
# How alike a misspelt word and an indexed word must be (difflib ratio) to search for the indexed one.
SPELLING_CUTOFF = 0.8
# A correction must be a word at least this many passages hold; among equally close words the
# commoner wins, so a one-off typo in a report loses to the word it misspells.
CORRECTION_MIN_PASSAGES = 1


class TermStatistics:
    def __init__(self, catalogue: Catalogue, keywords: KeywordIndex):
        self.catalogue = catalogue
        self.keywords = keywords
        self._key: tuple = ()
        self._words: dict[tuple[str, int], list[str]] = {}
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()

    def tokens(self, forms: list[str]) -> list[list[str]]:
        """Each form as the index's tokens."""
        return [self.keywords.analyse(form) for form in forms]

    def passages(self) -> int:
        return self.keywords.passage_count()

    def passages_with(self, forms: list[str]) -> list[int]:
        """At most how many passages hold each form (a phrase is no commoner than its rarest word)."""
        return [min((self.keywords.doc_freq(t) for t in tokens), default=0) for tokens in self.tokens(forms)]

    def selective(self, forms: list[str]) -> list[str]:
        """The forms worth searching for: those the store holds, without the very common ones
        when rarer ones remain."""
        held = [(form, n) for form, n in zip(forms, self.passages_with(forms)) if n > 0]
        limit = COMMON_SHARE * max(1, self.passages())
        rare = [form for form, n in held if n <= limit]
        return rare or [form for form, _ in held]

    def _surface(self) -> tuple[dict[tuple[str, int], list[str]], dict[str, int]]:
        """Surface words held by enough passages, bucketed by first letter and length; reloaded on change."""
        key = (self.catalogue.generation(), self.passages())
        if key != self._key:
            with self._lock:
                if key != self._key:
                    counts = {w: n for w, n in self.keywords.words().items() if n >= CORRECTION_MIN_PASSAGES and w.isalpha()}
                    buckets: dict[tuple[str, int], list[str]] = defaultdict(list)
                    for word in counts:
                        buckets[(word[0], len(word))].append(word)
                    self._words, self._counts, self._key = dict(buckets), counts, key
        return self._words, self._counts

    def correction(self, word: str) -> str | None:
        """The indexed word a word the index has never seen most likely meant, if one is close enough."""
        buckets, counts = self._surface()
        lower = word.lower()
        candidates = [w for size in range(len(lower) - 2, len(lower) + 3) for w in buckets.get((lower[0], size), ())]
        close = difflib.get_close_matches(lower, candidates, n=3, cutoff=SPELLING_CUTOFF)
        if not close:
            return None
        best = max(close, key=lambda w: (round(difflib.SequenceMatcher(None, lower, w).ratio(), 3), counts[w]))
        return best

    def is_word(self, word: str) -> bool:
        """Whether any passage holds this word as typed (unstemmed)."""
        tokens = self.keywords.surface_words(word)
        return bool(tokens) and all(self.keywords.doc_freq(t, "words") > 0 for t in tokens)
