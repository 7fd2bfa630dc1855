"""`scrkb serve`: the web app in this process (waitress), or in several gunicorn worker processes."""

from __future__ import annotations

import os
from pathlib import Path

import click

from kb.cli.common import kb_dir_option, store_errors
from kb.cli.groups import main
from kb.knowledge_base import KnowledgeBase
from kb.settings import Settings
from kb.sources.report_catalogue import ReportCatalogue
from kb.store.accounts import Accounts
from kb.store.catalogue import Catalogue
from kb.store.errors import StoreError
from kb.store.vectors import VectorStoreUnavailable, check_reachable

# Threads per process: they overlap SQLite reads, page rendering and socket
# writes with the one request that is computing on a core.
THREADS = 4
# A worker that is still loading the models sends no heartbeat; on a busy
# machine that takes well over gunicorn's default 30 seconds.
WORKER_TIMEOUT = 180
# Paths only: a query string can name a child, and the access log is not the audit log.
ACCESS_LOG_FORMAT = '%(h)s worker=%(p)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms'


@main.command()
@click.option("--host", default=None, help="Address to bind (else $SCRKB_HOST, else 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (else $SCRKB_PORT, else 5000).")
@click.option(
    "--workers", type=click.IntRange(1, 64), default=None,
    help="Worker processes (else $SCRKB_WORKERS, else 1); above 1 gunicorn serves, each worker loading the models once.",
)
@kb_dir_option
def serve(kb_dir: Path | None, host, port, workers):
    """Serve the web app."""
    settings = Settings.load(home=kb_dir, host=host, port=port, workers=workers)
    if settings.workers < 1:
        raise click.BadParameter(f"{settings.workers}: serving needs at least one worker (SCRKB_WORKERS)",
                                 param_hint="--workers")
    try:
        login = settings.login_required()
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    with store_errors(settings.home):
        _prepare_store(settings, login)
    click.echo(f"scrkb serving {settings.home} on http://{settings.host}:{settings.port}/ "
               f"with {settings.workers} worker(s), sign-in {'required' if login else 'off'}")
    if settings.workers == 1:
        serve_in_process(settings)
    else:
        if settings.chroma_url:
            # Here rather than only in each worker: a worker that fails while gunicorn is
            # still starting the others makes gunicorn stop with a traceback of its own.
            try:
                check_reachable(settings.chroma_url, timeout=settings.chroma_timeout)
            except VectorStoreUnavailable as exc:
                raise click.ClickException(str(exc)) from None
        # Not a KnowledgeBase here: the master forks the workers, and neither an
        # open SQLite connection nor a loaded model may cross a fork.
        gunicorn_app(settings).run()


def _prepare_store(settings: Settings, login: bool) -> None:
    """Before any worker starts: migrate an older catalogue once (saying so), prune the audit log, check accounts.

    Each connection is closed again: gunicorn's master forks the workers, and no connection may cross a fork.
    """
    catalogue = Catalogue(settings.catalogue_db)
    catalogue.close()
    if catalogue.migrated:
        click.echo(catalogue.migrated.message(), err=True)
    ReportCatalogue.load(settings.catalogue)  # a catalogue that cannot be read stops the server before it starts
    accounts = Accounts(settings.accounts_db)
    if settings.audit_days:
        deleted, cutoff = accounts.prune(settings.audit_days, "serve")
        click.echo(f"Pruned {deleted} audit event(s) from before {cutoff} (SCRKB_AUDIT_DAYS={settings.audit_days}).")
    if login and not accounts.list():
        click.echo("Sign-in is required but there are no accounts: add one with "
                   "`scrkb users add NAME --role admin`.", err=True)
    accounts.close()


def serve_in_process(settings: Settings) -> None:
    from waitress import serve as waitress_serve

    from webapp import create_app

    with store_errors(settings.home):
        app = create_app(warmed_up(settings))
    waitress_serve(app, host=settings.host, port=settings.port, threads=2 * THREADS)


def warmed_up(settings: Settings) -> KnowledgeBase:
    kb = KnowledgeBase(settings)
    kb.warm_up()
    return kb


def gunicorn_app(settings: Settings):
    """The gunicorn master for `settings`; gunicorn is imported only when workers are asked for."""
    from gunicorn.app.base import BaseApplication

    class Workers(BaseApplication):
        """gunicorn's master, given its configuration in code; `load` runs in each worker after the fork."""

        def __init__(self, settings: Settings):
            self.settings = settings
            super().__init__()

        def load_config(self):
            config = {
                "bind": f"{self.settings.host}:{self.settings.port}",
                "workers": self.settings.workers,
                "worker_class": "gthread",
                "threads": THREADS,
                "timeout": WORKER_TIMEOUT,
                "accesslog": "-",
                "access_log_format": ACCESS_LOG_FORMAT,
                "proc_name": "scrkb",
                # gunicorn's control socket lives at one path per user, so a second
                # store served on the same machine would take over the first one's.
                "control_socket_disable": True,
            }
            for key, value in config.items():
                self.cfg.set(key, value)

        def load(self):
            from gunicorn.errors import AppImportError

            from webapp import create_app

            # Each worker gets its share of the cores: torch would otherwise start a
            # thread per core in every worker, and N workers would fight over them.
            os.environ.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // self.settings.workers)))
            try:
                return create_app(warmed_up(self.settings))
            except (VectorStoreUnavailable, StoreError) as exc:
                raise AppImportError(str(exc)) from None  # gunicorn prints it and stops, without a traceback

    return Workers(settings)
