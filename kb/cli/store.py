"""Commands that build and inspect the store: ingest, fetch, stats, show, search, check, reindex."""

from __future__ import annotations

import sys
from dataclasses import asdict
from pathlib import Path

import click

from kb.cli.groups import evaluate, main
from kb.cli.common import EXIT_SOME_FAILED, emit, kb_dir_option, with_kb, writing
from kb.knowledge_base import KnowledgeBase
from kb.settings import Settings


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object.")
@click.option("--if-empty", is_flag=True, help="Do nothing when the store already holds documents.")
@click.option("--no-wait", is_flag=True, help="Stop (exit status 4) instead of waiting while another ingest writes.")
@with_kb
def ingest(kb: KnowledgeBase, paths, as_json, if_empty, no_wait):
    """Ingest PDF files and folders (recursively). Exit status 3 when some files failed.

    One ingest writes to a store at a time: a second one waits for the first, saying so.
    """
    with writing(kb.settings.home, "scrkb ingest", wait=not no_wait):
        _ingest(kb, paths, as_json, if_empty)


def _ingest(kb: KnowledgeBase, paths, as_json, if_empty) -> None:
    from tqdm import tqdm

    from ingest.pipeline import discover, ingest_paths

    if if_empty and not kb.is_empty():
        if not as_json:
            click.echo(f"The store at {kb.settings.home} already holds documents; nothing to do.")
        else:
            emit({"skipped": True, **kb.stats()})
        return
    files = discover(paths)
    bar = tqdm(total=len(files), unit="file", disable=as_json or not sys.stderr.isatty(), file=sys.stderr)

    def on_file(outcome):
        bar.set_postfix_str(Path(outcome.path).name[-40:])
        bar.update(1)

    report = ingest_paths(kb, files, on_file=on_file)
    bar.close()
    if as_json:
        emit(report.as_json())
    else:
        _print_report(report)
    if report.failed:
        sys.exit(EXIT_SOME_FAILED)


def _print_report(report) -> None:
    click.echo(
        f"ingested {report.ingested}, replaced {report.replaced}, unchanged {report.unchanged}, "
        f"failed {len(report.failed)} in {report.seconds:.1f}s"
    )
    for failure in report.failed:
        click.echo(f"  failed: {failure.path}: {failure.error}", err=True)
    for path, pages in report.needs_ocr.items():
        click.echo(f"  needs OCR (install tesseract-ocr, then re-ingest): {path}: pages {pages}", err=True)
    for path, pages in report.possible_failed_redaction.items():
        click.echo(f"  possible failed redaction (text under black boxes was left out): {path}: pages {pages}", err=True)
    if report.resumed:
        click.echo(f"  finished indexing {report.resumed} document(s) that an interrupted run had stored")
    click.echo(f"store: {report.documents} documents, {report.pages} pages, {report.passages} passages")


@main.command()
@click.option("--json", "as_json", is_flag=True)
@with_kb
def stats(kb: KnowledgeBase, as_json):
    """Show what the store holds."""
    data = kb.stats()
    if as_json:
        emit(data)
    else:
        for key, value in data.items():
            click.echo(f"{key:>10}: {value}")


@main.command()
@click.argument("query")
@click.option("-k", "k", type=click.IntRange(1, 200), default=10, show_default=True)
@click.option("--mode", type=click.Choice(["hybrid", "keyword", "semantic"]), default="hybrid", show_default=True)
@click.option("--theme", "themes", multiple=True, help="Only passages showing this theme (repeat for all of several).")
@click.option("--case", "cases", multiple=True, help="Only this case (repeatable).")
@click.option("--type", "review_types", multiple=True, help="Only this review type (repeatable).")
@click.option("--nation", "nations", multiple=True)
@click.option("--area", "areas", multiple=True)
@click.option("--agency", "agencies", multiple=True, help="Only passages naming this agency or role (canonical name).")
@click.option("--section", "sections", multiple=True, help="findings, recommendations, chronology, analysis...")
@click.option("--year-from", type=int)
@click.option("--year-to", type=int)
@click.option("--exact", is_flag=True, help="Search the words as typed: no spelling correction.")
@click.option("--json", "as_json", is_flag=True)
@with_kb
def search(kb: KnowledgeBase, query, k, mode, as_json, year_from, year_to, exact, **lists):
    """Search the passages: hybrid by default, with filters."""
    from kb.search.filters import FilterError, SearchFilters

    try:
        result = kb.search(query, k=k, mode=mode, filters=SearchFilters(year_from=year_from, year_to=year_to, **lists),
                           exact=exact)
    except FilterError as exc:
        raise click.BadParameter(str(exc)) from None
    if as_json:
        emit([asdict(h) for h in result.hits])
        return
    if result.searched_as:
        changes = ", ".join(f"{typed} → {searched}" for typed, searched in result.corrections)
        click.echo(f"Showing results for: {result.searched_as} ({changes}); add --exact to search the words as typed.")
    if result.no_match:
        click.echo("No passages match: nothing in the store is close to these words or their meaning.")
    elif not result.hits:
        click.echo("No passages matched. Try fewer words or filters, or --mode semantic.")
    else:
        click.echo(f"{'about ' if result.total_is_estimate else ''}{result.total} passages match; "
                   f"showing {result.offset + 1}-{result.offset + len(result.hits)}\n")
    for n, hit in enumerate(result.hits, 1):
        pages = f"p. {hit.page}" if hit.page == hit.page_end else f"pp. {hit.page}-{hit.page_end}"
        click.echo(f"{n}. {hit.title or Path(hit.source_path).name} ({hit.year or 'n.d.'}), {pages}")
        click.echo(f"   {hit.best_sentence or hit.text[:300]}")
        if hit.themes:
            click.echo(f"   themes: {', '.join(m.theme_id for m in hit.themes)}")
        click.echo()


