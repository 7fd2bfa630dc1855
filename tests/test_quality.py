"""The quality file: loading it for the running taxonomy, what 'not measured' and 'experimental' mean,
the words a reader sees, and the estimated true count with and without reviews."""

from __future__ import annotations

import pytest
import yaml

from kb.themes.quality import QUALITY_FILE, QualityError, ThemeQuality, estimate, load_quality
from kb.themes.taxonomy import load_taxonomy

FIGURES = {
    "taxonomy_version": "9.9.9",
    "measured": "2026-12-06",
    "evaluation_set": "passages written for this test",
    "reports": 12,
    "passages": 40,
    "method": "grouped 5-fold cross-validation by report; thresholds chosen on the training folds",
    "estimator": "estimated true count = tagged passages × precision ÷ recall",
    "quality_floor_f1": 0.5,
    "themes": {
        "neglect": {"precision": 0.8, "recall": 0.7, "f1": 0.747, "support": 20, "tagged": 18,
                    "true_count_factor": 1.14, "factor_interval": [0.85, 1.6]},
        "thresholds": {"precision": 0.3, "recall": 0.4, "f1": 0.343, "support": 9, "tagged": 12,
                       "true_count_factor": 0.75, "factor_interval": [0.4, 1.2]},
        "invisible_men": {"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 3, "tagged": 3,
                          "true_count_factor": None, "factor_interval": None},
        "disguised_compliance": {"precision": 1.0, "recall": 0.4, "f1": 0.571, "support": 5, "tagged": 2,
                                 "true_count_factor": 2.5, "factor_interval": None},
    },
}


def write(tmp_path, data) -> object:
    path = tmp_path / "quality.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def test_measured_themes_read_as_plain_words(tmp_path):
    quality = load_quality("9.9.9", write(tmp_path, FIGURES))
    assert quality.applies and quality.source == "quality.yaml"  # named, never a local path
    neglect = quality.of("neglect")
    assert neglect.measured and not neglect.experimental
    assert (neglect.precision, neglect.recall, neglect.support, neglect.factor_interval) == (0.8, 0.7, 20, (0.85, 1.6))
    assert neglect.plain_words() == ("Found correctly in about 8 of 10 passages it tags; "
                                     "finds about 7 of 10 that show it.")
    assert "12 reports, 40 passages" in quality.note and "2026-12-06" in quality.note


def test_below_the_floor_is_experimental_and_too_few_examples_is_not_measured(tmp_path):
    quality = load_quality("9.9.9", write(tmp_path, FIGURES))
    thresholds = quality.of("thresholds")
    assert thresholds.measured and thresholds.experimental
    few = quality.of("invisible_men")
    assert not few.measured and few.experimental
    assert few.plain_words() == "Not measured: only 3 passages in the evaluation set show it."
    absent = quality.of("early_help")
    assert not absent.measured and absent.experimental and "does not cover it" in absent.status
    # Above the floor, but tagged so rarely that its estimate has no upper bound: its counts are leads.
    unbounded = quality.of("disguised_compliance")
    assert unbounded.measured and unbounded.f1 > 0.5 and unbounded.experimental


def test_figures_for_another_taxonomy_version_measure_nothing_and_say_so(tmp_path):
    quality = load_quality("1.0.0", write(tmp_path, FIGURES))
    assert not quality.applies and quality.themes == {}
    assert "9.9.9" in quality.note and "1.0.0" in quality.note
    neglect = quality.of("neglect")
    assert not neglect.measured and neglect.plain_words() == "Not measured for this taxonomy version."
    assert estimate(neglect, 10).value is None


def test_no_file_means_nothing_is_measured(tmp_path):
    quality = load_quality("1.0.0", tmp_path / "absent.yaml")
    assert quality.source is None and not quality.applies
    assert quality.of("neglect").status == "not measured: there is no quality file"


@pytest.mark.parametrize("text, reason", [
    ("themes: [unclosed", "not valid YAML"),
    ("- a list", "expected a mapping"),
    ("taxonomy_version: '9.9.9'\nthemes:\n  neglect: 3\n", "neglect must be a mapping"),
    ("taxonomy_version: '9.9.9'\nthemes:\n  neglect: {support: many}\n", "invalid literal"),
    ("taxonomy_version: '9.9.9'\nthemes:\n  neglect: {support: 9, factor_interval: [1]}\n", "factor_interval"),
])
def test_a_broken_file_is_refused_naming_it(tmp_path, text, reason):
    path = tmp_path / "broken.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(QualityError) as failure:
        load_quality("9.9.9", path)
    assert str(path) in str(failure.value) and reason in str(failure.value)


def test_the_estimate_corrects_only_unreviewed_tags(tmp_path):
    neglect = load_quality("9.9.9", write(tmp_path, FIGURES)).of("neglect")
    plain = estimate(neglect, 10)
    assert (plain.value, plain.low, plain.high) == (11.4, 8.5, 16.0)  # 10 × 1.14, 10 × 0.85, 10 × 1.6
    # 4 of the 10 counted were reviewed (confirmed or added): exact; only 6 are corrected.
    mixed = estimate(neglect, 10, reviewed=4)
    assert (mixed.value, mixed.low, mixed.high, mixed.unreviewed) == (10.8, 9.1, 13.6, 6)
    every = estimate(neglect, 7, reviewed=7)
    assert (every.value, every.low, every.high) == (7.0, 7.0, 7.0)
    with pytest.raises(ValueError):
        estimate(neglect, 3, reviewed=4)


def test_an_unbounded_interval_gives_a_value_without_an_interval(tmp_path):
    quality = load_quality("9.9.9", write(tmp_path, FIGURES)).of("disguised_compliance")
    found = estimate(quality, 4)
    assert (found.value, found.low, found.high) == (10.0, None, None)


def test_words_for_shares_at_the_edges():
    def words(p, r):
        return ThemeQuality("t", True, "measured", precision=p, recall=r, f1=0.6, support=9).plain_words()
    assert words(0.04, 1.0) == "Found correctly in fewer than 1 in 10 passages it tags; finds all that show it."
    assert words(None, 0.55) == ("Found correctly in an unknown share of the passages it tags; "
                                 "finds about 6 of 10 that show it.")


def test_the_shipped_file_belongs_to_the_shipped_taxonomy():
    """When the taxonomy's version changes, the tagger must be measured again (`scrkb eval themes --quality`)."""
    taxonomy = load_taxonomy()
    quality = load_quality(taxonomy.version, QUALITY_FILE)
    assert quality.applies, quality.note
    assert set(quality.themes) == set(taxonomy.ids)
    assert quality.method.startswith("nested grouped 5-fold cross-validation by report")
    assert QUALITY_FILE.read_text(encoding="utf-8").startswith("# Measured by scripts/train_tagger.py or `scrkb eval themes --quality`")
    for theme in quality.themes.values():
        if theme.true_count_factor is not None and theme.factor_interval is not None:
            low, high = theme.factor_interval
            assert low <= theme.true_count_factor <= high, theme
