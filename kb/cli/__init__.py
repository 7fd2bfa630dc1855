"""The `scrkb` command line: one thin command per job over the KnowledgeBase.

This package is the composition root: the `ingest` and `serve` commands import
the ingest pipeline and the web app inside their bodies, so that kb's library
code never depends on either.
"""

import click


@click.group()
@click.version_option(package_name="scrkb")
def main():
    """scrkb: a knowledge base of serious case reviews and inquiries."""


@main.group("eval")
def evaluate():
    """Measure the tagger or search on a labelled file."""


from kb.cli import store, serving, themes, export, users  # noqa: E402,F401  (registers the commands)
