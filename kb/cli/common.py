"""Helpers shared by the `scrkb` commands."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import click

from kb.cli.groups import KB_HELP, group_kb_dir
from kb.knowledge_base import KnowledgeBase
from kb.settings import Settings
from kb.store.vectors import VectorStoreUnavailable

EXIT_SOME_FAILED = 3

kb_dir_option = click.option(
    "--kb", "kb_dir", type=click.Path(file_okay=False, path_type=Path), default=None, help=KB_HELP,
    callback=lambda ctx, _param, value: value if value is not None else group_kb_dir(ctx),
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
