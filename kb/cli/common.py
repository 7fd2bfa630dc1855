"""Helpers shared by the `scrkb` commands: opening the store, and its errors as one sentence and an exit status."""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from kb.cli.groups import KB_HELP, group_kb_dir
from kb.knowledge_base import KnowledgeBase
from kb.settings import Settings
from kb.sources.report_catalogue import CatalogueError
from kb.store.errors import StoreBusy, StoreError, StoreUnavailable, unavailable
from kb.store.vectors import VectorStoreUnavailable
from kb.store.write_lock import write_lock

EXIT_SOME_FAILED = 3
EXIT_BUSY = 4  # another process holds the store's write lock (ingest --no-wait)
EXIT_STORE = 5  # the store cannot be written or read: a full disk, a read-only folder, a damaged file

kb_dir_option = click.option(
    "--kb", "kb_dir", type=click.Path(file_okay=False, path_type=Path), default=None, help=KB_HELP,
    callback=lambda ctx, _param, value: value if value is not None else group_kb_dir(ctx),
)


class StoreProblem(click.ClickException):
    """A ClickException with its own exit status."""

    def __init__(self, message: str, exit_code: int):
        super().__init__(message)
        self.exit_code = exit_code


@contextmanager
def store_errors(home: Path | None = None) -> Iterator[None]:
    """Stop with one sentence, never a traceback, when the store or its index cannot be used."""
    try:
        yield
    except VectorStoreUnavailable as exc:
        raise click.ClickException(str(exc)) from None
    except StoreBusy as exc:
        raise StoreProblem(str(exc), EXIT_BUSY) from None
    except StoreUnavailable as exc:
        raise StoreProblem(str(exc), EXIT_STORE) from None
    except (StoreError, CatalogueError) as exc:
        raise click.ClickException(str(exc)) from None
    except OSError as exc:  # a file of the store written outside SQLite (a cache, a lock, a temporary file)
        problem = unavailable(home or "the store", exc)
        if problem is None:
            raise
        raise StoreProblem(str(problem), EXIT_STORE) from None


def open_kb(settings: Settings) -> KnowledgeBase:
    """Open the store, saying on stderr when opening it migrated its catalogue (and where the copy is)."""
    kb = KnowledgeBase(settings)
    if kb.catalogue.migrated:
        click.echo(kb.catalogue.migrated.message(), err=True)
    return kb


def writing(home: Path, what: str, wait: bool = True):
    """Hold the store's write lock for a `with` block, saying so on stderr while another writer holds it."""

    def waiting(holder: str) -> None:
        click.echo(f"{holder} is writing to the store at {home}; waiting for it to finish (Ctrl-C to stop).",
                   err=True)

    return write_lock(home, what, wait=wait, on_wait=waiting)


def with_kb(command):
    """Give a command the `--kb DIR` option and a KnowledgeBase opened on it."""

    @kb_dir_option
    @functools.wraps(command)
    def wrapper(kb_dir, **kwargs):
        settings = Settings.load(home=kb_dir)
        with store_errors(settings.home):
            return command(open_kb(settings), **kwargs)

    return wrapper


def emit(data) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))
