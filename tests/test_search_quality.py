"""Search on the sample corpus: filters, highlights, aliases, duplicates, and measured quality."""

import json

import pytest
from conftest import REPO, run_cli

from kb.search.evaluate import evaluate_search, read_queries
from kb.search.filters import FilterError, SearchFilters

DEV_QUERIES = REPO / "tests" / "data" / "search_dev.jsonl"
# nDCG@10 of hybrid search on the development queries when this test was last raised.
HYBRID_NDCG_FLOOR = 0.55


def test_hybrid_beats_both_single_modes_on_the_development_queries(sample_kb):
    queries = read_queries(DEV_QUERIES, sample_kb.catalogue)
    assert len(queries) >= 80
    result = evaluate_search(sample_kb.searcher, queries)["modes"]
    hybrid = result["hybrid"]["ndcg@10"]
    assert hybrid >= HYBRID_NDCG_FLOOR
    assert hybrid > result["keyword"]["ndcg@10"] and hybrid > result["semantic"]["ndcg@10"]


def test_every_sample_document_is_stored_with_its_catalogue_metadata(sample_kb):
    docs = {d.meta.catalogue_id: d for d in sample_kb.documents()}
    assert len(docs) == 20 and None not in docs
    climbie = docs["climbie"].meta
    assert climbie.case == "Victoria Climbié" and climbie.year_published == 2003 and climbie.review_type == "inquiry"
    assert docs["colwell"].page_count >= 5
    assert all(p.ocr for p in sample_kb.passages(docs["colwell"].doc_id))


@pytest.mark.parametrize("query", ["Baby P health visitor", "Peter Connolly", "Connolly social worker"])
def test_case_nicknames_and_misspellings_find_the_case(sample_kb, query):
    hits = sample_kb.search(query, k=5).hits
    assert sum(h.case == "Peter Connelly" for h in hits) >= 3, [h.case for h in hits]


def test_a_misspelt_word_is_searched_as_the_word_the_reports_use(sample_kb):
    hits = sample_kb.search("paediatrician skin disese scabies", k=5, mode="keyword").hits
    assert any("scabies" in h.text.lower() for h in hits)


def test_filters_combine_and_every_hit_obeys_them(sample_kb):
    flt = SearchFilters(themes=("information_sharing",), year_from=2010, year_to=2016, sections=("analysis", "findings"))
    hits = sample_kb.search("agencies did not share what they knew", k=20, filters=flt).hits
    assert hits
    for hit in hits:
        assert 2010 <= hit.year <= 2016
        assert hit.section_kind in ("analysis", "findings")
        assert "information_sharing" in {m.theme_id for m in hit.themes}
    by_case = sample_kb.search("police", k=10, filters=SearchFilters(cases=("Daniel Pelka",))).hits
    assert by_case and all(h.case == "Daniel Pelka" for h in by_case)
    agency = sample_kb.search("assessment", k=10, filters=SearchFilters(agencies=("health visitor",))).hits
    assert agency
    for hit in agency:
        stored = sample_kb.catalogue.passages_by_id([hit.passage_id])[hit.passage_id]
        assert "health visitor" in {e.canonical for e in stored.entities}


@pytest.mark.parametrize("limit", [5000, 120])  # 120: the over-fetch runs short and falls back
def test_a_broad_filter_ranks_keyword_hits_exactly_as_the_restricted_index_query(sample_kb, monkeypatch, limit):
    import kb.search.searcher

    monkeypatch.setattr(kb.search.searcher, "OVERFETCH_LIMIT", limit)
    searcher = sample_kb.searcher
    for flt in (SearchFilters(year_from=2009), SearchFilters(sections=("analysis", "findings")),
                SearchFilters(review_types=("serious case review",)), SearchFilters(cases=("Daniel Pelka",))):
        for query in ("agencies did not share what they knew", "school child protection referral social care",
                      "health visitor"):
            keyword_query = searcher._keyword_query(searcher.vocabulary.terms(query))
            where, params = flt.sql()
            allowed = sample_kb.catalogue.filtered_rowids(where, params)
            direct = searcher.keywords.search(searcher.keywords.within(keyword_query, allowed), kb.search.searcher.CANDIDATES)
            ids = sample_kb.catalogue.passage_ids_at(rowid for rowid, _ in direct)
            joined = [(ids[rowid], score) for rowid, score in direct]
            in_order = sorted(searcher._keyword(keyword_query, flt), key=lambda hit: (-round(hit[1], 5), hit[0]))
            assert in_order == sorted(joined, key=lambda hit: (-round(hit[1], 5), hit[0])), (flt, query)


def test_a_broad_filter_ranks_by_meaning_as_exact_scoring_does(sample_kb):
    searcher = sample_kb.searcher
    vector = sample_kb.embedder.encode(["agencies did not share what they knew"])[0]
    for flt in (SearchFilters(year_from=2009), SearchFilters(sections=("analysis", "findings"))):
        where, params = flt.sql()
        matrix = searcher.matrix.fresh()
        exact = matrix.score(vector, matrix.rows_of(sample_kb.catalogue.filtered_rowids(where, params)), 10)
        assert [pid for pid, _ in searcher._semantic(vector, flt)[:10]] == [pid for pid, _ in exact]


