"""Counting rules with reviewers' verdicts, against numbers worked out by hand on the four-document store
of test_analytics: every count, facet, filter, evidence table, estimate and export record takes them."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
import yaml
from click.testing import CliRunner
from test_analytics import MISSED, NEGLECT, SHARING, THRESHOLDS, build_store

from kb import KnowledgeBase
from kb.cli import main
from kb.research import analytics
from kb.research.analytics import CountingRules
from kb.research.exports import about
from kb.search.filters import SearchFilters

A, B, C, D = (c * 16 for c in "abcd")


def pid(doc: str, n: int) -> str:
    return f"{doc}-p{n:04d}-00"


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> KnowledgeBase:
    """The hand-worked store, a quality file for its taxonomy version, and one verdict of each kind."""
    home = tmp_path_factory.mktemp("review-counts")
    kb = build_store(home / "kb")
    quality = home / "quality.yaml"
    quality.write_text(yaml.safe_dump({
        "taxonomy_version": kb.tagger.version, "evaluation_set": "written for this test", "reports": 9,
        "passages": 30, "method": "by hand", "estimator": "count × precision ÷ recall", "measured": "2026-12-06",
        "themes": {NEGLECT: {"precision": 0.6, "recall": 0.4, "f1": 0.48, "support": 10, "tagged": 15,
                             "true_count_factor": 1.5, "factor_interval": [1.0, 2.0]},
                   SHARING: {"precision": 0.9, "recall": 0.9, "f1": 0.9, "support": 10, "tagged": 10,
                             "true_count_factor": 1.0, "factor_interval": [0.8, 1.25]}},
    }), encoding="utf-8")
    kb = KnowledgeBase(replace(kb.settings, theme_quality=quality))
    for passage, theme, verdict in [
        (pid(A, 1), MISSED, "reject"),  # a tag the tagger said shows: no longer counts
        (pid(C, 2), NEGLECT, "add"),  # a passage the tagger gave no theme: counts now
        (pid(B, 1), SHARING, "confirm"),  # counted before and after, now exactly
        (pid(B, 2), MISSED, "confirm"),  # the tagger said only "names": a reviewer says it shows
        (pid(A, 3), THRESHOLDS, "reject"),  # a "names" tag, rejected: not counted even with names
    ]:
        kb.reviews.review(passage, theme, verdict, username="tester")
    return kb


def prevalence(kb, **rules) -> dict:
    return {r["theme_id"]: r for r in analytics.prevalence(kb, CountingRules(**rules)).table("prevalence").records()}


def test_a_rejected_tag_never_counts_and_an_added_one_always_does(store):
    rows = prevalence(store)
    assert (rows[MISSED]["passages_showing"], rows[MISSED]["documents_showing"]) == (2, 2)  # a-p2, b-p2 (confirmed)
    assert (rows[NEGLECT]["passages_showing"], rows[NEGLECT]["documents_showing"]) == (3, 3)  # b, d, and c (added)
    assert rows[SHARING]["passages_showing"] == 3 and rows[SHARING]["passages_reviewed"] == 1
    assert rows[THRESHOLDS]["passages_showing"] == 1
    counts = {(r["doc_id"], r["theme_id"]): r for r in analytics.counts(store, "document").table("counts").records()}
    assert counts[(A, MISSED)]["passages"] == 1 and counts[(C, NEGLECT)]["shown"] == 1


def test_reviews_hold_under_every_rule(store):
    named = prevalence(store, kinds="shows+names")
    assert named[THRESHOLDS]["passages_showing"] == 1  # a-p3's "names" tag was rejected
    strict = prevalence(store, min_score=0.99)
    assert {t: r["passages_showing"] for t, r in strict.items() if r["passages_showing"]} == {
        MISSED: 1, SHARING: 1, NEGLECT: 1}  # only what reviewers confirmed or added
    reviewed = prevalence(store, reviewed_only=True)
    assert {t: r["passages_showing"] for t, r in reviewed.items() if r["passages_showing"]} == {
        MISSED: 1, SHARING: 1, NEGLECT: 1}
    meaning = CountingRules(reviewed_only=True).as_dict()["meaning"]
    assert meaning.startswith("A passage counts for a theme only when a reviewer confirmed or added")
    assert "unless a reviewer rejected it" in CountingRules().as_dict()["meaning"]


def test_estimates_correct_only_the_unreviewed_tags(store):
    rows = prevalence(store)
    # neglect: 3 counted, 1 of them added by a reviewer; 1 + 2 × 1.5, interval 1 + 2 × [1.0, 2.0].
    neglect = rows[NEGLECT]
    assert (neglect["estimated_passages"], neglect["estimate_low"], neglect["estimate_high"]) == (4.0, 3.0, 5.0)
    assert (neglect["precision"], neglect["recall"], neglect["experimental"]) == (0.6, 0.4, 1)  # F1 under 0.5
    sharing = rows[SHARING]  # 3 counted, 1 confirmed: 1 + 2 × 1.0, interval 1 + 2 × [0.8, 1.25]
    assert (sharing["estimated_passages"], sharing["estimate_low"], sharing["estimate_high"]) == (3.0, 2.6, 3.5)
    assert sharing["experimental"] == 0
    assert rows[MISSED]["estimated_passages"] is None  # not in the quality file: not measured
    # Names counted too, or a minimum score above the thresholds: the measurement does not apply...
    assert prevalence(store, kinds="shows+names")[NEGLECT]["estimated_passages"] is None
    # ...unless every counted passage was reviewed, when the count is exact.
    exact = prevalence(store, min_score=0.99)[NEGLECT]
    assert (exact["estimated_passages"], exact["estimate_low"], exact["estimate_high"]) == (1.0, 1.0, 1.0)
    by_case = {(r["case"], r["theme_id"]): r for r in analytics.counts(store, "case").table("counts").records()}
    assert by_case[("Child A", NEGLECT)]["estimated_passages"] == 1.0  # c-p2, added: exact


def test_the_evidence_names_the_reviewers_verdict(store):
    rows = analytics.evidence(store, NEGLECT).table("evidence").records()
    added = next(r for r in rows if r["passage_id"] == pid(C, 2))
    assert (added["review"], added["kind"], added["score"], added["evidence"]) == ("added", None, None, "")
    assert {r["review"] for r in rows if r["passage_id"] != pid(C, 2)} == {""}
    coded = analytics.evidence(store, None).table("coded").records()
    assert (pid(A, 1), MISSED) not in {(r["passage_id"], r["code_id"]) for r in coded}
    assert next(r for r in coded if (r["passage_id"], r["code_id"]) == (pid(B, 2), MISSED))["review"] == "confirmed"


def test_theme_counts_facets_filters_and_theme_pages_take_the_verdicts(store):
    counts = store.theme_counts()
    assert counts[MISSED] == {"shows": 2, "names": 0, "documents": 2, "reviewed": 1, "rejected": 1}
    assert counts[THRESHOLDS]["names"] == 0 and counts[THRESHOLDS]["rejected"] == 1
    assert counts[NEGLECT]["shows"] == 3 and counts[NEGLECT]["reviewed"] == 1
    assert store.document_themes(C) == {SHARING: 1, THRESHOLDS: 1, NEGLECT: 1}
    assert store.catalogue.facets([pid(A, 1), pid(C, 2)])["theme"] == {SHARING: 1, NEGLECT: 1}
    where, params = SearchFilters(themes=(NEGLECT,)).sql()
    kept = set(store.catalogue.filtered_rowids(where, params).tolist())
    rowid = store.catalogue.db.execute("SELECT rowid FROM passages WHERE passage_id = ?", (pid(C, 2),)).fetchone()[0]
    assert rowid in kept and len(kept) == 3
    assert pid(C, 2) == store.theme_evidence(NEGLECT)[0].passage_id  # reviewer-added evidence comes first
    assert pid(A, 1) not in {p.passage_id for p in store.theme_evidence(MISSED)}
    themes = {m.theme_id: m for m in store.passage(pid(C, 2)).themes}
    assert themes[NEGLECT].review == "add" and themes[NEGLECT].shown
    rejected = {m.theme_id: m for m in store.passage(pid(A, 1)).themes}[MISSED]
    assert rejected.review == "reject" and rejected.kind == "shows" and not rejected.shown


def test_every_export_says_what_its_counts_rest_on(store, tmp_path):
    record = about(store, analytics.prevalence(store))
    # 8 "shows" tags, less 1 rejected, plus 1 added and 1 "names" tag confirmed
    assert record["reviews"]["counted_tags"] == 9 and record["reviews"]["counted_tags_reviewed"] == 3
    assert record["reviews"]["rejected_tags"] == 2 and record["reviews"]["latest_review_at"]
    quality = record["theme_quality"]
    assert quality["applies"] and quality["source"] == "quality.yaml" and quality["estimator"]
    assert quality["themes"][NEGLECT]["precision"] == 0.6 and quality["themes"][NEGLECT]["experimental"]
    assert quality["themes"][MISSED]["status"] == "not measured: the evaluation set does not cover it"
    out = tmp_path / "counts.csv"
    result = CliRunner().invoke(main, ["export", "counts", "--by", "case", "--reviewed-only", "--out", str(out),
                                       "--kb", str(store.settings.home)], env={"SCRKB_THEME_QUALITY":
                                                                              str(store.settings.theme_quality)})
    assert result.exit_code == 0, result.output
    sidecar = json.loads((tmp_path / "counts.csv.meta.json").read_text(encoding="utf-8"))
    assert sidecar["counting_rules"]["reviewed_only"] is True
    assert sidecar["theme_quality"]["themes"][SHARING]["recall"] == 0.9
    assert sidecar["reviews"]["counted_tags"] == sidecar["reviews"]["counted_tags_reviewed"] == 3
    header = out.read_text(encoding="utf-8").splitlines()[0]
    assert header.endswith("passages_reviewed,estimated_passages,estimate_low,estimate_high")
