"""Fewer wrong answers: no match for nonsense, corrections said out loud, true counts."""

import json

import pytest
from conftest import REPO, run_cli

from kb.search.evaluate import read_queries
from kb.search.filters import SearchFilters

DEV_QUERIES = REPO / "tests" / "data" / "search_dev.jsonl"
NONSENSE = ["xqzvbn plorf", "asdkjh qwpoeiru zmxncb", "zzzz", "lkjh"]
OUT_OF_DOMAIN = [
    "chocolate cake recipe with buttercream icing", "premier league football transfer window",
    "how to replace a car gearbox clutch", "best hiking boots for the alps", "jazz saxophone solo",
    "weather forecast tomorrow",
]


@pytest.mark.parametrize("query", NONSENSE + OUT_OF_DOMAIN)
def test_a_query_that_matches_nothing_meaningful_says_so(sample_kb, query):
    for mode in ("hybrid", "semantic", "keyword"):
        result = sample_kb.search(query, mode=mode)
        if mode != "keyword" or query in NONSENSE:
            assert result.no_match and result.hits == [] and result.total == 0, (mode, result.total)


def test_no_development_query_is_refused(sample_kb):
    refused = [q.text for q in read_queries(DEV_QUERIES, sample_kb.catalogue) if sample_kb.search(q.text, k=1).no_match]
    assert refused == []


def test_a_misspelt_case_name_is_searched_as_the_case_and_said_so(sample_kb):
    result = sample_kb.search("Connolly social worker", k=5)
    assert result.corrections == [("Connolly", "Connelly")]
    assert result.searched_as == "Connelly social worker"
    assert sum(h.case == "Peter Connelly" for h in result.hits) >= 3


def test_a_misspelt_word_is_corrected_and_exact_searches_it_as_typed(sample_kb):
    result = sample_kb.search("bruisng on the face seen by the health visitor", k=5)
    assert result.corrections == [("bruisng", "bruising")]
    assert result.searched_as == "bruising on the face seen by the health visitor"
    assert any("bruising" in h.text.lower() for h in result.hits)
    typed = sample_kb.search("bruisng on the face seen by the health visitor", k=5, exact=True)
    assert typed.corrections == [] and typed.searched_as is None and typed.hits
    # No word of the sample corpus is close enough to "disese" ("dies" is not): searched as typed.
    assert sample_kb.search("paediatrician skin disese scabies", k=5).corrections == []


def test_a_real_word_the_store_lacks_is_never_silently_replaced(sample_kb):
    for query in ("snark health visitor", "charity neglect", "relocated family"):
        result = sample_kb.search(query, k=5)
        for typed, searched in result.corrections:
            assert result.searched_as and searched in result.searched_as
        assert ("charity", "clarity") not in result.corrections and ("relocated", "related") not in result.corrections


def test_the_total_is_a_true_count_of_matching_passages(sample_kb):
    tokens = [set(sample_kb.keywords.analyse(p.text)) for d in sample_kb.documents() for p in sample_kb.passages(d.doc_id)]
    holding = sum("scabi" in t for t in tokens)
    result = sample_kb.search("scabies", k=3, mode="keyword")
    assert result.total == holding and not result.total_is_estimate
    assert len(result.hits) == min(3, holding)
    wide = sample_kb.search("child", k=10, mode="keyword")
    assert wide.total == sum("child" in t for t in tokens) > 100  # more than the ranking's depth: not a cap
    assert not wide.total_is_estimate
    filtered = sample_kb.search("scabies", k=3, mode="keyword", filters=SearchFilters(year_from=1950, year_to=2100))
    assert filtered.total == holding


def test_search_command_says_what_it_searched_and_when_nothing_matches(sample_kb):
    home, env = sample_kb.settings.home, {"SCRKB_CATALOGUE": str(sample_kb.settings.catalogue)}
    corrected = run_cli("search", "Connolly social worker", "-k", "2", home=home, env=env).stdout
    assert "Showing results for: Connelly social worker (Connolly → Connelly)" in corrected and "--exact" in corrected
    exact = run_cli("search", "Connolly social worker", "-k", "2", "--exact", home=home, env=env).stdout
    assert "Showing results for" not in exact
    nothing = run_cli("search", "xqzvbn plorf", home=home, env=env).stdout
    assert "No passages match" in nothing
    data = json.loads(run_cli("eval", "search", str(DEV_QUERIES), "--baseline", "bm25", "--baseline", "dense", "--json",
                              home=home, env=env).stdout)
    assert set(data["modes"]) == {"hybrid", "keyword", "semantic", "bm25", "dense"}
