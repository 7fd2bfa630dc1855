"""Themes on coroners' reports, judged report by report: does the store say a report shows a theme when
the reference coding does? Per theme precision, recall and Cohen's kappa, and micro figures.

    python bench/pfd_themes.py [--out var/realeval] [--json]

The reports are the 218 Prevention of Future Deaths reports in ../shared/data/pfd_reports.csv, rendered
to PDF (bench/real_text.py) and ingested into a store of their own, retagged by the running tagger. A
report shows a theme when any of its passages shows it, as `scrkb export counts --by document` counts.
The reference, corpora/realtext/pfd_reports.labels.jsonl, coded every report twice, blind, under the
definitions in kb/data/themes.yaml, and settled disagreements by a third reading (docs/themes.md). It
holds labels only: the text stays in ../shared, outside the project. The tagger learnt from passages of
half the reports (bench/pfd_passages.py), so the figures are over the other half unless --all is given.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.pfd_passages import report_id, trained_reports  # noqa: E402
from bench.real_search import store_for  # noqa: E402
from bench.real_text import CHECKOUT, prepare_pfd  # noqa: E402
from kb.themes.agreement import cohen_kappa  # noqa: E402
from kb.themes.taxonomy import Taxonomy  # noqa: E402

LABELS = CHECKOUT / "corpora" / "realtext" / "pfd_reports.labels.jsonl"
# Themes coded in fewer reports than this are listed but left out of the mean kappa.
MIN_SUPPORT = 5


def reference() -> dict[str, set[str]]:
    rows = [json.loads(line) for line in LABELS.read_text(encoding="utf-8").splitlines() if line.strip()]
    return {row["id"]: set(row["themes"]) for row in rows}


def tagged(out: Path) -> tuple[dict[str, set[str]], Taxonomy]:
    """Each report's themes as the store counts them, by report id, and the running taxonomy."""
    prepare_pfd(out / "pfd")
    kb = store_for("pfd", out, "themes")
    kb.retag()  # the store may have been tagged by an earlier tagger
    found = {}
    for doc in kb.documents():
        found[report_id(doc)] = set(kb.document_themes(doc.doc_id))
    return found, kb.tagger.taxonomy


def agreement(found: dict[str, set[str]], reference: dict[str, set[str]], theme_ids: list[str]) -> dict:
    ids = sorted(reference)
    missing = [i for i in ids if i not in found]
    if missing:
        raise SystemExit(f"{len(missing)} labelled reports are not in the store (first: {missing[0]})")
    themes = {}
    for theme in theme_ids:
        pairs = [(theme in found[i], theme in reference[i]) for i in ids]
        tp = sum(a and b for a, b in pairs)
        tagged_n, support = sum(a for a, _ in pairs), sum(b for _, b in pairs)
        themes[theme] = {"support": support, "tagged": tagged_n,
                         "precision": round(tp / tagged_n, 3) if tagged_n else None,
                         "recall": round(tp / support, 3) if support else None,
                         "kappa": cohen_kappa(pairs)}
    tp = sum(len(found[i] & reference[i]) for i in ids)
    fp = sum(len(found[i] - reference[i]) for i in ids)
    fn = sum(len(reference[i] - found[i]) for i in ids)
    kappas = [t["kappa"] for t in themes.values() if t["support"] >= MIN_SUPPORT and t["kappa"] is not None]
    return {"reports": len(ids), "themes": themes,
            "micro": {"precision": round(tp / (tp + fp), 3), "recall": round(tp / (tp + fn), 3),
                      "f1": round(2 * tp / (2 * tp + fp + fn), 3)},
            "mean_kappa": round(sum(kappas) / len(kappas), 3), "mean_kappa_themes": len(kappas)}


def table(result: dict) -> str:
    lines = [f"{result['reports']} coroners' reports ({result['which']}), taxonomy {result['taxonomy_version']}",
             f"  {'theme':<28} {'coded':>5} {'tagged':>6} {'P':>5} {'R':>5} {'kappa':>6}"]
    for theme, t in result["themes"].items():
        if t["support"] or t["tagged"]:
            cells = [f"{t[k]:>5.2f}" if t[k] is not None else "    -" for k in ("precision", "recall")]
            kappa = f"{t['kappa']:>+6.2f}" if t["kappa"] is not None else "     -"
            lines.append(f"  {theme:<28} {t['support']:>5} {t['tagged']:>6} {cells[0]} {cells[1]} {kappa}")
    m = result["micro"]
    lines.append(f"micro P {m['precision']:.3f} R {m['recall']:.3f} F1 {m['f1']:.3f}; mean kappa "
                 f"{result['mean_kappa']:.3f} over the {result['mean_kappa_themes']} themes coded in {MIN_SUPPORT}+ reports")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=CHECKOUT / "var" / "realeval")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--all", action="store_true", help="include the reports the tagger learnt from")
    args = parser.parse_args()
    found, taxonomy = tagged(args.out)
    learnt = set() if args.all else trained_reports()
    coded = {rid: themes for rid, themes in reference().items() if rid not in learnt}
    which = "all" if not learnt else "not trained on"
    result = {"taxonomy_version": taxonomy.version, "which": which, **agreement(found, coded, taxonomy.ids)}
    print(json.dumps(result) if args.json else table(result))


if __name__ == "__main__":
    main()
