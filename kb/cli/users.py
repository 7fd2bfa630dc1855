"""Accounts and the audit log from the command line: `scrkb users add|remove|list|set-role|set-password`, `scrkb audit`."""

from __future__ import annotations

import getpass
import sys
from dataclasses import asdict

import click

from kb.cli.groups import main
from kb.cli.common import emit, with_kb
from kb.knowledge_base import KnowledgeBase
from kb.store.accounts import ROLES, AccountError, audit_csv


def _actor() -> str:
    """Who made a change from the command line, for the audit log: the operating-system user."""
    return f"cli:{getpass.getuser()}"


def _password(from_stdin: bool) -> str:
    """The new password, typed twice at a hidden prompt or read from stdin; never from argv, where `ps` shows it."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


def _change(kb: KnowledgeBase, action: str, username: str, change, **detail) -> None:
    try:
        change()
    except AccountError as exc:
        raise click.ClickException(str(exc)) from None
    kb.accounts.record(_actor(), action, username, detail)


@main.group()
def users():
    """Manage the accounts that may sign in to the web app."""


password_stdin = click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin.")


@users.command("add")
@click.argument("username")
@click.option("--role", type=click.Choice(ROLES), default="reader", show_default=True)
@password_stdin
@with_kb
def add(kb: KnowledgeBase, username, role, password_stdin):
    """Add an account (the password is asked for, hidden)."""
    _change(kb, "user_add", username, lambda: kb.accounts.add(username, _password(password_stdin), role), role=role)
    click.echo(f"Added {username} ({role}).")


@users.command("remove")
@click.argument("username")
@with_kb
def remove(kb: KnowledgeBase, username):
    """Remove an account; its sessions end at their next request."""
    _change(kb, "user_remove", username, lambda: kb.accounts.remove(username))
    click.echo(f"Removed {username}.")


@users.command("set-role")
@click.argument("username")
@click.argument("role", type=click.Choice(ROLES))
@with_kb
def set_role(kb: KnowledgeBase, username, role):
    """Give an account another role; it applies from the user's next request."""
    _change(kb, "user_role", username, lambda: kb.accounts.set_role(username, role), role=role)
    click.echo(f"{username} is now {role}.")


@users.command("set-password")
@click.argument("username")
@password_stdin
@with_kb
def set_password(kb: KnowledgeBase, username, password_stdin):
    """Set a new password; the user's existing sessions end."""
    _change(kb, "user_password", username, lambda: kb.accounts.set_password(username, _password(password_stdin)))
    click.echo(f"Set a new password for {username}.")


@users.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the accounts as JSON.")
@with_kb
def list_users(kb: KnowledgeBase, as_json):
    """List the accounts and their roles."""
    found = kb.accounts.list()
    if as_json:
        emit([{k: v for k, v in asdict(u).items() if k != "generation"} for u in found])
        return
    for user in found:
        click.echo(f"{user.username}\t{user.role}\t{user.created}")


@main.command()
@click.option("--user", "username", default=None, help="Only this user's events.")
@click.option("--action", default=None, help="Only this action (login, login_failed, view_document, export, ...).")
@click.option("--limit", type=click.IntRange(min=1), default=1000, show_default=True, help="Newest events to give.")
@click.option("--json", "as_json", is_flag=True, help="JSON instead of CSV.")
@click.option("--prune", is_flag=True, help="Delete events older than $SCRKB_AUDIT_DAYS days (or --days), instead.")
@click.option("--days", type=click.IntRange(min=1), default=None, help="With --prune: keep this many days.")
@with_kb
def audit(kb: KnowledgeBase, username, action, limit, as_json, prune, days):
    """Print the audit log, newest first, as CSV (formula-safe) or JSON; or --prune it."""
    if prune:
        _prune(kb, days or kb.settings.audit_days)
        return
    events = kb.accounts.events(username, action, limit=limit)
    if as_json:
        emit([asdict(e) for e in events])
    else:
        sys.stdout.buffer.write(audit_csv(events))


def _prune(kb: KnowledgeBase, days: int | None) -> None:
    if days is None:
        raise click.UsageError("SCRKB_AUDIT_DAYS is not set, so every event is kept; set it, or give --days.")
    deleted, cutoff = kb.accounts.prune(days, _actor())
    click.echo(f"Deleted {deleted} audit event(s) from before {cutoff} (older than {days} days); "
               "the pruning itself is in the log as audit_prune.")
