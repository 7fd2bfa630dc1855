"""The `scrkb` command group and its `eval` subgroup, which every command module adds to."""

from pathlib import Path

import click

# The store may be named before the command (`scrkb --kb DIR stats`) or after it
# (`scrkb stats --kb DIR`); the one after the command wins when both are given.
KB_HELP = "Knowledge base directory (else $SCRKB_HOME, else var/kb in the checkout)."


@click.group()
@click.version_option(package_name="scrkb")
@click.option("--kb", "kb_dir", type=click.Path(file_okay=False, path_type=Path), default=None, help=KB_HELP)
def main(kb_dir):
    """scrkb: a knowledge base of serious case reviews and inquiries."""


def group_kb_dir(ctx: click.Context) -> Path | None:
    """The `--kb` given before the command, if any."""
    return ctx.find_root().params.get("kb_dir")


@main.group("eval")
def evaluate():
    """Measure the tagger or search on a labelled file."""
