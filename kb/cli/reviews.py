"""`scrkb review`: confirm, reject or add a theme tag on a passage, and list the reviews."""

from __future__ import annotations

import getpass
from dataclasses import asdict

import click

from kb.cli.common import emit, with_kb
from kb.cli.groups import main
from kb.knowledge_base import KnowledgeBase

WORDS = {"confirm": "confirmed", "reject": "rejected", "add": "added"}


@main.command()
@click.argument("passage_id", required=False)
@click.argument("theme", required=False)
@click.option("--confirm", "verdict", flag_value="confirm", help="The passage shows the theme, as tagged.")
@click.option("--reject", "verdict", flag_value="reject", help="The passage does not show the theme.")
@click.option("--add", "verdict", flag_value="add", help="The passage shows a theme the tagger missed.")
@click.option("--note", default="", help="Why, in a sentence (optional).")
@click.option("--user", "username", default=None,
              help="Who is reviewing: an account with the researcher or admin role (default: cli:<login name>).")
@click.option("--list", "listing", is_flag=True, help="List the verdict that holds for each reviewed tag.")
@click.option("--theme", "theme_filter", default=None, help="With --list: only this theme.")
@click.option("--json", "as_json", is_flag=True)
@with_kb
def review(kb: KnowledgeBase, passage_id, theme, verdict, note, username, listing, theme_filter, as_json):
    """Confirm or reject a theme tag on a passage, or add a theme the tagger missed; or --list the reviews.

    Counts everywhere then take the reviewer's word: a rejected tag never counts, a
    confirmed or added one always does. Every review is written to the audit log.
    """
    from kb.themes.reviews import ReviewError

    if listing:
        if passage_id or theme or verdict:
            raise click.UsageError("--list takes no passage, theme or verdict (use --theme ID to choose a theme).")
        _list(kb, theme_filter, as_json)
        return
    if not (passage_id and theme and verdict):
        raise click.UsageError("Give PASSAGE_ID THEME and one of --confirm, --reject or --add (or --list).")
    user, name = _reviewer(kb, username)
    try:
        done = kb.reviews.review(passage_id, theme, verdict, note, username=name, user=user)
    except ReviewError as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        emit(asdict(done))
        return
    click.echo(f"{WORDS[done.verdict].capitalize()} {done.theme_id} on {done.passage_id} "
               f"(by {done.username}, review {done.review_id}).")


def _reviewer(kb: KnowledgeBase, username: str | None):
    """The account behind --user, whose role must allow reviewing; without --user, the login name.

    A store with no accounts (one person's machine) takes any name; once there are
    accounts, --user must be one of them.
    """
    if username is None:
        return None, f"cli:{getpass.getuser()}"
    user = kb.accounts.by_name(username)
    if user is None and kb.accounts.list():
        raise click.ClickException(f"There is no user called {username!r}; `scrkb users list` shows who can review.")
    if user is not None and not user.can("review"):
        raise click.ClickException(f"{user.username}'s role ({user.role}) cannot review tags: researchers and "
                                   "admins can.")
    return user, username if user is None else user.username


def _list(kb: KnowledgeBase, theme: str | None, as_json: bool) -> None:
    from kb.themes.reviews import ReviewError

    try:
        found = kb.reviews.latest(theme)
    except ReviewError as exc:
        raise click.ClickException(str(exc)) from None
    removed = [r for r in found if not r.passage_exists]
    if as_json:
        emit({"reviews": [asdict(r) for r in found], "reviews_of_removed_passages": len(removed)})
        return
    if not found:
        click.echo("No tags have been reviewed" + (f" for {theme}." if theme else "."))
    for r in found:
        gone = "  [passage no longer in the store]" if not r.passage_exists else ""
        history = f" ({r.reviews} verdicts)" if r.reviews > 1 else ""
        note = f"  “{r.note}”" if r.note else ""
        click.echo(f"{r.at}  {r.username:<16} {WORDS[r.verdict]:<9} {r.theme_id:<28} {r.passage_id}"
                   f"  tagger: {r.tagger}{history}{gone}{note}")
    if removed:
        click.echo(f"\n{len(removed)} review(s) name passages no longer in the store (their reports were re-ingested "
                   "or removed); they are kept, and no longer counted.")
