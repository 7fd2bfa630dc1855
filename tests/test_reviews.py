"""Reviewing tags on a store of ingested PDFs: verdicts, history, the audit log, bad input, retagging,
re-ingesting, agreement, the `scrkb review` command, and evaluating and recalibrating on the reviews."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from conftest import ingested_store, passage_id, run_cli
from pdfs import Heading, Para, ReportSpec, build_report, distinct_reports

from kb import KnowledgeBase, Settings
from kb.knowledge_base import REVIEW_CALIBRATION
from kb.research import analytics
from kb.research.analytics import CountingRules
from kb.themes.agreement import cohen_kappa
from kb.themes.calibration import Calibration
from kb.themes.review_eval import evaluate_reviews
from kb.themes.reviews import NOTE_MAX, ReviewError

PASSWORD = "a long enough password"


@pytest.fixture(scope="module")
def store(tmp_path_factory, child_s_pdf) -> KnowledgeBase:
    home = tmp_path_factory.mktemp("reviews")
    kb = ingested_store(home, [child_s_pdf, *distinct_reports(home / "more", 6)])
    for role in ("reader", "trainer", "researcher", "admin"):
        kb.accounts.add(role, PASSWORD, role)
    return kb


@pytest.fixture(autouse=True)
def no_reviews(store):
    """Each test starts from a store nobody has reviewed."""
    yield
    store.catalogue.db.execute("DELETE FROM tag_reviews")


def reviews_stored(kb) -> int:
    return kb.catalogue.db.execute("SELECT COUNT(*) FROM tag_reviews").fetchone()[0]


def shown(kb, pid: str) -> set[str]:
    return {m.theme_id for m in kb.passage(pid).themes if m.shown}


def test_a_verdict_changes_the_counts_and_the_latest_one_holds(store):
    gp = passage_id(store, "3.1 The GP")
    theme = sorted(shown(store, gp))[0]
    before = store.theme_counts()[theme]["shows"]
    store.reviews.review(gp, theme, "reject", "not in this passage", username="researcher")
    assert store.theme_counts()[theme]["shows"] == before - 1 and theme not in shown(store, gp)
    assert gp not in {r["passage_id"] for r in analytics.evidence(store, theme).table("evidence").records()}
    store.reviews.review(gp, theme, "confirm", username="admin")  # a second reader disagrees: the latest holds
    assert store.theme_counts()[theme] | {"reviewed": 1} == store.theme_counts()[theme]
    assert store.theme_counts()[theme]["shows"] == before
    history = store.reviews.history(gp, theme)
    assert [(r.verdict, r.username, r.note) for r in history] == [
        ("reject", "researcher", "not in this passage"), ("confirm", "admin", "")]
    [latest] = store.reviews.latest(theme)
    assert (latest.verdict, latest.reviews, latest.tagger, latest.passage_exists) == ("confirm", 2, "shows", True)


def test_an_added_theme_counts_in_search_too(store):
    alone = passage_id(store, "4.1 Child S")
    missing = next(t for t in store.tagger.taxonomy.ids if t not in shown(store, alone))
    store.reviews.review(alone, missing, "add", "the reviewer's reading", username="researcher")
    assert missing in shown(store, alone)
    assert store.document_themes(store.passage(alone).doc_id)[missing] >= 1
    from kb.search.filters import SearchFilters

    hits = store.search("Child S seen alone", k=5, filters=SearchFilters(themes=(missing,)), facets=True)
    assert alone in {h.passage_id for h in hits.hits} and hits.facets["theme"][missing] >= 1
    assert missing in {m.theme_id for m in next(h for h in hits.hits if h.passage_id == alone).themes}


def test_every_review_is_audited(store):
    gp = passage_id(store, "3.1 The GP")
    done = store.reviews.review(gp, "information_sharing", "confirm", "clear", username="researcher",
                                address="192.0.2.1")
    [event] = store.accounts.events(action="tag_review")[:1]
    assert (event.username, event.target, event.address) == ("researcher", gp, "192.0.2.1")
    assert event.detail == {"theme": "information_sharing", "verdict": "confirm", "note": "clear",
                            "review_id": done.review_id}


@pytest.mark.parametrize("change, reason, words", [
    (dict(passage_id="0000000000000000-p0001-00"), "not_found", "There is no passage '0000000000000000-p0001-00'"),
    (dict(theme_id="no_such_theme"), "not_found", "There is no theme 'no_such_theme'"),
    (dict(verdict="maybe"), "invalid", "The verdict must be one of confirm, reject, add"),
    (dict(note="x" * (NOTE_MAX + 1)), "invalid", f"at most {NOTE_MAX} characters"),
    (dict(passage_id=""), "invalid", "its id is missing"),
])
def test_bad_input_is_refused_and_changes_nothing(store, change, reason, words):
    arguments = dict(passage_id=passage_id(store, "3.1 The GP"), theme_id="neglect", verdict="confirm", note="")
    arguments.update(change)
    events = store.accounts.count_events(action="tag_review")
    with pytest.raises(ReviewError) as refused:
        store.reviews.review(arguments["passage_id"], arguments["theme_id"], arguments["verdict"],
                             arguments["note"], username="researcher")
    assert refused.value.reason == reason and words in str(refused.value)
    assert reviews_stored(store) == 0 and store.accounts.count_events(action="tag_review") == events


@pytest.mark.parametrize("role", ["reader", "trainer"])
def test_readers_and_trainers_cannot_review(store, role):
    with pytest.raises(ReviewError) as refused:
        store.reviews.review(passage_id(store, "3.1 The GP"), "neglect", "reject", username=role,
                             user=store.accounts.by_name(role))
    assert refused.value.reason == "forbidden" and f"({role})" in str(refused.value)
    assert reviews_stored(store) == 0


def test_reviews_survive_retagging(store):
    gp = passage_id(store, "3.1 The GP")
    theme = sorted(shown(store, gp))[0]
    store.reviews.review(gp, theme, "reject", username="researcher")
    store.retag()
    assert theme not in shown(store, gp) and store.reviews.latest()[0].tagger == "shows"


def test_reviewed_only_counts_only_what_reviewers_confirmed_or_added(store):
    gp = passage_id(store, "3.1 The GP")
    store.reviews.review(gp, "information_sharing", "confirm", username="researcher")
    store.reviews.review(passage_id(store, "4.1 Child S"), "child_voice", "add", username="researcher")
    rows = analytics.prevalence(store, CountingRules(reviewed_only=True)).table("prevalence").records()
    assert {r["theme_id"]: r["passages_showing"] for r in rows if r["passages_showing"]} == {
        "information_sharing": 1, "child_voice": 1}
    assert all(r["estimated_passages"] == r["passages_showing"] for r in rows)  # every one reviewed: exact


def test_agreement_between_the_tagger_and_the_reviewers(store):
    assert cohen_kappa([(True, True), (False, False)]) == 1.0
    assert cohen_kappa([(True, False), (False, True)]) == -1.0
    # 10 pairs: both yes 4, both no 3, tagger only 2, reviewer only 1 -> po 0.7, pe 0.5, kappa 0.4.
    pairs = [(True, True)] * 4 + [(False, False)] * 3 + [(True, False)] * 2 + [(False, True)]
    assert cohen_kappa(pairs) == 0.4
    assert cohen_kappa([(True, True)] * 3) is None and cohen_kappa([]) is None
    gp, alone = passage_id(store, "3.1 The GP"), passage_id(store, "4.1 Child S")
    tagged = sorted(shown(store, gp))
    store.reviews.review(gp, tagged[0], "confirm", username="researcher")
    untagged = next(t for t in store.tagger.taxonomy.ids if t not in shown(store, alone))
    store.reviews.review(alone, untagged, "reject", username="researcher")
    agreement = store.reviews.agreement()
    assert agreement[tagged[0]]["reviewed"] == 1 and agreement[tagged[0]]["agreement"] == 1.0
    assert agreement[untagged]["rejected"] == 1 and agreement[untagged]["agreement"] == 1.0
    assert sum(a["reviewed"] for a in agreement.values()) == 2


def test_a_review_of_a_removed_passage_is_kept_and_reported(tmp_path):
    def review(words: str):
        return ReportSpec(title="Serious Case Review: Child R", body=[
            Heading("Serious Case Review: Child R", 18), Heading("1. Findings"),
            Para([f"1.1 The school nurse saw bruising on Child R {words} and did not refer."])])

    path = build_report(tmp_path / "child-r.pdf", review("twice"))
    kb = ingested_store(tmp_path, [path])
    old = passage_id(kb, "1.1 The school nurse")
    kb.reviews.review(old, "missed_warning_signs", "confirm", username="researcher")
    build_report(path, review("three times"))  # the report changes: re-ingest replaces its passages
    from ingest import ingest_paths

    assert ingest_paths(kb, [path]).replaced == 1 and kb.passage(old) is None
    [kept] = kb.reviews.latest()
    assert kept.passage_id == old and not kept.passage_exists
    assert kb.check()["orphan_reviews"][0]["passage_id"] == old and kb.check()["consistent"]
    assert kb.theme_counts().get("missed_warning_signs", {}).get("reviewed", 0) == 0  # no longer counted
    listed = run_cli("review", "--list", home=kb.settings.home)
    assert "[passage no longer in the store]" in listed.stdout and "1 review(s) name passages" in listed.stdout
    checked = run_cli("check", home=kb.settings.home)
    assert "1 tag review(s) name passages no longer in the store" in checked.stdout
    again = run_cli("review", old, "missed_warning_signs", "--reject", home=kb.settings.home, check=False)
    assert again.returncode == 1 and "nothing was recorded" in again.stderr
    assert len(kb.reviews.history(old, "missed_warning_signs")) == 1


def test_the_review_command(store):
    home = store.settings.home
    gp = passage_id(store, "3.1 The GP")
    done = run_cli("review", gp, "neglect", "--add", "--note", "the home conditions", "--user", "researcher",
                   "--json", home=home)
    assert json.loads(done.stdout)["verdict"] == "add" and json.loads(done.stdout)["username"] == "researcher"
    plain = run_cli("review", gp, "neglect", "--reject", home=home)
    assert plain.stdout.startswith("Rejected neglect on " + gp) and "by cli:" in plain.stdout
    listed = json.loads(run_cli("review", "--list", "--theme", "neglect", "--json", home=home).stdout)
    [row] = listed["reviews"]
    assert (row["verdict"], row["reviews"], row["passage_exists"]) == ("reject", 2, True)
    for args, words in [
        (["--user", "reader"], "reader's role (reader) cannot review tags"),
        (["--user", "trainer"], "trainer's role (trainer) cannot review tags"),
        (["--user", "nobody"], "There is no user called 'nobody'"),
    ]:
        refused = run_cli("review", gp, "neglect", "--confirm", *args, home=home, check=False)
        assert refused.returncode == 1 and words in refused.stderr, refused.stderr
    usage = run_cli("review", gp, "neglect", home=home, check=False)
    assert usage.returncode == 2 and "--confirm, --reject or --add" in usage.stderr
    unknown = run_cli("review", "--list", "--theme", "nope", home=home, check=False)
    assert unknown.returncode == 1 and "There is no theme 'nope'" in unknown.stderr
    assert reviews_stored(store) == 2


def test_themes_quality_reports_measurement_and_agreement(store):
    gp = passage_id(store, "3.1 The GP")
    store.reviews.review(gp, "information_sharing", "confirm", username="researcher")
    data = json.loads(run_cli("themes", "quality", "--json", home=store.settings.home).stdout)
    assert data["applies"] and data["method"].startswith("nested grouped 5-fold cross-validation by report")
    sharing = next(t for t in data["themes"] if t["id"] == "information_sharing")
    assert sharing["reviews"]["reviewed"] == 1 and {"precision", "recall", "f1", "support"} <= set(sharing)
    text = run_cli("themes", "quality", home=store.settings.home).stdout
    assert "Measured on" in text and "real passages" in text and "experimental" in text and "kappa" in text


def test_evaluate_and_recalibrate_on_the_reviews(store, tmp_path):
    failed = run_cli("eval", "themes", "--from-reviews", home=store.settings.home, check=False)
    assert failed.returncode == 1 and "There are no reviews" in failed.stderr
    # A team's coding of one theme across the seven reports: 6 passages show it, 6 do not.
    # Two passages from each of six reports, whatever order the reports were stored in.
    by_report = [store.passages(d.doc_id)[:2] for d in sorted(store.documents(), key=lambda d: d.doc_id)]
    passages = [p for pair in by_report[:6] for p in pair]
    for n, p in enumerate(passages):
        store.reviews.review(p.passage_id, "start_again", "add" if n % 2 else "reject", username="researcher")
    target = tmp_path / REVIEW_CALIBRATION
    result = evaluate_reviews(store.catalogue, store.tagger, calibrate=True, save_to=target)
    assert result["reviewed_tags"] == 12 and result["themes"]["start_again"]["support"] == 6
    assert set(result["recalibrated"]) == {"start_again"} and result["saved_to"] == str(target)
    assert "after_cross_validated_by_report" in result  # seven reports: folds by report
    saved = Calibration.load(target)
    assert saved.threshold("start_again") == result["recalibrated"]["start_again"]
    assert saved.threshold("neglect") == pytest.approx(store.tagger.calibration.threshold("neglect"), abs=1e-3)
    # A store that holds such a file tags with it.
    home = tmp_path / "own"
    home.mkdir()
    target.replace(home / REVIEW_CALIBRATION)
    own = KnowledgeBase(Settings(home=home, catalogue=tmp_path / "none.csv"))
    assert own.tagger.calibration.source == REVIEW_CALIBRATION
    shown_by_cli = run_cli("eval", "themes", "--from-reviews", home=store.settings.home)
    assert "on 12 reviewed tags" in shown_by_cli.stdout


def test_reviews_are_kept_by_a_store_opened_again(store):
    gp = passage_id(store, "3.1 The GP")
    store.reviews.review(gp, "neglect", "add", username="researcher")
    again = KnowledgeBase(replace(store.settings))
    assert [r.passage_id for r in again.reviews.latest()] == [gp]
