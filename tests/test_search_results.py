"""What a search result tells its reader beyond the hits, and the two rankings readers follow from a passage
or a theme ("more like this", "search within this theme"), on the sample corpus."""

import pytest

from kb.search.filters import SearchFilters

SILOS = "5.2 Agencies worked in silos"
GENERIC = {"scope", "glossary", "appendix"}


def passage_containing(kb, text: str):
    for document in kb.documents():
        for p in kb.passages(document.doc_id):
            if text in p.text:
                return p, document
    raise AssertionError(f"no passage holds {text!r}")


def test_exact_searches_the_words_as_typed(sample_kb):
    corrected = sample_kb.search("neglct", mode="keyword")
    assert corrected.hits, "a misspelt word is searched as the indexed word nearest to it"
    assert not sample_kb.search("neglct", mode="keyword", exact=True).hits


def test_a_count_that_stopped_at_the_candidate_cap_says_it_is_an_estimate(sample_kb):
    assert sample_kb.search("the child was not seen", mode="semantic").total_is_estimate
    rare = sample_kb.search("Bradford", mode="keyword")
    assert 0 < rare.total < 100 and not rare.total_is_estimate


@pytest.mark.parametrize("field, facet, value", [("cases", "case", "Logan Mwangi"),
                                                 ("review_types", "review_type", "inquiry")])
def test_a_ticked_facet_still_offers_its_other_values(sample_kb, field, facet, value):
    narrowed = sample_kb.search("agencies did not share information", facets=True,
                                filters=SearchFilters(**{field: (value,)}))
    everything = sample_kb.search("agencies did not share information", facets=True)
    assert narrowed.hits and all(getattr(h, "case" if facet == "case" else facet) == value for h in narrowed.hits)
    offered = narrowed.facets[facet]
    assert value in offered and len(offered) > 2, "other values stay on offer, to widen the search"
    others = {v: n for v, n in everything.facets[facet].items() if v != value}
    assert {v: n for v, n in offered.items() if v != value} == others, "counted as if the box were unticked"
    in_narrowed = sample_kb.search("agencies did not share information", k=1,
                                   filters=SearchFilters(**{field: (value,)}))
    assert offered[value] >= in_narrowed.total, "the ticked value keeps this search's own count"


def test_more_like_this_favours_the_same_failure_in_other_cases(sample_kb):
    seed, document = passage_containing(sample_kb, SILOS)
    shown = {m.theme_id for m in seed.themes if m.kind == "shows"}
    assert "information_sharing" in shown
    hits = sample_kb.similar(seed.passage_id, k=10)
    assert len(hits) == 10 and all(h.case != document.meta.case for h in hits)
    assert all(shown & {m.theme_id for m in h.themes} for h in hits[:5]), "the first five show the same failure"
    assert not [h for h in hits if h.section_kind in GENERIC], "no introductions or method sections"
    assert len({h.case for h in hits}) == 10, "one passage from each case before a second from any"
    # The seed is a finding about information sharing: that failure, in other cases, is what the reader wants.
    sharing = [h for h in hits if "information_sharing" in {m.theme_id for m in h.themes if m.kind == "shows"}]
    assert len(sharing) >= 8, [h.case for h in hits]


def test_search_within_a_theme_puts_plain_instances_first(sample_kb):
    theme = sample_kb.tagger.taxonomy.get("missed_warning_signs")
    hits = sample_kb.search(theme.label, filters=SearchFilters(themes=(theme.id,))).hits
    top = hits[:3]
    assert not {h.case for h in top} & {"Munro review", "Cleveland"}
    strength = [next(m.score for m in h.themes if m.theme_id == theme.id) for h in hits]
    assert sum(strength[:3]) / 3 > sum(strength) / len(strength), "the strongest evidence comes first"
