"""Search: safe keyword queries, semantic and hybrid rankings over the real stores."""

from kb.search.searcher import fuse, query_forms
from kb.search.vocabulary import Vocabulary


def test_query_forms_keep_phrases_and_reduce_user_syntax_to_words():
    vocabulary = Vocabulary.load()
    assert query_forms(vocabulary.terms('"health visitor" NEAR(text')) == ["health visitor", "NEAR", "text"]
    assert query_forms(vocabulary.terms('text:abuse "unbalanced')) == ["text", "abuse", "unbalanced"]
    assert query_forms(vocabulary.terms("the and of")) == []


def test_reciprocal_rank_fusion_rewards_agreement():
    scores = fuse({"keyword": ["a", "b", "c"], "semantic": ["b", "d"]}, {"keyword": 1, "semantic": 1})
    assert max(scores, key=scores.get) == "b"
    assert set(scores) == {"a", "b", "c", "d"}


def test_user_syntax_never_breaks_keyword_search(ingested):
    for query in ['"unbalanced', "NEAR(a b)", "text:GP", "*", "a OR", "AND AND", "'; DROP TABLE passages; --"]:
        ingested.search(query, mode="keyword")
        ingested.search(query, mode="hybrid")


def test_each_mode_finds_the_passage_a_reviewer_remembers(ingested_each_way):
    for mode in ("keyword", "semantic", "hybrid"):
        top = ingested_each_way.search("mother's partner never assessed", k=3, mode=mode).hits[0]
        assert "Mr B, the mother's partner" in top.text, mode
        assert top.page == 2


def test_hybrid_hits_carry_both_scores_and_a_citation(ingested_each_way):
    hits = ingested_each_way.search("domestic abuse information not shared with the GP", k=5).hits
    found = next(h for h in hits[:2] if "not shared" in h.text)
    assert found.keyword_score is not None and found.semantic_score is not None
    assert found.keyword_rank and found.semantic_rank
    assert found.title and found.page >= 1 and found.source_path.endswith("child-s.pdf")
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
