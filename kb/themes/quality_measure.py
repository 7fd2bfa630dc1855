"""Measure the tagger for kb/data/theme_quality.yaml: grouped cross-validation, per-theme
precision, recall and F1, and a bootstrap interval for each theme's true-count factor.

Passages of one report are not independent, so folds and bootstrap resamples are
drawn by report (or another group), never by passage. Thresholds are chosen on the
training folds with `calibrate_thresholds`, so every prediction is made at
thresholds that never saw it. The core (`measure_predictions`) takes predictions made
any way at all, so a tagger trained per fold can be measured by the same code.
"""

from __future__ import annotations

import json
import random
import re
from collections import Counter
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

import numpy as np
import yaml

from kb.nlp.text import read_jsonl
from kb.themes.evaluate import calibrate_thresholds, predicted, score_items
from kb.themes.quality import DEFAULT_FLOOR, MIN_SUPPORT
from kb.themes.tagger import ThemeScore, ThemeTagger

FOLDS = 5
RESAMPLES = 2000
SEED = 13
HEADER = "# Measured by scripts/train_tagger.py or `scrkb eval themes --quality`, not edited by hand.\n"
ESTIMATOR = ("estimated true count = tagged passages × precision ÷ recall; 95% interval from {resamples:,} "
             "bootstrap resamples of the evaluation set's {groups}")


@dataclass
class GroupedItem:
    id: str
    text: str
    themes: set[str]
    group: str


def read_grouped(path: Path, group_by: str = "report") -> list[GroupedItem]:
    """Labelled passages with the group each belongs to: a field of the row (`report`), or
    `id-prefix=N`, the first N characters of the id (for a set whose ids encode their source)."""
    prefix = _prefix_length(group_by)

    def parse(row: dict) -> GroupedItem:
        if not isinstance(row, dict) or "id" not in row or "text" not in row:
            raise ValueError("expected {'id', 'text', 'themes', 'report'}")
        themes = row.get("themes", [])
        if not isinstance(themes, list):
            raise ValueError("'themes' must be a list of theme ids")
        if prefix is not None:
            group = str(row["id"])[:prefix]
        elif row.get(group_by) in (None, ""):
            raise ValueError(f"no {group_by!r} to group by (use --group-by id-prefix=N for a set without one)")
        else:
            group = str(row[group_by])
        return GroupedItem(str(row["id"]), str(row["text"]), {str(t) for t in themes}, group)

    return read_jsonl(path, parse)


# Words too common in report names to tell two reports apart.
GENERIC = set("""the of and in a to for on into review reviews serious case cases child children childrens safeguarding
board boards practice report reports inquiry independent learning partnership local national from with by an at summary
executive overview significant sexual exploitation abuse lscb scb council thematic briefing brief annual analysis
published publication findings lessons about after death young people concise extended rapid response statement
commentary evidence committee government protection england scotland wales northern ireland policy family families baby
babies investigation""".split())


def merge_similar_reports(items: list) -> list:
    """One group for reports whose names share two distinctive words. A report reached through several pages
    is often named several ways ("Baby Peter SCR (Haringey)", "Haringey second SCR: Peter Connelly"), and a
    report split between training and testing would flatter the figures; merging two different reports of
    one area only makes the folds stricter."""
    words = {item.group: {w for w in re.findall(r"[a-z][a-z'-]+", item.group.lower()) if len(w) > 3 and w not in GENERIC}
             for item in items}
    common = Counter(w for name_words in words.values() for w in name_words)
    parent = {name: name for name in words}

    def root(name: str) -> str:
        while parent[name] != name:
            name = parent[name]
        return name

    names = sorted(words)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            if len({w for w in words[a] & words[b] if common[w] <= 12}) >= 2:
                parent[root(a)] = root(b)
    return [replace(item, group=root(item.group)) for item in items]


def _prefix_length(group_by: str) -> int | None:
    if not group_by.startswith("id-prefix"):
        return None
    _, _, n = group_by.partition("=")
    if not n.isdigit() or int(n) < 1:
        raise ValueError(f"--group-by {group_by!r}: write id-prefix=N with N a whole number of characters")
    return int(n)


def grouped_folds(groups: list[str], k: int = FOLDS, seed: int = SEED) -> list[list[int]]:
    """Item indices in k folds, each group wholly in one fold; folds balanced by item count."""
    members: dict[str, list[int]] = {}
    for i, g in enumerate(groups):
        members.setdefault(g, []).append(i)
    if len(members) < k:
        raise ValueError(f"{len(members)} groups cannot make {k} folds: each fold needs a group of its own")
    order = sorted(members)
    random.Random(seed).shuffle(order)
    order.sort(key=lambda g: -len(members[g]))  # stable: ties keep their shuffled order
    folds: list[list[int]] = [[] for _ in range(k)]
    for g in order:  # the largest groups first, each into the smallest fold so far
        min(folds, key=len).extend(members[g])
    return [sorted(f) for f in folds]


def cross_validated_predictions(theme_ids: list[str], gold: list[set[str]], scores: list[dict[str, ThemeScore]],
                                folds: list[list[int]], gate: float = 0.0) -> list[set[str]]:
    """Each item's predicted themes at thresholds calibrated on the other folds."""
    pred: list[set[str]] = [set() for _ in gold]
    for test in folds:
        held = set(test)
        train = [i for i in range(len(gold)) if i not in held]
        calibration = calibrate_thresholds(theme_ids, [gold[i] for i in train], [scores[i] for i in train], gate)
        for i in test:
            pred[i] = predicted(scores[i], calibration)
    return pred


