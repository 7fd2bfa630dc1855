"""Keeping a store for years: `scrkb migrate`, `scrkb backup`, `scrkb restore`."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from kb import __version__
from kb.cli.common import emit, kb_dir_option, open_kb, store_errors, writing
from kb.cli.groups import main
from kb.settings import Settings
from kb.store.backup import stage_restore, write_backup
from kb.store.catalogue import Catalogue
from kb.store.migrations import plan_file


@main.command()
@click.option("--dry-run", is_flag=True, help="Say what migrating would do, and change nothing.")
@kb_dir_option
def migrate(kb_dir, dry_run):
    """Bring a store made by an older scrkb to this version's schema, after copying its catalogue.

    Any command that opens an older store migrates it too; this does it on its own,
    or (--dry-run) only says what it would do.
    """
    settings = Settings.load(home=kb_dir)
    with store_errors(settings.home):
        plan = plan_file(settings.catalogue_db)
        if dry_run or not plan.steps:
            click.echo(plan.describe())
            return
        with writing(settings.home, "scrkb migrate"):
            migrated = Catalogue(settings.catalogue_db).migrated
    click.echo(migrated.message() if migrated else plan_file(settings.catalogue_db).describe())


@main.command()
@click.argument("archive", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--with-accounts", is_flag=True,
              help="Include the accounts and the audit log (password hashes leave the machine with the archive).")
@click.option("--json", "as_json", is_flag=True, help="Print the manifest as JSON.")
@kb_dir_option
def backup(archive, with_accounts, as_json, kb_dir):
    """Write the store to one archive (.tar, or .tar.gz to compress it), safely while it is served and ingested into.

    The vector index is left out: `scrkb restore` rebuilds it from the catalogue.
    """
    settings = Settings.load(home=kb_dir)
    with store_errors(settings.home):
        manifest = write_backup(settings.home, archive, with_accounts, __version__)
    if as_json:
        emit(manifest)
        return
    click.echo(f"Backed up {manifest['documents']} document(s) ({manifest['passages']} passages, schema "
               f"{manifest['schema_version']}) {'and the accounts ' if with_accounts else ''}to {archive}.")


@main.command()
@click.argument("archive", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace the catalogue and indexes of a store folder that is not empty.")
@click.option("--json", "as_json", is_flag=True, help="Print the outcome as JSON.")
@kb_dir_option
def restore(archive, force, as_json, kb_dir):
    """Restore a backup into --kb DIR, rebuild its vector index, and check it (exit 1 if it is not consistent).

    Every member is checked against the archive's manifest first: a damaged archive
    changes nothing. The folder must be empty unless --force.
    """
    settings = Settings.load(home=kb_dir)
    with store_errors(settings.home):
        outcome = restore_store(settings, archive, force)
    if as_json:
        emit(outcome)
    else:
        check = outcome["check"]
        click.echo(f"Restored {outcome['documents']} document(s) from {archive} into {settings.home}; rebuilt "
                   f"{outcome['vectors_rebuilt']} documents' vectors; check: {check['passages']} passages, "
                   f"{check['vectors']} vectors, {'consistent' if check['consistent'] else 'NOT consistent'}.")
    if not outcome["check"]["consistent"]:
        sys.exit(1)


def restore_store(settings: Settings, archive: Path, force: bool) -> dict:
    """Verify and unpack the archive, install it under the write lock, rebuild the derived indexes, check."""
    staged = stage_restore(archive, settings.home, force)
    try:
        with writing(settings.home, "scrkb restore"):
            staged.install(settings.home)
            kb = open_kb(settings)  # migrates a catalogue of an older schema
            rebuilt = kb.rebuild_derived()
            report = kb.check()
    finally:
        staged.discard()
    return {
        "archive": str(archive), "made_by": staged.manifest["scrkb_version"], "created": staged.manifest["created"],
        "schema_version": staged.manifest["schema_version"], "documents": kb.stats()["documents"],
        "accounts": "accounts.sqlite3" in staged.manifest["members"],
        "migrated": kb.catalogue.migrated.message() if kb.catalogue.migrated else None,
        "vectors_rebuilt": rebuilt["documents_reindexed"],  # and their keyword rows
        "check": {key: report[key] for key in ("consistent", "passages", "vectors", "index")},
    }
