"""The `scrkb` command line: one thin command per job over the KnowledgeBase.

This package is the composition root: the `ingest` and `serve` commands import
the ingest pipeline and the web app inside their bodies, so that kb's library
code never depends on either. Importing it registers every command on `main`.
"""

from kb.cli import export, quality, reviews, serving, store, themes, upkeep, users  # noqa: F401  (each registers its commands)
from kb.cli.groups import evaluate, main

__all__ = ["evaluate", "main"]