def _counts(theme_ids: list[str], gold: list[set[str]], pred: list[set[str]], groups: list[str]):
    """Per group and theme: (support, tagged, true positives), as an array (groups, themes, 3)."""
    names = sorted(set(groups))
    index = {g: n for n, g in enumerate(names)}
    counts = np.zeros((len(names), len(theme_ids), 3), dtype=np.int64)
    for g, p, group in zip(gold, pred, groups):
        for t, theme in enumerate(theme_ids):
            counts[index[group], t] += (theme in g, theme in p, theme in g and theme in p)
    return counts


def bootstrap_factor_intervals(counts: np.ndarray, resamples: int = RESAMPLES, seed: int = SEED):
    """95% percentile intervals of support ÷ tagged (= precision ÷ recall) over resamples of groups.

    A resample in which the theme is neither shown nor tagged says nothing and is
    left out; one in which it is shown but never tagged has an infinite factor, so
    an interval that reaches it has no upper end and is given as None.
    """
    rng = np.random.default_rng(seed)
    n_groups = counts.shape[0]
    weights = rng.multinomial(n_groups, np.full(n_groups, 1.0 / n_groups), size=resamples)  # (resamples, groups)
    totals = np.einsum("rg,gtk->rtk", weights, counts).astype(float)
    support, tagged = totals[..., 0], totals[..., 1]
    intervals = []
    for t in range(counts.shape[1]):
        s, n = support[:, t], tagged[:, t]
        keep = (s > 0) | (n > 0)
        factors = np.where(n[keep] > 0, s[keep] / np.maximum(n[keep], 1), np.inf)
        if len(factors) == 0:
            intervals.append(None)
            continue
        low, high = np.quantile(factors, [0.025, 0.975], method="inverted_cdf")
        intervals.append(None if not np.isfinite(high) else (round(float(low), 3), round(float(high), 3)))
    return intervals


def measure_predictions(theme_ids: list[str], gold: list[set[str]], pred: list[set[str]], groups: list[str],
                        resamples: int = RESAMPLES, seed: int = SEED) -> dict[str, dict]:
    """Per-theme precision, recall, F1, support, tagged, true-count factor and its interval."""
    counts = _counts(theme_ids, gold, pred, groups)
    intervals = bootstrap_factor_intervals(counts, resamples, seed)
    themes = {}
    for t, theme in enumerate(theme_ids):
        support, tagged, tp = (int(x) for x in counts[:, t].sum(axis=0))
        precision = tp / tagged if tagged else None
        recall = tp / support if support else None
        f1 = 2 * tp / (support + tagged) if support + tagged else None
        usable = tp > 0 and support >= MIN_SUPPORT
        themes[theme] = {
            "precision": _r(precision), "recall": _r(recall), "f1": _r(f1), "support": support, "tagged": tagged,
            "true_count_factor": round(support / tagged, 3) if usable else None,
            "factor_interval": list(intervals[t]) if usable and intervals[t] else None,
        }
    return themes


def quality_record(themes: dict[str, dict], *, taxonomy_version: str, evaluation_set: str, reports: int,
                   passages: int, method: str, resamples: int = RESAMPLES, grouping: str = "report",
                   floor: float = DEFAULT_FLOOR, measured: str | None = None) -> dict:
    """The quality file's content, in the order a reader meets it."""
    return {
        "taxonomy_version": taxonomy_version,
        "measured": measured or date.today().isoformat(),
        "evaluation_set": evaluation_set,
        "reports": reports,
        "passages": passages,
        "method": method,
        "estimator": ESTIMATOR.format(resamples=resamples, groups="reports" if grouping == "report" else "groups"),
        "quality_floor_f1": floor,
        "themes": themes,
    }


def measure_quality(tagger: ThemeTagger, items: list[GroupedItem], evaluation_set: str, *, folds: int = FOLDS,
                    resamples: int = RESAMPLES, seed: int = SEED, grouping: str = "report",
                    floor: float = DEFAULT_FLOOR) -> dict:
    """Score the items once, predict each at thresholds from the other folds, and measure.

    `grouping` names what the items' groups are, for the record ("report", or e.g.
    "id prefix (first 6 characters)").
    """
    theme_ids = tagger.taxonomy.ids
    unknown = sorted({t for item in items for t in item.themes} - set(theme_ids))
    if unknown:
        raise ValueError(f"themes not in the taxonomy: {', '.join(unknown)}")
    groups = [item.group for item in items]
    gold = [item.themes for item in items]
    scores = score_items(tagger, items)
    pred = cross_validated_predictions(theme_ids, gold, scores, grouped_folds(groups, folds, seed), tagger.calibration.gate)
    method = f"grouped {folds}-fold cross-validation by {grouping}; thresholds chosen on the training folds"
    return quality_record(
        measure_predictions(theme_ids, gold, pred, groups, resamples, seed), taxonomy_version=tagger.version,
        evaluation_set=evaluation_set, reports=len(set(groups)), passages=len(items), method=method,
        resamples=resamples, grouping=grouping, floor=floor,
    )


class _Pair(list):
    """An interval, written on one line as [low, high]."""


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(_Pair, lambda dumper, data: dumper.represent_sequence(
    "tag:yaml.org,2002:seq", data, flow_style=True))


def write_quality(path: Path, record: dict) -> None:
    """Write the quality file atomically, with the header that says it is measured, not edited."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    plain = json.loads(json.dumps(record))
    for theme in plain.get("themes", {}).values():
        if theme.get("factor_interval") is not None:
            theme["factor_interval"] = _Pair(theme["factor_interval"])
    text = yaml.dump(plain, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
    tmp.write_text(HEADER + text, encoding="utf-8")
    tmp.replace(path)


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 3)