@evaluate.command("search")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--baseline", "baselines", multiple=True, type=click.Choice(["bm25", "dense"]),
              help="Also run this bare baseline on the same store (repeatable): BM25 alone, or dense retrieval alone.")
@click.option("--json", "as_json", is_flag=True)
@with_kb
def eval_search(kb: KnowledgeBase, path, baselines, as_json):
    """Recall@10, MRR@10 and nDCG@10 of each search mode (and bare baselines) on graded queries."""
    from kb.search.evaluate import evaluate_search, read_queries

    try:
        queries = read_queries(path, kb.catalogue)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    result = evaluate_search(kb.searcher, queries, baselines=baselines)
    if as_json:
        emit(result)
        return
    click.echo(f"{len(queries)} queries, cut-off 10")
    click.echo(f"{'ranking':<10} {'recall@10':>10} {'MRR@10':>8} {'nDCG@10':>8}")
    for mode, m in result["modes"].items():
        click.echo(f"{mode:<10} {m['recall@10']:>10.3f} {m['mrr@10']:>8.3f} {m['ndcg@10']:>8.3f}")


@main.command()
@click.argument("doc_id")
@click.option("--json", "as_json", is_flag=True)
@with_kb
def show(kb: KnowledgeBase, doc_id, as_json):
    """Show a document's metadata and passages."""
    document = kb.document(doc_id)
    if document is None:
        raise click.ClickException(f"No document with id {doc_id!r} in {kb.settings.home}.")
    data = asdict(document)
    data["paths"] = kb.catalogue.paths_of(doc_id)
    if document.provenance:
        data["provenance"]["summary"] = document.provenance.summary
    data["passages"] = [asdict(p) for p in kb.passages(doc_id)]
    if as_json:
        emit(data)
        return
    meta = document.meta
    click.echo(f"{meta.title or document.source_path}\n{meta.review_type or ''} {meta.year_published or ''}")
    if document.provenance:
        click.echo(f"File: {document.provenance.summary}")
    for p in data["passages"]:
        click.echo(f"[p. {p['page_start']}] {p['section'] or ''}\n{p['text']}\n")


@main.command()
@click.option("--json", "as_json", is_flag=True)
@with_kb
def failures(kb: KnowledgeBase, as_json):
    """List files that were not ingested, and why."""
    rows = kb.failures()
    if as_json:
        emit(rows)
        return
    for row in rows:
        click.echo(f"{row['path']}: {row['reason']}: {row['detail']}")


