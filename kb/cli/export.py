"""`scrkb export ...`: research outputs as CSV, JSON or Excel, each with the record of what it rests on."""

from __future__ import annotations

import functools
import sys
from pathlib import Path

import click

from kb.cli.groups import main
from kb.cli.common import with_kb
from kb.knowledge_base import KnowledgeBase

BY = {"document": "document", "case": "case", "year": "year", "incident-year": "incident_year", "type": "type",
      "nation": "nation"}


@main.group()
def export():
    """Research outputs: theme counts with their evidence, co-occurrence, trends, chronologies, codebooks.

    CSV goes with FILE.meta.json (the counting rules, taxonomy, corpus and versions);
    JSON carries the same in its "about" object; Excel in an "About these numbers" sheet.
    """


def rules_options(command):
    """--min-score, --include-names, --unit and --reviewed-only, turned into one CountingRules argument."""

    @click.option("--min-score", type=click.FloatRange(0, 1), default=0.0, show_default=True,
                  help="Count a tag only when its score is at least this.")
    @click.option("--include-names", is_flag=True,
                  help="Also count passages that only name a theme, not only those showing it.")
    @click.option("--unit", type=click.Choice(["passages", "documents"]), default="passages", show_default=True,
                  help="What wide tables, co-occurrence and trends count.")
    @click.option("--reviewed-only", is_flag=True,
                  help="Count only tags a reviewer confirmed or added (`scrkb review`).")
    @functools.wraps(command)
    def wrapper(min_score, include_names, unit, reviewed_only, **kwargs):
        from kb.research.analytics import CountingRules

        rules = CountingRules(min_score=min_score, kinds="shows+names" if include_names else "shows", unit=unit,
                              reviewed_only=reviewed_only)
        return command(rules=rules, **kwargs)

    return wrapper


def output_options(command):
    @click.option("--format", "fmt", type=click.Choice(["csv", "json", "xlsx"]), default="csv", show_default=True)
    @click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
                  help="File to write (CSV also gets FILE.meta.json); else standard output.")
    @click.option("--table", default=None, help="For CSV: which of the output's tables to write (default the first).")
    @functools.wraps(command)
    def wrapper(**kwargs):
        return command(**kwargs)

    return wrapper


def _write(kb: KnowledgeBase, analysis, fmt: str, out: Path | None, table: str | None) -> None:
    from kb.research.analytics import AnalyticsError
    from kb.research.exports import render

    if fmt == "xlsx" and out is None:
        raise click.UsageError("--format xlsx needs --out FILE.")
    try:
        data, meta = render(kb, analysis, fmt, table)
    except AnalyticsError as exc:
        raise click.BadParameter(str(exc), param_hint="--table") from None
    if out is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        if meta is not None:
            click.echo("note: the record of what these numbers rest on is written only with --out FILE "
                       "(as FILE.meta.json)", err=True)
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    written = [str(out)]
    if meta is not None:
        meta_path = out.with_name(out.name + ".meta.json")
        meta_path.write_bytes(meta)
        written.append(str(meta_path))
    click.echo(f"wrote {' and '.join(written)}", err=True)


def _analysis(call):
    from kb.research.analytics import AnalyticsError

    try:
        return call()
    except AnalyticsError as exc:
        raise click.BadParameter(str(exc)) from None


@export.command("counts")
@click.option("--by", type=click.Choice(list(BY)), default="document", show_default=True)
@rules_options
@output_options
@with_kb
def counts(kb: KnowledgeBase, by, rules, fmt, out, table):
    """Theme counts by document, case, year, incident year, review type or nation.

    Tables: counts (long: one row per group and theme), matrix (group x theme, in --unit)
    and binary (group x theme, 1 when any document in the group shows the theme).
    """
    from kb.research import analytics

    _write(kb, _analysis(lambda: analytics.counts(kb, BY[by], rules)), fmt, out, table)


@export.command("prevalence")
@rules_options
@output_options
@with_kb
def prevalence(kb: KnowledgeBase, rules, fmt, out, table):
    """Each theme across the store: documents and passages showing it, with the totals."""
    from kb.research import analytics

    _write(kb, analytics.prevalence(kb, rules), fmt, out, table)


@export.command("evidence")
@click.option("--theme", required=True, help="Theme id (see `scrkb export codebook` or the Themes page).")
@click.option("--case", default=None, help="Only passages from this case.")
@rules_options
@output_options
@with_kb
def evidence(kb: KnowledgeBase, theme, case, rules, fmt, out, table):
    """The passages behind a theme's count: document, page, score, kind and evidence sentences."""
    from kb.research import analytics

    _write(kb, _analysis(lambda: analytics.evidence(kb, theme, rules, case=case)), fmt, out, table)


@export.command("cooccurrence")
@rules_options
@output_options
@with_kb
def cooccurrence(kb: KnowledgeBase, rules, fmt, out, table):
    """Theme pairs across documents and across passages: counts, Jaccard and lift (--unit's table first)."""
    from kb.research import analytics

    _write(kb, analytics.cooccurrence(kb, rules), fmt, out, table)


@export.command("trends")
@click.option("--basis", type=click.Choice(["published", "incident"]), default="published", show_default=True,
              help="Year of publication or of the incident.")
@click.option("--span", type=click.IntRange(1, 50), default=1, show_default=True, help="Years per period.")
@rules_options
@output_options
@with_kb
def trends(kb: KnowledgeBase, basis, span, rules, fmt, out, table):
    """Prevalence of each theme by year, with the documents and passages of each year."""
    from kb.research import analytics

    _write(kb, _analysis(lambda: analytics.trends(kb, rules, basis=basis, span=span)), fmt, out, table)


@export.command("coded")
@rules_options
@output_options
@with_kb
def coded(kb: KnowledgeBase, rules, fmt, out, table):
    """Every coded passage (passage, document, page, code, text, evidence) for NVivo or ATLAS.ti."""
    from kb.research import analytics

    _write(kb, analytics.evidence(kb, None, rules), fmt, out, table)


@export.command("chronology")
@click.argument("doc_id", required=False)
@click.option("--years-before", type=click.IntRange(0, 20), default=1, show_default=True,
              help="Without DOC_ID: how many years before the incident's year to look.")
@output_options
@with_kb
def chronology(kb: KnowledgeBase, doc_id, years_before, fmt, out, table):
    """A document's multi-agency chronology (events, and each agency's first and last contact).

    Without DOC_ID: which agencies appear most often before the incident, across the store.
    """
    from kb.research import chronology as chronologies
    from kb.research.exports import before_incident_analysis, chronology_analysis

    if doc_id is None:
        analysis = before_incident_analysis(chronologies.agencies_before_incident(kb, years_before))
    else:
        try:
            analysis = chronology_analysis(chronologies.chronology(kb, doc_id))
        except KeyError:
            raise click.ClickException(f"No document with id {doc_id!r} in {kb.settings.home}.") from None
    _write(kb, analysis, fmt, out, table)


@export.command("codebook")
@click.option("--format", "fmt", type=click.Choice(["qdc"]), default="qdc", show_default=True,
              help="REFI-QDA codebook exchange format.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None)
@with_kb
def codebook(kb: KnowledgeBase, fmt, out):
    """The theme taxonomy as a REFI-QDA codebook, for NVivo, ATLAS.ti, MAXQDA and others."""
    from kb.research.exports import codebook_qdc

    data = codebook_qdc(kb.tagger.taxonomy)
    if out is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    else:
        out.write_bytes(data)
        click.echo(f"wrote {out}", err=True)
