"""Search: safe keyword queries, semantic and hybrid rankings over the real stores."""

from kb.search import fts_query, fuse


def test_fts_query_quotes_every_term_so_user_syntax_is_inert():
    assert fts_query('GP "health visitor" NEAR(text') == '"health visitor" OR "gp" OR "near" OR "text"'
    assert fts_query('text:abuse "unbalanced') == '"text" OR "abuse" OR "unbalanced"'
    assert fts_query("the and of") is None


def test_reciprocal_rank_fusion_rewards_agreement():
    scores = fuse({"keyword": ["a", "b", "c"], "semantic": ["b", "d"]}, {"keyword": 1, "semantic": 1})
    assert max(scores, key=scores.get) == "b"
    assert set(scores) == {"a", "b", "c", "d"}


def test_user_syntax_never_breaks_keyword_search(ingested):
    for query in ['"unbalanced', "NEAR(a b)", "text:GP", "*", "a OR", "AND AND", "'; DROP TABLE passages; --"]:
        ingested.search(query, mode="keyword")


def test_each_mode_finds_the_passage_a_reviewer_remembers(ingested):
    for mode in ("keyword", "semantic", "hybrid"):
        top = ingested.search("mother's partner never assessed", k=3, mode=mode)[0]
        assert "Mr B, the mother's partner" in top.text, mode
        assert top.page == 2


def test_hybrid_hits_carry_both_scores_and_a_citation(ingested):
    hits = ingested.search("domestic abuse information not shared with the GP", k=5)
    top = hits[0]
    assert "not shared" in top.text
    assert top.keyword_score is not None and top.semantic_score is not None
    assert top.title and top.page >= 1 and top.source_path.endswith("child-s.pdf")
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