@main.command()
@click.option("--json", "as_json", is_flag=True)
@with_kb
def check(kb: KnowledgeBase, as_json):
    """Check that the catalogue, the vector index and the keyword index hold the same passages (exit 1 if not)."""
    if kb.vectors.embedded:  # the embedded folder is opened by one process at a time: wait for a writer
        with writing(kb.settings.home, "scrkb check"):
            report = kb.check()
    else:
        report = kb.check()
    if as_json:
        emit(report)
    else:
        click.echo(
            f"passages {report['passages']}, vectors {report['vectors']}, "
            f"missing {len(report['missing_vectors'])}, orphans {len(report['orphan_vectors'])}, "
            f"documents pending {len(report['documents_pending'])} (index: {report['index']})"
        )
        click.echo(
            f"keyword index: {report['keyword_passages']} passages, missing {len(report['missing_keywords'])}, "
            f"orphans {report['orphan_keywords']} ({report['keyword_index']})"
        )
        if report["backend_mismatch"]:
            stored = report["stored_embedding_backends"]
            effect = ("int8 vectors are about 0.995 cosine from full precision, so search works but scores shift "
                      "slightly; ingest the reports into a new store to have one precision"
                      if "onnx-int8" in [*stored, report["embedding_backend"]]
                      else "both run the model at full precision (cosine 1.0000), so search is unchanged")
            click.echo(f"note: stored vectors were embedded with {', '.join(stored)}, queries now with "
                       f"{report['embedding_backend']}: {effect}")
        if report["orphan_reviews"]:
            click.echo(f"note: {len(report['orphan_reviews'])} tag review(s) name passages no longer in the store "
                       "(their reports were re-ingested or removed); they are kept and listed by "
                       "`scrkb review --list`, and no longer counted")
    if not report["consistent"]:
        sys.exit(1)


@main.command()
@click.option("--full", is_flag=True, help="Rewrite every vector and the whole keyword index, not only what is missing.")
@with_kb
def reindex(kb: KnowledgeBase, full):
    """Rebuild the vector and keyword indexes from the catalogue."""
    with writing(kb.settings.home, "scrkb reindex"):
        emit(kb.reindex(full=full))


@main.command()
@click.option(
    "--catalogue", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
    help="Catalogue CSV (else $SCRKB_CATALOGUE, else corpora/catalogue.csv).",
)
@click.option(
    "--dest", type=click.Path(file_okay=False, path_type=Path), default=None,
    help="Folder to download into (default: downloads/ in the store).",
)
@click.option("--only", multiple=True, metavar="ID", help="Fetch only these rows (repeat, or separate with commas).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object.")
@click.option(
    "--timeout", type=click.FloatRange(min=0, min_open=True), default=60.0, show_default=True,
    help="Seconds to wait for the server on each connect or read.",
)
@kb_dir_option
def fetch(catalogue, dest, only, as_json, timeout, kb_dir):
    """Download the catalogue's report PDFs: from each row's url, its landing page, or the Internet Archive.

    Exit status 3 when some rows failed.
    """
    # Not @with_kb: downloading needs the store's location, not an opened store.
    from tqdm import tqdm

    from kb.sources.fetch import Sources, fetch_catalogue, select_entries
    from kb.sources.report_catalogue import ReportCatalogue

    settings = Settings.load(home=kb_dir, catalogue=catalogue)
    try:
        entries = select_entries(ReportCatalogue.load(settings.catalogue), only)
    except KeyError as exc:
        raise click.BadParameter(f"not in {settings.catalogue}: {exc.args[0]}", param_hint="--only") from None
    bar = tqdm(total=len(entries), unit="report", disable=as_json or not sys.stderr.isatty(), file=sys.stderr)

    def on_progress(result):
        bar.set_postfix_str(result.id[-40:])
        bar.update(1)

    report = fetch_catalogue(
        entries, dest or settings.home / "downloads", timeout, on_progress=on_progress,
        sources=Sources(settings.govuk_api, settings.wayback_url), max_bytes=settings.max_file_mb << 20,
    )
    bar.close()
    if as_json:
        emit(report.as_json())
    else:
        _print_fetch_report(report)
    if report.of("failed"):
        sys.exit(EXIT_SOME_FAILED)


def _print_fetch_report(report) -> None:
    from collections import Counter

    from kb.sources.report_catalogue import provenance_from

    skipped = Counter(r.reason for r in report.of("skipped"))
    why = ", ".join(f"{reason}: {n}" for reason, n in sorted(skipped.items()))
    click.echo(
        f"fetched {report.count('fetched')}, unchanged {report.count('unchanged')}, "
        f"skipped {sum(skipped.values())}{f' ({why})' if why else ''}, failed {len(report.of('failed'))}"
    )
    for result in report.of("fetched"):
        if result.resolved.route != "direct":  # say where a file found by another route came from, and why
            click.echo(f"  {result.id}: {provenance_from(asdict(result.resolved)).summary}")
            if result.resolved.chosen_because:
                click.echo(f"    {result.resolved.chosen_because}")
    for failure in report.of("failed"):
        click.echo(f"  failed: {failure.id}: {failure.reason}: {failure.detail}", err=True)
    click.echo(f"files in {report.dest}; `scrkb ingest {report.dest}` takes their metadata from the catalogue")
