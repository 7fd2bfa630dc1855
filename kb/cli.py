"""The `scrkb` command line: one thin command per job over the KnowledgeBase.

This module is the composition root: the `ingest` and `serve` commands import
the ingest pipeline and the web app inside their bodies, so that kb's library
code never depends on either.
"""

from __future__ import annotations

import functools
import json
import sys
from dataclasses import asdict
from pathlib import Path

import click

from kb.knowledge_base import KnowledgeBase
from kb.settings import Settings

EXIT_SOME_FAILED = 3


def with_kb(command):
    """Give a command the `--kb DIR` option and a KnowledgeBase opened on it."""

    @click.option(
        "--kb", "kb_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
        help="Knowledge base directory (else $SCRKB_HOME, else var/kb in the checkout).",
    )
    @functools.wraps(command)
    def wrapper(kb_dir, **kwargs):
        return command(KnowledgeBase(Settings.load(home=kb_dir)), **kwargs)

    return wrapper


def emit(data) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


@click.group()
@click.version_option(package_name="scrkb")
def main():
    """scrkb: a knowledge base of serious case reviews and inquiries."""


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object.")
@click.option("--if-empty", is_flag=True, help="Do nothing when the store already holds documents.")
@with_kb
def ingest(kb: KnowledgeBase, paths, as_json, if_empty):
    """Ingest PDF files and folders (recursively). Exit status 3 when some files failed."""
    from ingest.pipeline import discover, ingest_paths
    from tqdm import tqdm

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
@click.option("--json", "as_json", is_flag=True)
@with_kb
def search(kb: KnowledgeBase, query, k, mode, as_json):
    """Search the passages."""
    hits = kb.search(query, k=k, mode=mode)
    if as_json:
        emit([asdict(h) for h in hits])
        return
    if not hits:
        click.echo("No passages matched.")
    for n, hit in enumerate(hits, 1):
        pages = f"p. {hit.page}" if hit.page == hit.page_end else f"pp. {hit.page}-{hit.page_end}"
        click.echo(f"{n}. {hit.title or Path(hit.source_path).name} ({hit.year or 'n.d.'}), {pages}")
        click.echo(f"   {hit.text[:300]}{'...' if len(hit.text) > 300 else ''}\n")


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
    data["passages"] = [asdict(p) for p in kb.passages(doc_id)]
    if as_json:
        emit(data)
        return
    meta = document.meta
    click.echo(f"{meta.title or document.source_path}\n{meta.review_type or ''} {meta.year_published or ''}")
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
    """Check that the catalogue and the vector index hold the same passages (exit 1 if not)."""
    report = kb.check()
    if as_json:
        emit(report)
    else:
        click.echo(
            f"passages {report['passages']}, vectors {report['vectors']}, "
            f"missing {len(report['missing_vectors'])}, orphans {len(report['orphan_vectors'])}, "
            f"documents pending {len(report['documents_pending'])}"
        )
    if not report["consistent"]:
        sys.exit(1)


@main.command()
@click.option("--full", is_flag=True, help="Rewrite every vector, not only the missing ones.")
@with_kb
def reindex(kb: KnowledgeBase, full):
    """Rebuild the vector index from the catalogue."""
    emit(kb.reindex(full=full))


@main.command()
@click.option("--host", default=None, help="Address to bind (default 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default 5000).")
@with_kb
def serve(kb: KnowledgeBase, host, port):
    """Serve the web app."""
    from waitress import serve as waitress_serve

    from webapp import create_app

    host = host or kb.settings.host
    port = port or kb.settings.port
    click.echo(f"scrkb serving {kb.settings.home} on http://{host}:{port}/")
    waitress_serve(create_app(kb), host=host, port=port, threads=8)
