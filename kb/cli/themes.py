"""Theme commands: tag raw text, retag the store, evaluate and calibrate the tagger."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path

import click

from kb.cli.groups import evaluate, main
from kb.cli.common import emit, with_kb, writing
from kb.knowledge_base import KnowledgeBase
from kb.themes.subject import child_present


def theme_json(kb: KnowledgeBase, matches) -> list[dict]:
    taxonomy = kb.tagger.taxonomy
    return [
        {
            "id": m.theme_id,
            "label": taxonomy.get(m.theme_id).label if taxonomy.get(m.theme_id) else m.theme_id,
            "score": m.score,
            "kind": m.kind,
            "evidence": [asdict(e) for e in m.evidence],
        }
        for m in matches
    ]


@main.command()
@click.argument("source", default="-", type=click.File("r", encoding="utf-8"))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--jsonl", "jsonl", is_flag=True, help='SOURCE holds one {"id", "text"} object a line.')
@with_kb
def tag(kb: KnowledgeBase, source, as_json, jsonl):
    """Tag text (a file, or - for standard input) with themes and entities."""
    from kb.nlp.spacy_pipeline import entities_of

    if jsonl:
        rows = [_jsonl_row(line, n) for n, line in enumerate(source, start=1) if line.strip()]
        themes, _ = kb.tagger.tag_texts([r["text"] for r in rows])
        for row, found in zip(rows, themes):
            click.echo(json.dumps({"id": row["id"], "themes": theme_json(kb, found)}, ensure_ascii=False))
        return
    text = source.read()
    [found], [doc] = kb.tagger.tag_texts([text], child_present=child_present([text]))
    data = {"themes": theme_json(kb, found), "entities": [asdict(e) for e in entities_of(doc)],
            "taxonomy_version": kb.tagger.version}
    if as_json:
        emit(data)
        return
    for theme in data["themes"]:
        click.echo(f"{theme['kind']:>5}  {theme['score']:.2f}  {theme['label']}")
        for evidence in theme["evidence"]:
            click.echo(f"         “{evidence['text']}”")


def _jsonl_row(line: str, n: int) -> dict:
    try:
        row = json.loads(line)
        return {"id": row["id"], "text": str(row["text"])}
    except (ValueError, KeyError, TypeError) as exc:
        raise click.ClickException(f"line {n}: expected a JSON object with 'id' and 'text' ({exc})") from None


@main.command()
@with_kb
def retag(kb: KnowledgeBase):
    """Re-tag every stored passage after the taxonomy or the tagger's model changed (no re-extraction; search vectors kept)."""
    from tqdm import tqdm

    bar = tqdm(total=kb.stats()["passages"], unit="passage", disable=not sys.stderr.isatty(), file=sys.stderr)
    with writing(kb.settings.home, "scrkb retag"):
        report = kb.retag(on_batch=bar.update)
    bar.close()
    emit(report)


@evaluate.command("themes")
@click.argument("path", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True)
@click.option("--calibrate", is_flag=True,
              help="Choose per-theme thresholds on this file (or on the reviews) and save them.")
@click.option("--quality", is_flag=True,
              help="Measure the tagger by grouped cross-validation and write the quality file shown beside counts.")
