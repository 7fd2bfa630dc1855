"""Measure the tagger against a team's own reviews, and recalibrate its thresholds on them.

Each reviewed (passage, theme) is one labelled item: confirmed or added means the
passage shows the theme, rejected means it does not. A reviewer judged one theme on
a passage, not all of them, so a theme is measured only on the passages reviewed for
it. Scores are recomputed from the stored sentences and vectors, as `scrkb retag` would.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import yaml

from kb.store.catalogue import Catalogue
from kb.themes.calibration import Calibration
from kb.themes.evaluate import calibrate_thresholds, predicted, report
from kb.themes.quality_measure import cross_validated_predictions, grouped_folds
from kb.themes.subject import child_present_by_passage
from kb.themes.tagger import ThemeScore, ThemeTagger

# A theme's threshold moves only when its reviews can support it: enough of them, on both sides.
MIN_REVIEWED, MIN_EACH_SIDE = 10, 3
FOLDS = 5


@dataclass
class ReviewedItem:
    passage_id: str
    doc_id: str
    theme_id: str
    shows: bool


def reviewed_items(catalogue: Catalogue, theme_ids: list[str]) -> tuple[list[ReviewedItem], dict]:
    """The latest verdict of every reviewed tag whose passage and theme still exist; and what was left out."""
    items, skipped = [], {"removed_passages": 0, "unknown_themes": 0}
    known = set(theme_ids)
    for r in catalogue.latest_reviews():
        if not r["passage_exists"]:
            skipped["removed_passages"] += 1
        elif r["theme_id"] not in known:
            skipped["unknown_themes"] += 1
        else:
            items.append(ReviewedItem(r["passage_id"], r["doc_id"], r["theme_id"], r["verdict"] != "reject"))
    return items, skipped


def score_reviewed(catalogue: Catalogue, tagger: ThemeTagger, items: list[ReviewedItem]) -> list[ThemeScore]:
    """The tagger's score for each reviewed item, from the stored passage and its stored vectors."""
    wanted = {item.passage_id for item in items}
    scored: dict[str, dict[str, ThemeScore]] = {}
    present = child_present_by_passage(catalogue.texts_by_document())
    for passages, vectors, sentence_vectors in catalogue.iter_for_tagging():
        keep = [i for i, p in enumerate(passages) if p.passage_id in wanted]
        if not keep:
            continue
        chosen = [passages[i] for i in keep]
        results = tagger.score([p.text for p in chosen], [p.sentences for p in chosen],
                               [sentence_vectors[i] for i in keep], vectors[keep], [p.section_kind for p in chosen],
                               child_present=[present.get(p.passage_id, True) for p in chosen])
        scored.update({p.passage_id: r for p, r in zip(chosen, results)})
    empty = ThemeScore("", 0.0)
    return [scored.get(item.passage_id, {}).get(item.theme_id, empty) for item in items]


def evaluate_reviews(catalogue: Catalogue, tagger: ThemeTagger, calibrate: bool = False,
                     save_to: Path | None = None) -> dict:
    """Precision, recall and F1 on the reviewed tags at the tagger's thresholds; with `calibrate`,
    thresholds chosen on the reviews (for themes with enough of them), measured by report-grouped
    cross-validation, and saved to `save_to`."""
    theme_ids = tagger.taxonomy.ids
    items, skipped = reviewed_items(catalogue, theme_ids)
    if not items:
        raise ValueError("There are no reviews of passages in this store to evaluate on: review some tags first "
                         "(`scrkb review PASSAGE_ID THEME --confirm|--reject|--add`).")
    scores = [{item.theme_id: s} for item, s in zip(items, score_reviewed(catalogue, tagger, items))]
    gold = [{item.theme_id} if item.shows else set() for item in items]
    result = report(theme_ids, gold, [predicted(s, tagger.calibration) for s in scores])
    result.update({"reviewed_tags": len(items), "skipped": skipped, "thresholds": tagger.calibration.source,
                   "taxonomy_version": tagger.version})
    if not calibrate:
        return result
    eligible = _eligible(items, theme_ids)
    chosen = calibrate_thresholds(theme_ids, gold, scores, tagger.calibration.gate)
    thresholds = {**tagger.calibration.thresholds, **{t: chosen.threshold(t) for t in eligible}}
    calibration = Calibration(thresholds, tagger.calibration.default, "reviews", tagger.calibration.gate)
    result["recalibrated"] = {t: round(thresholds[t], 3) for t in eligible}
    result["not_recalibrated"] = (f"themes with fewer than {MIN_REVIEWED} reviewed tags, or fewer than "
                                  f"{MIN_EACH_SIDE} on either side, keep their thresholds")
    result["after_in_sample"] = report(theme_ids, gold, [predicted(s, calibration) for s in scores])
    documents = [item.doc_id for item in items]
    if eligible and len(set(documents)) >= FOLDS:
        folds = grouped_folds(documents, FOLDS)
        pred = cross_validated_predictions(theme_ids, gold, scores, folds)
        result["after_cross_validated_by_report"] = report(theme_ids, gold, pred)
    if save_to is not None and eligible:
        save_calibration(save_to, calibration, tagger.version, len(items))
        result["saved_to"] = str(save_to)
    return result


def _eligible(items: list[ReviewedItem], theme_ids: list[str]) -> list[str]:
    found = []
    for theme in theme_ids:
        sides = [item.shows for item in items if item.theme_id == theme]
        if len(sides) >= MIN_REVIEWED and min(sum(sides), len(sides) - sum(sides)) >= MIN_EACH_SIDE:
            found.append(theme)
    return found


def save_calibration(path: Path, calibration: Calibration, taxonomy_version: str, reviewed: int) -> None:
    """Write thresholds in the calibration file's shape, saying they came from this store's reviews."""
    data = {
        "taxonomy_version": taxonomy_version,
        "development_set": f"{reviewed} reviewed tags in this store, {date.today().isoformat()}",
        "default": round(calibration.default, 3),
        "thresholds": {k: round(v, 3) for k, v in sorted(calibration.thresholds.items())},
    }
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("# Per-theme thresholds recalibrated on this store's reviews by "
                   "`scrkb eval themes --from-reviews --calibrate`; delete this file to go back to the shipped ones.\n"
                   + yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    tmp.replace(path)
