"""`scrkb themes quality`: how far each theme's counts can be trusted; and the measurement behind it
(`scrkb eval themes FILE --quality`)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import click

from kb.cli.common import emit, with_kb
from kb.cli.groups import main
from kb.knowledge_base import REVIEW_CALIBRATION, KnowledgeBase


@main.group()
def themes():
    """The theme tagger's measured accuracy, theme by theme."""


@themes.command("quality")
@click.option("--json", "as_json", is_flag=True)
@with_kb
def quality(kb: KnowledgeBase, as_json):
    """Precision, recall, F1 and support of each theme, and the reviewers' agreement with the tagger."""
    from kb.themes.quality import QualityError

    try:
        measured = kb.theme_quality
    except QualityError as exc:
        raise click.ClickException(str(exc)) from None
    agreement = kb.reviews.agreement()
    own = (kb.settings.home / REVIEW_CALIBRATION).exists()
    taxonomy = kb.tagger.taxonomy
    rows = [{"id": t.id, "label": t.label, **measured.of(t.id).as_dict(), "reviews": agreement.get(t.id)}
            for t in taxonomy.themes]
    note = measured.note
    if own:
        note += (f" This store tags with thresholds recalibrated on its own reviews ({REVIEW_CALIBRATION}); "
                 "the figures above were measured at the shipped thresholds.")
    if as_json:
        emit({**measured.header(), "note": note, "themes": rows})
        return
    click.echo(note)
    if measured.estimator:
        click.echo(f"Estimator: {measured.estimator}.")
    click.echo(f"Themes with F1 under {measured.quality_floor_f1:g}, or not measured, are experimental.\n")
    click.echo(f"{'theme':<28} {'P':>5} {'R':>5} {'F1':>5} {'n':>4}  {'':<12} {'reviewed':>8} {'kappa':>6}")
    for row in rows:
        measured_row = row["status"] == "measured"
        figures = [_figure(row[k]) if measured_row else "–" for k in ("precision", "recall", "f1")]
        state = "experimental" if row["experimental"] else ""
        reviews = row["reviews"] or {}
        kappa = "–" if reviews.get("kappa") is None else f"{reviews['kappa']:.2f}"
        click.echo(f"{row['id']:<28} {figures[0]:>5} {figures[1]:>5} {figures[2]:>5} {row['support']:>4}  "
                   f"{state:<12} {reviews.get('reviewed', 0):>8} {kappa:>6}")
    unmeasured = [row for row in rows if row["status"] != "measured"]
    if unmeasured and measured.applies:
        click.echo("\nNot measured: " + "; ".join(f"{row['id']} ({row['status']})" for row in unmeasured))


def _figure(value) -> str:
    return "–" if value is None else f"{value:.2f}"


def measure_command(kb: KnowledgeBase, path: Path, group_by: str, out: Path | None, describe: str | None,
                    as_json: bool) -> None:
    """`scrkb eval themes FILE --quality`: measure, write the quality file, and print what it holds."""
    from kb.themes.quality import QUALITY_FILE
    from kb.themes.quality_measure import measure_quality, read_grouped, write_quality

    try:
        items = read_grouped(path, group_by)
        digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
        grouping = "report" if group_by == "report" else f"{group_by} (the first characters of each id)"
        evaluation_set = describe or f"{path.name} ({len(items)} labelled passages, sha256:{digest})"
        record = measure_quality(kb.tagger, items, evaluation_set, grouping=grouping)
    except ValueError as exc:
        raise click.ClickException(f"{path}: {exc}") from None
    target = out or QUALITY_FILE
    write_quality(target, record)
    if as_json:
        emit({**record, "written_to": str(target)})
        return
    click.echo(f"{record['method']}; {record['reports']} groups, {record['passages']} passages")
    click.echo(f"{'theme':<28} {'P':>5} {'R':>5} {'F1':>5} {'n':>4} {'factor':>7}  interval")
    for theme, m in record["themes"].items():
        if not m["support"] and not m["tagged"]:
            continue
        low_high = m["factor_interval"]
        interval = "–" if low_high is None else f"{low_high[0]:.2f}–{low_high[1]:.2f}"
        factor = "–" if m["true_count_factor"] is None else f"{m['true_count_factor']:.2f}"
        click.echo(f"{theme:<28} {_figure(m['precision']):>5} {_figure(m['recall']):>5} {_figure(m['f1']):>5} "
                   f"{m['support']:>4} {factor:>7}  {interval}")
    click.echo(f"wrote {target}", err=True)
