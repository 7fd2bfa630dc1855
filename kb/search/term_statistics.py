"""How common each word of a keyword query is in the store, to leave out words that rank nothing.

BM25 scores every passage that holds any word of an OR query, so a query carrying
"child" or "concerns" scores most of the store for words whose weight is near
zero; at 100,000 passages that was most of a query's time. Counts come from the
keyword index's own vocabulary and query words are cut into tokens by the index's
own tokenizer (stemming included), so the two always agree.
"""

from __future__ import annotations

import threading

from kb.store.catalogue import Catalogue
from kb.store.fts_tokenizer import FtsTokenizer

# Words in more than this share of passages are left out of a query that has rarer words:
# their BM25 weight is small, their cost is large. Tuned on tests/data/search_dev.jsonl.
COMMON_SHARE = 0.3


class TermStatistics:
    def __init__(self, catalogue: Catalogue):
        self.catalogue = catalogue
        self._generation = -1
        self._counts: dict[str, int] = {}
        self._indexed: list[str] = []
        self._passages = 0
        self._lock = threading.Lock()
        self.tokenizer = FtsTokenizer()

    def counts(self) -> dict[str, int]:
        """Passages holding each indexed token, reloaded when the store changes."""
        generation = self.catalogue.generation()
        if generation != self._generation:
            with self._lock:
                if generation != self._generation:
                    self._counts = self.catalogue.term_passage_counts()
                    self._indexed = [term for term, n in self._counts.items() if n >= 2]
                    self._passages = self.catalogue.passage_count()
                    self._generation = generation
        return self._counts

    def tokens(self, forms: list[str]) -> list[list[str]]:
        """Each form as the index's tokens."""
        return self.tokenizer.tokens(forms)

    def passages_with(self, forms: list[str]) -> list[int]:
        """At most how many passages hold each form (a phrase is no commoner than its rarest word)."""
        counts = self.counts()
        return [min((counts.get(t, 0) for t in tokens), default=0) for tokens in self.tokens(forms)]

    def selective(self, forms: list[str]) -> list[str]:
        """The forms worth searching for: those the store holds, without the very common ones
        when rarer ones remain."""
        held = [(form, n) for form, n in zip(forms, self.passages_with(forms)) if n > 0]
        limit = COMMON_SHARE * max(1, self._passages)
        rare = [form for form, n in held if n <= limit]
        return rare or [form for form, _ in held]

    def indexed_words(self) -> list[str]:
        """The index's words found in at least two passages: the candidates for a misspelt word."""
        self.counts()
        return self._indexed
