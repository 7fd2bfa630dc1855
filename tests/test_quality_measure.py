"""Measuring the tagger for the quality file: folds by report, figures worked out by hand, the bootstrap
interval, and the whole measurement with the real tagger on passages written for this test."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import run_cli

from kb import KnowledgeBase, Settings
from kb.themes.quality import load_quality
from kb.themes.quality_measure import (
    GroupedItem,
    bootstrap_factor_intervals,
    grouped_folds,
    measure_predictions,
    measure_quality,
    merge_similar_reports,
    read_grouped,
    write_quality,
)

# Labelled passages in the shape of the real set: id, text, themes, report. Written for this test.
PASSAGES = [
    ("r1", "The home was filthy, the children were hungry and their clothes were unwashed for weeks.", ["neglect"]),
    ("r1", "The review panel met six times and read the agencies' records.", []),
    ("r2", "The baby was often left in a soiled cot and missed every health appointment.", ["neglect"]),
    ("r2", "Police attended the flat after neighbours heard the father hitting the mother.", ["domestic_abuse"]),
    ("r3", "No agency shared what it knew: the school and the GP each held part of the picture.",
     ["information_sharing"]),
    ("r3", "This report follows the structure set out in the statutory guidance.", []),
    ("r4", "The children had head lice, rotten teeth and no food in the house.", ["neglect"]),
    ("r4", "The mother told the health visitor that her partner controlled the money and hit her.",
     ["domestic_abuse"]),
    ("r5", "Children's social care did not tell the police about the strategy discussion.", ["information_sharing"]),
    ("r5", "The terms of reference were agreed by the partnership in the spring.", []),
    ("r6", "The house smelt of urine and the toddler was seen scavenging for food.", ["neglect"]),
    ("r6", "Each agency kept its concerns to itself and nobody called a meeting.", ["information_sharing"]),
    ("r7", "The father had a history of violence towards previous partners, unknown to the midwife.",
     ["domestic_abuse"]),
    ("r7", "Acknowledgements: the author thanks the family for taking part.", []),
]


@pytest.fixture(scope="module")
def labelled(tmp_path_factory):
    path = tmp_path_factory.mktemp("labelled") / "set.jsonl"
    with path.open("w", encoding="utf-8") as out:
        for n, (report, text, themes) in enumerate(PASSAGES):
            out.write(json.dumps({"id": f"{report}-{n:02d}", "text": text, "themes": themes, "report": report}) + "\n")
    return path


def test_folds_keep_each_report_whole_and_are_balanced():
    groups = ["a"] * 5 + ["b"] * 4 + ["c"] * 3 + ["d"] * 3 + ["e"] * 2 + ["f"] * 2 + ["g"]
    folds = grouped_folds(groups, k=3, seed=1)
    assert sorted(i for f in folds for i in f) == list(range(len(groups)))
    for fold in folds:
        for other in folds:
            if other is not fold:
                assert not {groups[i] for i in fold} & {groups[i] for i in other}
    assert max(map(len, folds)) - min(map(len, folds)) <= 2
    assert grouped_folds(groups, k=3, seed=1) == folds  # the same seed, the same folds
    with pytest.raises(ValueError, match="2 groups cannot make 5 folds"):
        grouped_folds(["a", "b", "a"], k=5)


def test_one_report_named_two_ways_is_one_group_and_other_reports_stay_apart():
    """Reached through two pages, one review comes back under two names; were they two groups, a fold could
    train on one page of it and test on the other."""
    names = ["Serious Case Review: Hamzah Khan (Bradford Safeguarding Children Board)",
             "Hamzah Khan serious case review (Bradford)",
             "Child practice review: Kaylea Titford (Powys)",
             "Serious case review: Child J (Luton)"]
    items = [GroupedItem(str(i), "text", set(), name) for i, name in enumerate(names)]
    groups = [item.group for item in merge_similar_reports(items)]
    assert groups[0] == groups[1]
    assert len({groups[1], groups[2], groups[3]}) == 3


def test_figures_are_worked_out_from_the_predictions():
    theme_ids = ["neglect", "thresholds"]
    # neglect: shown in 6 passages, tagged in 5, 4 of them right -> P 0.8, R 4/6, factor 6/5.
    gold = [{"neglect"}] * 6 + [set()] * 4
    pred = [{"neglect"}] * 4 + [set()] * 2 + [{"neglect"}] + [set()] * 3
    groups = ["a", "a", "b", "b", "c", "c", "d", "d", "e", "e"]
    themes = measure_predictions(theme_ids, gold, pred, groups, resamples=500, seed=3)
    neglect = themes["neglect"]
    assert (neglect["precision"], neglect["recall"], neglect["f1"]) == (0.8, 0.667, 0.727)
    assert (neglect["support"], neglect["tagged"], neglect["true_count_factor"]) == (6, 5, 1.2)
    low, high = neglect["factor_interval"]
    assert low <= 1.2 <= high
    # A theme nobody shows or tags has no figures, and no factor.
    assert themes["thresholds"] == {"precision": None, "recall": None, "f1": None, "support": 0, "tagged": 0,
                                    "true_count_factor": None, "factor_interval": None}


def test_too_few_examples_give_no_factor():
    gold = [{"neglect"}] * 4 + [set()] * 4
    pred = [{"neglect"}] * 3 + [set()] * 5
    themes = measure_predictions(["neglect"], gold, pred, list("abcdefgh"), resamples=200)
    assert themes["neglect"]["support"] == 4 and themes["neglect"]["true_count_factor"] is None


def test_the_bootstrap_resamples_reports_not_passages():
    # Two reports: one where the tagger finds everything, one where it finds nothing.
    counts = np.array([[[3, 3, 3]], [[3, 0, 0]]])  # (groups, themes, [support, tagged, tp])
    [interval] = bootstrap_factor_intervals(counts, resamples=400, seed=5)
    # A resample of the second report twice has nothing tagged: an unbounded factor, so no interval.
    assert interval is None
    steady = np.array([[[2, 2, 2]]] * 10)
    [(low, high)] = bootstrap_factor_intervals(steady, resamples=400, seed=5)
    assert low == high == 1.0


def test_the_real_tagger_measured_end_to_end(tmp_path, labelled, make_kb):
    kb = make_kb()
    items = read_grouped(labelled)
    record = measure_quality(kb.tagger, items, "passages written for this test", resamples=300)
    assert (record["reports"], record["passages"], record["taxonomy_version"]) == (7, 14, kb.tagger.version)
    assert record["method"] == "grouped 5-fold cross-validation by report; thresholds chosen on the training folds"
    neglect = record["themes"]["neglect"]
    assert neglect["support"] == 4 and set(record["themes"]) == set(kb.tagger.taxonomy.ids)
    out = tmp_path / "quality.yaml"
    write_quality(out, record)
    quality = load_quality(kb.tagger.version, out)
    assert quality.applies and quality.passages == 14 and quality.of("neglect").support == 4
    assert not quality.of("neglect").measured  # 4 < 5: too few to say


def test_the_command_writes_the_file_and_refuses_bad_input(tmp_path, labelled):
    out = tmp_path / "measured.yaml"
    result = run_cli("eval", "themes", str(labelled), "--quality", "--out", str(out), "--json", home=tmp_path / "kb")
    record = json.loads(result.stdout)
    assert record["written_to"] == str(out) and record["reports"] == 7
    assert out.read_text(encoding="utf-8").startswith("# Measured by scripts/train_tagger.py or `scrkb eval themes --quality`")
    by_prefix = run_cli("eval", "themes", str(labelled), "--quality", "--group-by", "id-prefix=2", "--out",
                        str(tmp_path / "p.yaml"), "--json", home=tmp_path / "kb")
    assert "by id-prefix=2" in json.loads(by_prefix.stdout)["method"]

    unlabelled = tmp_path / "no-report.jsonl"
    unlabelled.write_text(json.dumps({"id": "x", "text": "Some text.", "themes": []}) + "\n", encoding="utf-8")
    failed = run_cli("eval", "themes", str(unlabelled), "--quality", "--out", str(tmp_path / "x.yaml"),
                     home=tmp_path / "kb", check=False)
    assert failed.returncode == 1 and "no-report.jsonl" in failed.stderr and "'report'" in failed.stderr
    assert not (tmp_path / "x.yaml").exists()
    both = run_cli("eval", "themes", str(labelled), "--from-reviews", home=tmp_path / "kb", check=False)
    assert both.returncode == 2 and "not both" in both.stderr


def test_a_store_with_its_own_quality_file_uses_it(tmp_path):
    record = {"taxonomy_version": "0", "themes": {}}
    path = tmp_path / "own.yaml"
    write_quality(path, record)
    kb = KnowledgeBase(Settings(home=tmp_path / "kb", catalogue=tmp_path / "none.csv", theme_quality=path))
    assert kb.theme_quality.source == "own.yaml" and not kb.theme_quality.applies
