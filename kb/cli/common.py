"""Helpers shared by the `scrkb` commands."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import click

from kb.knowledge_base import KnowledgeBase
from kb.settings import Settings
from kb.store.vectors import VectorStoreUnavailable

EXIT_SOME_FAILED = 3

kb_dir_option = click.option(
    "--kb", "kb_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
    help="Knowledge base directory (else $SCRKB_HOME, else var/kb in the checkout).",
)


def with_kb(command):
    """Give a command the `--kb DIR` option and a KnowledgeBase opened on it."""

    @kb_dir_option
    @functools.wraps(command)
    def wrapper(kb_dir, **kwargs):
        try:
            return command(KnowledgeBase(Settings.load(home=kb_dir)), **kwargs)
        except VectorStoreUnavailable as exc:
            raise click.ClickException(str(exc)) from None

    return wrapper


def emit(data) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))