def test_filters_kept_in_memory_keep_exactly_the_rows_sql_keeps(sample_kb):
    index = sample_kb.searcher.filter_index.fresh()
    themes = sample_kb.searcher.theme_ids
    for flt in (SearchFilters(year_from=2009), SearchFilters(year_to=2003), SearchFilters(year_from=2005, year_to=2012),
                SearchFilters(themes=(themes[0],)), SearchFilters(themes=("information_sharing", "thresholds")),
                SearchFilters(cases=("Daniel Pelka", "Peter Connelly")), SearchFilters(sections=("analysis", "findings")),
                SearchFilters(review_types=("serious case review",), nations=("England",)),
                SearchFilters(agencies=("health visitor",), year_from=2000), SearchFilters(cases=("No such case",)),
                SearchFilters(areas=("Haringey",), themes=("information_sharing",))):
        where, params = flt.sql()
        assert index.allowed(flt).tolist() == sample_kb.catalogue.filtered_rowids(where, params).tolist(), flt


def test_bad_filters_are_refused_with_a_reason(sample_kb):
    with pytest.raises(FilterError, match="unknown theme: nope"):
        sample_kb.search("x", filters=SearchFilters(themes=("nope",)))
    with pytest.raises(FilterError, match="unknown section"):
        sample_kb.search("x", filters=SearchFilters(sections=("$where",)))
    with pytest.raises(FilterError, match="year"):
        sample_kb.search("x", filters=SearchFilters(year_from=2020, year_to=2010))


def test_hits_carry_citation_highlights_best_sentence_and_score_parts(sample_kb):
    hit = sample_kb.search("health visitor no access visits", k=3).hits[0]
    assert hit.title and hit.year and hit.page >= 1 and hit.page_end >= hit.page and hit.source_path.endswith(".pdf")
    assert hit.highlights and all(hit.text[s:e].strip() for s, e in hit.highlights)
    start, end = hit.best_sentence_span
    assert hit.text[start:end] == hit.best_sentence
    assert hit.score > 0 and (hit.keyword_score is not None or hit.semantic_score is not None)


def test_facets_count_the_current_query(sample_kb):
    result = sample_kb.search("sexual exploitation of young people", k=10, facets=True)
    assert set(result.facets) == {"theme", "case", "year", "review_type"}
    assert result.facets["theme"].get("sexual_exploitation", 0) > 0
    assert sum(result.facets["case"].values()) <= result.total


def test_pages_do_not_overlap(sample_kb):
    first = sample_kb.search("threshold for social care", k=5).hits
    second = sample_kb.search("threshold for social care", k=5, offset=5).hits
    assert not {h.passage_id for h in first} & {h.passage_id for h in second}


def test_more_like_this_comes_from_other_cases(sample_kb):
    source = sample_kb.search("lifestyle choice sexual exploitation", k=1).hits[0]
    similar = sample_kb.similar(source.passage_id, k=5)
    assert len(similar) == 5
    assert all(h.case != source.case for h in similar)
    assert {h.case for h in similar} & {"Rotherham", "Rochdale", "Oxfordshire", "Telford"}


def test_search_command_takes_filters_and_prints_json(sample_kb):
    home = sample_kb.settings.home
    env = {"SCRKB_CATALOGUE": str(sample_kb.settings.catalogue)}
    out = run_cli("search", "threshold not met", "--theme", "thresholds", "--year-from", "2000", "-k", "3", "--json",
                  home=home, env=env)
    hits = json.loads(out.stdout)
    assert len(hits) == 3
    assert all({"passage_id", "doc_id", "title", "source_path", "page", "text", "score", "best_sentence", "themes"} <= set(h) for h in hits)
    bad = run_cli("search", "x", "--section", "nowhere", home=home, env=env, check=False)
    assert bad.returncode == 2 and "unknown section" in bad.stderr


def test_eval_search_command_reports_every_mode(sample_kb):
    out = run_cli("eval", "search", str(DEV_QUERIES), "--json", home=sample_kb.settings.home,
                  env={"SCRKB_CATALOGUE": str(sample_kb.settings.catalogue)})
    data = json.loads(out.stdout)
    assert set(data["modes"]) == {"hybrid", "keyword", "semantic"}
    assert all({"recall@10", "mrr@10", "ndcg@10"} == set(m) for m in data["modes"].values())


def test_passages_with_equal_scores_rank_the_same_however_the_keyword_index_was_written(tmp_path):
    # A restored or reindexed store rebuilds its keyword index in one go, where ingest wrote it a
    # report at a time; a reviewer who cites "the third hit" must find the same one in both.
    from kb.store.keyword_index import IndexedPassage, KeywordIndex

    text = "The health visitor did not share the concerns with the school."
    passages = {f"doc{n:02d}": [IndexedPassage(rowid=n, text=text)] for n in range(1, 41)}
    as_ingested = KeywordIndex(tmp_path / "as-ingested")
    for doc_id in reversed(passages):
        as_ingested.replace_documents({doc_id: passages[doc_id]})
    rebuilt = KeywordIndex(tmp_path / "rebuilt")
    rebuilt.replace_documents(passages)
    for limit in (5, 30):
        rankings = [[rowid for rowid, _ in index.search(index.query([[["health"]], [["visitor"]]]), limit)]
                    for index in (as_ingested, rebuilt)]
        assert rankings == [list(range(1, limit + 1))] * 2
