"""Whether a query matched anything meaningful, from its keyword and semantic evidence.

Random letters or a question from another field ("premier league results") still
get a hundred nearest passages by meaning and a few by a common word; answering
"no passages match" is more honest. The evidence is how many of the query's terms
the index holds at all, and how close in meaning the nearest passage is. The
thresholds were set on the development queries (none of which may be refused) and
on nonsense and out-of-domain queries written for tests/test_search_evidence.py.
"""

from __future__ import annotations

from dataclasses import dataclass

from kb.search.term_statistics import TermStatistics
from kb.search.vocabulary import Term

# Below this cosine the nearest passage is unrelated whatever the words say: nonsense and
# other fields' questions reached 0.27 on the sample corpus, real queries never went below 0.35.
SEMANTIC_FLOOR = 0.3
# Below this it is related only if the keyword side agrees (most terms are in the index).
SEMANTIC_WEAK = 0.36
KNOWN_SHARE = 0.6
# When the index holds every term, a single field word ("threshold", 0.28) is close to nothing
# as a whole passage is; only below this is such a query unrelated ("stock market..." 0.14).
SEMANTIC_FLOOR_ALL_KNOWN = 0.2


@dataclass(frozen=True)
class Evidence:
    terms: int  # the query's terms (stop words left out)
    known: int  # terms that some passage holds, in any of their forms
    keyword_hits: int
    top_similarity: float | None  # cosine of the nearest passage, when the query was embedded

    @classmethod
    def of(cls, terms: list[Term], statistics: TermStatistics, keyword: list, semantic: list) -> "Evidence":
        known = sum(1 for term in terms if any(statistics.passages_with(list(term.alternatives))))
        top = max((score for _, score in semantic), default=None)
        return cls(len(terms), known, len(keyword), top)

    @property
    def known_share(self) -> float:
        return self.known / self.terms if self.terms else 0.0


def weighs_nothing(evidence: Evidence, mode: str) -> bool:
    """True when neither side found anything a reader would call a match."""
    if mode == "keyword":
        return evidence.keyword_hits == 0
    similarity = evidence.top_similarity
    if similarity is None:
        return evidence.keyword_hits == 0
    if evidence.terms and evidence.known == evidence.terms and evidence.keyword_hits:
        return similarity < SEMANTIC_FLOOR_ALL_KNOWN
    if similarity < SEMANTIC_FLOOR:
        return True
    return similarity < SEMANTIC_WEAK and evidence.known_share < KNOWN_SHARE
