"""Measure the tagger on a labelled JSONL file, and choose per-theme thresholds on it."""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kb.nlp.spacy_pipeline import analyse
from kb.nlp.text import read_jsonl
from kb.themes.calibration import CALIBRATION_FILE, Calibration
from kb.themes.classifier import SHIPPED_DIR, fingerprint
from kb.themes.tagger import ThemeScore, ThemeTagger

GRID = np.round(np.arange(0.30, 0.951, 0.025), 3)
# Per-theme thresholds are pulled halfway to the single best global one, so a
# theme with few examples is not fitted to them.
SHRINK = 0.5
FOLDS = 5


@dataclass
class Labelled:
    id: str
    text: str
    themes: set[str]


def read_labelled(path: Path) -> list[Labelled]:
    def parse(row: dict) -> Labelled:
        if not isinstance(row, dict) or "id" not in row or "text" not in row:
            raise ValueError("expected {'id', 'text', 'themes'}")
        return Labelled(str(row["id"]), row["text"], set(row.get("themes", [])))

    return read_jsonl(path, parse)


def score_items(tagger: ThemeTagger, items: list[Labelled]) -> list[dict[str, ThemeScore]]:
    texts = [item.text for item in items]
    sentences = [tagger.sentences_of(doc) for doc in analyse(texts)]
    vectors, sentence_vectors, tokens = tagger.embed(texts, sentences)
    return tagger.score(texts, sentences, sentence_vectors, vectors, tokens=tokens)


def evaluate_file(tagger: ThemeTagger, path: Path, calibrate: bool = False) -> dict:
    """Score a labelled file; with `calibrate`, first choose and save thresholds on it."""
    items = read_labelled(path)
    scores = score_items(tagger, items)
    gold = [item.themes for item in items]
    ids = tagger.taxonomy.ids
    if calibrate:
        tagger.calibration = calibrate_thresholds(ids, gold, scores, tagger.calibration.gate)
        tagger.calibration.save(CALIBRATION_FILE, {
            "taxonomy_version": tagger.version,
            "development_set": f"{path.name} sha256:{hashlib.sha256(path.read_bytes()).hexdigest()[:16]}",
        })
        if all(theme.source == "built-in" for theme in tagger.taxonomy.themes):
            tagger.classifier.save(SHIPPED_DIR / f"theme_classifier-{fingerprint(tagger.taxonomy)}.npz")
    result = report(ids, gold, [predicted(s, tagger.calibration) for s in scores])
    result["cross_validated_macro_f1"] = cross_validated(ids, gold, scores, tagger.calibration.gate)["macro_f1"]
    result["taxonomy_version"] = tagger.version
    result["thresholds"] = tagger.calibration.source
    return result


def predicted(scores: dict[str, ThemeScore], calibration: Calibration) -> set[str]:
    return {t for t, s in scores.items()
            if s.score >= calibration.threshold(t) and s.gate >= calibration.gate and not s.naming_only}


def report(theme_ids: list[str], gold: list[set[str]], pred: list[set[str]]) -> dict:
    per_theme = {}
    tp_all = fp_all = fn_all = 0
    for theme in theme_ids:
        tp = sum(1 for g, p in zip(gold, pred) if theme in g and theme in p)
        fp = sum(1 for g, p in zip(gold, pred) if theme not in g and theme in p)
        fn = sum(1 for g, p in zip(gold, pred) if theme in g and theme not in p)
        tp_all, fp_all, fn_all = tp_all + tp, fp_all + fp, fn_all + fn
        if tp + fn == 0:
            continue  # the file has no gold example of this theme: nothing to measure
        per_theme[theme] = {**_prf(tp, fp, fn), "support": tp + fn}
    macro = float(np.mean([m["f1"] for m in per_theme.values()])) if per_theme else 0.0
    return {"themes": per_theme, "micro": _prf(tp_all, fp_all, fn_all), "macro_f1": round(macro, 4), "items": len(gold)}


def calibrate_thresholds(theme_ids: list[str], gold: list[set[str]], scores: list[dict[str, ThemeScore]],
                         gate: float = 0.0) -> Calibration:
    """Choose each theme's threshold to maximise F1, shrunk towards the best global threshold; the
    finding gate's cut stays as given."""
    def f1_at(theme, t, idx):
        tp = fp = fn = 0
        for i in idx:
            s = scores[i].get(theme)
            hit = s is not None and s.score >= t and s.gate >= gate and not s.naming_only
            tp += hit and theme in gold[i]
            fp += hit and theme not in gold[i]
            fn += (not hit) and theme in gold[i]
        return 2 * tp / (2 * tp + fp + fn) if tp else 0.0

    idx = range(len(gold))
    global_t = max(GRID, key=lambda t: np.mean([f1_at(th, t, idx) for th in theme_ids]))
    thresholds = {}
    for theme in theme_ids:
        if not any(theme in g for g in gold):
            continue
        best = max(GRID, key=lambda t: (f1_at(theme, t, idx), -abs(t - global_t)))
        thresholds[theme] = float(SHRINK * best + (1 - SHRINK) * global_t)
    return Calibration(thresholds=thresholds, default=float(global_t), source="calibrated", gate=gate)


def cross_validated(theme_ids, gold, scores, gate: float = 0.0, seed: int = 13) -> dict:
    """Macro-F1 with thresholds chosen on the other folds: what to expect on unseen text."""
    order = list(range(len(gold)))
    random.Random(seed).shuffle(order)
    pred: list[set[str]] = [set()] * len(gold)
    for k in range(FOLDS):
        test = order[k::FOLDS]
        train = [i for i in order if i not in set(test)]
        cal = calibrate_thresholds(theme_ids, [gold[i] for i in train], [scores[i] for i in train], gate)
        for i in test:
            pred[i] = predicted(scores[i], cal)
    return report(theme_ids, gold, pred)


def _prf(tp: int, fp: int, fn: int) -> dict:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(f, 4)}
