"""Reviewing a theme tag: confirm, reject or add, from the document and theme evidence pages.

One POST route. Without JavaScript the form posts and is redirected back to the page
it came from (at the reviewed passage); with it, scrkb.js posts the same form by fetch
and puts the row this returns in place, so the page does not reload.
"""

from __future__ import annotations

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user

from kb.themes.reviews import ReviewError
from webapp import access, params
from webapp.errors import AppError, wants_json

bp = Blueprint("reviews", __name__)
STATUS = {"invalid": 400, "not_found": 404, "forbidden": 403}
MAX_ID = 300  # far past any passage or theme id: refuse before looking anything up


def _back(passage_id: str) -> str:
    """The page the form came from, on this site only (never an open redirect), at the passage's reviews."""
    target = request.form.get("next", "")
    if not (target.startswith("/") and not target.startswith(("//", "/\\")) and "\\" not in target):
        target = url_for("home.index")
    return f"{target.split('#', 1)[0]}#r-{passage_id}"


@bp.post("/reviews")
def create():
    kb = params.store()
    passage_id, theme_id = request.form.get("passage", "").strip(), request.form.get("theme", "").strip()
    if len(passage_id) > MAX_ID or len(theme_id) > MAX_ID:
        raise AppError(400, "That passage or theme id is far too long to be one.")
    user = current_user.user if access.login_required() and current_user.is_authenticated else None
    try:
        done = kb.reviews.review(passage_id, theme_id, request.form.get("verdict", ""), request.form.get("note", ""),
                                 username=access.username(), user=user, address=request.remote_addr or "")
    except ReviewError as exc:
        raise AppError(STATUS[exc.reason], str(exc)) from None
    theme = kb.tagger.taxonomy.get(theme_id)
    message = f"{theme.label}: {WORDS[done.verdict]} by {done.username}."
    if not wants_json():
        flash(message)  # a rejected passage leaves a theme's evidence: the page still says what was done
        return redirect(_back(passage_id), code=303)
    passage = kb.passage(passage_id)
    match = next((m for m in passage.themes if m.theme_id == theme_id), None) if passage else None
    row = render_template("_review_row.html", passage_id=passage_id, theme=theme, match=match, review=done,
                          next=request.form.get("next", ""))
    row = row.strip()
    return jsonify({"review": {"review_id": done.review_id, "passage_id": done.passage_id, "theme_id": done.theme_id,
                               "verdict": done.verdict, "note": done.note, "username": done.username, "at": done.at},
                    "counted": done.verdict != "reject", "html": row,
                    "message": message})


WORDS = {"confirm": "confirmed", "reject": "rejected (no longer counted)", "add": "added"}
