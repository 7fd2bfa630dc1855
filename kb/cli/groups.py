"""The `scrkb` command group and its `eval` subgroup, which every command module adds to."""

import click


@click.group()
@click.version_option(package_name="scrkb")
def main():
    """scrkb: a knowledge base of serious case reviews and inquiries."""


@main.group("eval")
def evaluate():
    """Measure the tagger or search on a labelled file."""
