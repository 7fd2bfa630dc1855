"""More like this: the passages closest to one, from other cases, about the same failure first."""

from __future__ import annotations

from kb.search.matrix import VectorMatrix
from kb.store.catalogue import Catalogue

# The closest passages of other cases are re-ranked: one that shows a failure the seed shows gains
# this much per shared theme (two at most), and an introduction, scope or method section, which
# every report has and which resembles every other, loses this much.
SIMILAR_POOL = 200
SHARED_THEME_BONUS = 0.08
GENERIC_SECTION_PENALTY = 0.1
GENERIC_SECTIONS = frozenset({"scope", "glossary", "appendix"})


def rank_similar(matrix: VectorMatrix, catalogue: Catalogue, passage_id: str, k: int):
    """The k passages to show, (id, score) best first, and the pool (id, similarity) they came from."""
    row = matrix.row[passage_id]
    doc, case = matrix.doc_ids[row], matrix.cases[row]
    ranked = matrix.score(matrix.vectors[row], None, len(matrix.ids))
    others = [
        (pid, sim) for pid, sim in ranked
        if matrix.doc_ids[matrix.row[pid]] != doc and (case is None or matrix.cases[matrix.row[pid]] != case)
    ][:SIMILAR_POOL]
    passages = catalogue.passages_by_id([passage_id, *(pid for pid, _ in others)])
    seed = passages.get(passage_id)
    shown = {m.theme_id for m in seed.themes if m.kind == "shows"} if seed else set()

    def score(pid: str, sim: float) -> float:
        found = passages.get(pid)
        if found is None:
            return sim
        shared = len(shown & {m.theme_id for m in found.themes if m.kind == "shows"})
        generic = found.section_kind in GENERIC_SECTIONS
        return sim + SHARED_THEME_BONUS * min(shared, 2) - GENERIC_SECTION_PENALTY * generic

    rescored = sorted(((pid, score(pid, sim)) for pid, sim in others), key=lambda x: (-x[1], x[0]))
    # One passage from each case first, so the list reaches across cases; then the next best.
    first, rest, seen = [], [], set()
    for pid, value in rescored:
        key = matrix.cases[matrix.row[pid]] or matrix.doc_ids[matrix.row[pid]]
        (rest if key in seen else first).append((pid, value))
        seen.add(key)
    return (first + rest)[:k], others
