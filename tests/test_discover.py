"""Theme discovery: recurring topics described by their terms, typical passages and overlap with themes."""

import json

from conftest import run_cli

from kb.themes.discover import discover


def test_clusters_have_terms_cited_passages_and_theme_overlap(sample_kb):
    clusters = discover(sample_kb.catalogue, min_size=6)
    assert len(clusters) >= 2
    ids = sample_kb.catalogue.all_passage_ids()
    for cluster in clusters:
        assert cluster.size >= 6 and len(cluster.terms) >= 5
        assert 1 <= len(cluster.passages) <= 3
        for passage in cluster.passages:
            assert passage["passage_id"] in ids and passage["title"] and passage["page"] >= 1
        assert all(0 < share <= 1 for share in cluster.themes.values())
        if cluster.covered_by:
            assert cluster.themes[cluster.covered_by] >= 0.5
    # the least-covered topics come first, so a researcher sees what is new
    covered = [c.covered_by is not None for c in clusters]
    assert covered == sorted(covered)


def test_discover_command_prints_a_report_and_json(sample_kb):
    env = {"SCRKB_CATALOGUE": str(sample_kb.settings.catalogue)}
    text = run_cli("discover", "--min-size", "6", home=sample_kb.settings.home, env=env).stdout
    assert "distinctive terms:" in text and "passages" in text
    data = json.loads(run_cli("discover", "--min-size", "6", "--json", home=sample_kb.settings.home, env=env).stdout)
    assert data["clusters"] and {"id", "size", "terms", "passages", "themes", "covered_by"} <= set(data["clusters"][0])
