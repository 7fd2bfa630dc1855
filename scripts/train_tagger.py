"""Train the theme tagger on labelled real review passages and measure it: the files it writes ship in kb/data.

    python scripts/train_tagger.py FILE.jsonl [FILE.jsonl ...] [--extra tests/data/themes_dev.jsonl]
                                   [--describe TEXT] [--trained-on TEXT] [--folds 5] [--seed 13]

Each FILE holds labelled passages, one JSON object per line: {"id", "text", "themes", "report"}
("themes" are the ids the passage shows; "report" groups a report's passages, which are never split
between training and testing). --extra files hold passages the team wrote ({"id", "text", "themes"}),
trained on at a lower weight and measured separately. Real review text is not committed: the project's sets are rebuilt
locally from text-free manifests (see ../shared/README.md and docs/themes.md).

Writes kb/data/theme_model.npz (the model fitted on every passage), kb/data/theme_calibration.yaml
(thresholds and finding-gate cut chosen on out-of-fold predictions) and kb/data/theme_quality.yaml
(per-theme precision, recall and true-count factors from nested grouped cross-validation), and prints
micro and macro F1 and the over-tagging rate of those held-out predictions.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kb import KnowledgeBase, Settings  # noqa: E402
from kb.themes.calibration import CALIBRATION_FILE  # noqa: E402
from kb.themes.classifier import SHIPPED_DIR, fingerprint  # noqa: E402
from kb.themes.model import MODEL_FILE  # noqa: E402
from kb.themes.quality import QUALITY_FILE  # noqa: E402
from kb.themes.quality_measure import (  # noqa: E402
    measure_predictions, merge_similar_reports, quality_record, read_grouped, write_quality,
)
from kb.themes.training import cross_validated, prepare, train  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--extra", type=Path, action="append", default=[], help="team-written labelled passages")
    parser.add_argument("--describe", default="", help="the evaluation set, in words, for the quality file")
    parser.add_argument("--trained-on", default="", help="the training set, in words, for the model and calibration "
                        "(default: --describe; they differ when --measure-on leaves files out of the figures)")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=13, help="how reports are dealt into folds (to see the spread)")
    parser.add_argument("--quality", type=Path, default=None, help="where to write the quality file")
    parser.add_argument("--measure-on", type=Path, action="append", default=[],
                        help="measure the quality file on these of FILES only (default: all); the others still "
                             "train and choose thresholds")
    parser.add_argument("--measure-only", action="store_true",
                        help="print the cross-validated figures and write nothing (to compare embedding backends)")
    args = parser.parse_args()
    items = merge_similar_reports([item for path in args.files for item in read_grouped(path)])
    sources = [path.name for path in args.files for _ in read_grouped(path)]
    names = {path.name for path in args.measure_on} or set(sources)
    if names - set(sources):  # checked before the hour of training, not after
        parser.error(f"--measure-on {', '.join(sorted(names - set(sources)))}: not among the FILES trained on")
    extra = [item for path in args.extra for item in read_grouped(path, "id")]
    kb = KnowledgeBase(Settings.load(home=Path("/tmp/scrkb-train-home")))
    tagger = kb.tagger
    data = prepare(tagger, items, extra)
    predictions = cross_validated(data, real=True, folds=args.folds, seed=args.seed)
    real = data.rows(True)
    measured = real[[source in names for source in sources]]  # real text comes first in data, in FILES order
    gold = [set(items[i].themes) for i in measured]
    pred = [{t for t, hit in zip(data.theme_ids, row) if hit} for row in predictions[measured]]
    groups = [items[i].group for i in measured]
    describe = args.describe or "labelled real review passages"  # the note adds how many, from how many reports
    method = (f"nested grouped {args.folds}-fold cross-validation by report: each fold predicted by a model, "
              "stackers, thresholds and finding-gate cut fitted without it")
    if not args.measure_only:
        write_quality(args.quality or QUALITY_FILE, quality_record(
            measure_predictions(data.theme_ids, gold, pred, groups), taxonomy_version=tagger.version,
            evaluation_set=describe, reports=len(set(groups)), passages=len(measured), method=method))
    figures = {"real": summary(predictions[real], data.gold[real])}
    if args.measure_on:
        figures["measured"] = summary(predictions[measured], data.gold[measured])
    for name in sorted(set(sources)):
        rows = real[np.array(sources) == name]
        figures[name] = summary(predictions[rows], data.gold[rows])
    if extra:
        extra_rows = data.rows(False)
        figures["extra"] = summary(cross_validated(data, real=False, folds=args.folds, seed=args.seed)[extra_rows], data.gold[extra_rows])
    if not args.measure_only:
        trained_on = args.trained_on or describe
        model, calibration = train(tagger, data, trained_on, args.folds)
        model.save(MODEL_FILE)
        # Ship the taxonomy classifier too, so a new install does not train it on first use.
        for old in SHIPPED_DIR.glob("theme_classifier-*.npz"):
            old.unlink()
        tagger.classifier.save(SHIPPED_DIR / f"theme_classifier-{fingerprint(tagger.taxonomy)}.npz")
        calibration.save(CALIBRATION_FILE, {"taxonomy_version": tagger.version, "trained_on": trained_on},
                         header="# Thresholds and finding-gate cut chosen on out-of-fold predictions by scripts/train_tagger.py.")
    print(json.dumps(figures, indent=1))


def summary(predictions, gold) -> dict:
    tp = int((predictions & gold).sum())
    fp = int((predictions & ~gold).sum())
    fn = int((~predictions & gold).sum())
    f1 = [2 * int((predictions[:, t] & gold[:, t]).sum()) / max(1, int(predictions[:, t].sum() + gold[:, t].sum()))
          for t in range(gold.shape[1]) if gold[:, t].sum() >= 5]
    none = ~gold.any(axis=1)
    return {"micro_precision": round(tp / max(1, tp + fp), 3), "micro_recall": round(tp / max(1, tp + fn), 3),
            "micro_f1": round(2 * tp / max(1, 2 * tp + fp + fn), 3), "macro_f1_5": round(sum(f1) / max(1, len(f1)), 3),
            "themes_in_macro": len(f1), "overtagging": round(float(predictions[none].any(axis=1).mean()), 3)}


if __name__ == "__main__":
    main()