@click.option("--group-by", default="report", show_default=True,
              help="With --quality: the JSONL field naming each passage's report, or id-prefix=N.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="With --quality: where to write (default kb/data/theme_quality.yaml).")
@click.option("--describe", default=None, help="With --quality: one sentence saying what the labelled set is.")
@click.option("--from-reviews", is_flag=True, help="Evaluate on this store's reviewed tags instead of a file.")
@with_kb
def eval_themes(kb: KnowledgeBase, path, as_json, calibrate, quality, group_by, out, describe, from_reviews):
    """Per-theme precision, recall and F1 of the tagger on a labelled JSONL file, or on the store's reviews."""
    if from_reviews == (path is not None):
        raise click.UsageError("Give a labelled JSONL file, or --from-reviews, not both or neither.")
    if quality and (from_reviews or calibrate):
        raise click.UsageError("--quality measures on a labelled file with thresholds chosen per fold; it does not "
                               "go with --from-reviews or --calibrate.")
    if quality:
        from kb.cli.quality import measure_command

        measure_command(kb, path, group_by, out, describe, as_json)
        return
    try:
        if from_reviews:
            from kb.knowledge_base import REVIEW_CALIBRATION
            from kb.themes.review_eval import evaluate_reviews

            result = evaluate_reviews(kb.catalogue, kb.tagger, calibrate,
                                      save_to=kb.settings.home / REVIEW_CALIBRATION if calibrate else None)
        else:
            from kb.themes.evaluate import evaluate_file

            result = evaluate_file(kb.tagger, path, calibrate=calibrate)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        emit(result)
        return
    _print_scores(result)
    if from_reviews:
        _print_review_summary(result)
    else:
        click.echo(f"macro F1 {result['macro_f1']:.3f} on {result['items']} passages "
                   f"(cross-validated thresholds: {result['cross_validated_macro_f1']:.3f})")


def _print_scores(result: dict) -> None:
    click.echo(f"{'theme':<28} {'P':>6} {'R':>6} {'F1':>6} {'n':>4}")
    for theme, m in result["themes"].items():
        click.echo(f"{theme:<28} {m['precision']:>6.3f} {m['recall']:>6.3f} {m['f1']:>6.3f} {m['support']:>4}")
    micro = result["micro"]
    click.echo(f"{'micro':<28} {micro['precision']:>6.3f} {micro['recall']:>6.3f} {micro['f1']:>6.3f}")


def _print_review_summary(result: dict) -> None:
    skipped = result["skipped"]
    click.echo(f"macro F1 {result['macro_f1']:.3f} on {result['reviewed_tags']} reviewed tags "
               f"(left out: {skipped['removed_passages']} of removed passages, "
               f"{skipped['unknown_themes']} of themes no longer in the taxonomy)")
    if "recalibrated" not in result:
        return
    if not result["recalibrated"]:
        click.echo(f"No threshold changed: {result['not_recalibrated']}.")
        return
    click.echo("recalibrated: " + ", ".join(f"{t} {v:.3f}" for t, v in result["recalibrated"].items()))
    click.echo(f"micro F1 after, on the same reviews: {result['after_in_sample']['micro']['f1']:.3f}")
    if "after_cross_validated_by_report" in result:
        click.echo("micro F1 after, thresholds cross-validated by report: "
                   f"{result['after_cross_validated_by_report']['micro']['f1']:.3f}")
    click.echo(f"saved to {result['saved_to']}; run `scrkb retag` to apply the thresholds to stored tags.")


@main.command()
@click.option("--min-size", type=click.IntRange(2, 1000), default=5, show_default=True,
              help="Fewest passages that make a topic.")
@click.option("--json", "as_json", is_flag=True)
@with_kb
def discover(kb: KnowledgeBase, min_size, as_json):
    """Find recurring topics that the theme taxonomy does not cover."""
    from kb.themes.discover import discover as find_clusters

    clusters = find_clusters(kb.catalogue, min_size=min_size)
    if as_json:
        emit({"taxonomy_version": kb.tagger.version, "min_size": min_size, "clusters": [asdict(c) for c in clusters]})
        return
    if not clusters:
        click.echo("No recurring topics found; try a smaller --min-size.")
    labels = {t.id: t.label for t in kb.tagger.taxonomy.themes}
    for c in clusters:
        state = f"mostly {labels.get(c.covered_by, c.covered_by)}" if c.covered_by else "not covered by a theme"
        click.echo(f"\nTopic {c.id}: {c.size} passages, {state}")
        click.echo(f"  distinctive terms: {', '.join(c.terms)}")
        if c.themes:
            click.echo("  overlaps: " + ", ".join(f"{labels.get(t, t)} {share:.0%}" for t, share in c.themes.items()))
        for p in c.passages:
            click.echo(f"  - {p['title']} ({p['year'] or 'n.d.'}), p. {p['page']}: {p['text'][:160]}...")
