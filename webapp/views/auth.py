"""Signing in and out. Failed attempts are counted in the accounts database, so the limit holds across workers."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user

from kb.store.accounts import AccountError, Throttled
from webapp import access, params
from webapp.errors import AppError

bp = Blueprint("auth", __name__)
MAX_FIELD = 1024


def _next_page() -> str:
    """Where to go after signing in: a path on this site only, never another site (an open redirect)."""
    target = request.values.get("next", "")
    if target.startswith("/") and not target.startswith(("//", "/\\")) and "\\" not in target:
        return target
    return url_for("home.index")


@bp.get("/login")
def login_form():
    if not access.login_required():
        return redirect(url_for("home.index"))
    return render_template("login.html", next=_next_page())


@bp.post("/login")
def login():
    if not access.login_required():
        return redirect(url_for("home.index"))
    accounts, address = params.store().accounts, request.remote_addr or ""
    name, password = request.form.get("username", "").strip()[:MAX_FIELD], request.form.get("password", "")[:MAX_FIELD]
    try:
        user = accounts.authenticate(name, password, address)
    except Throttled:
        accounts.record(name, "login_throttled", address=address)
        message = "Too many failed sign-ins. Wait 15 minutes, or ask an administrator."
        return render_template("login.html", next=_next_page(), error=message, username=name), 429
    if user is None:
        accounts.record(name, "login_failed", address=address)
        message = "That username and password do not match an account."
        return render_template("login.html", next=_next_page(), error=message, username=name), 401
    session.clear()  # nothing from before signing in carries over
    login_user(access.SessionUser(user))
    session.permanent = True  # so PERMANENT_SESSION_LIFETIME ends it
    accounts.record(user.username, "login", address=address)
    return redirect(_next_page(), code=303)


@bp.post("/logout")
def logout():
    access.audit("logout")
    logout_user()
    session.clear()
    return redirect(url_for("auth.login_form") if access.login_required() else url_for("home.index"), code=303)


def _account():
    """The signed-in user; on a server without accounts there is no password to change."""
    if not access.login_required() or not current_user.is_authenticated:
        raise AppError(404, "This server runs without accounts, so there is no password to change.")
    return current_user.user


@bp.get("/account/password")
def password_form():
    _account()
    return render_template("password.html", changed=request.args.get("changed") == "1")


@bp.post("/account/password")
def change_password():
    """Change one's own password: the current one is checked (and its failures counted, as at sign-in),
    and the change ends the user's sessions everywhere else, while this one goes on under the new password."""
    user, accounts, address = _account(), params.store().accounts, request.remote_addr or ""
    current, new = request.form.get("current", "")[:MAX_FIELD + 1], request.form.get("new", "")[:MAX_FIELD + 1]
    if new != request.form.get("again", "")[:MAX_FIELD + 1]:
        return _refused("The two new passwords are not the same.", 400)
    try:
        checked = accounts.authenticate(user.username, current, address)
    except Throttled:
        access.audit("password_change_throttled")
        return _refused("Too many wrong passwords. Wait 15 minutes, or ask an administrator.", 429)
    if checked is None:
        access.audit("password_change_failed")
        return _refused("That is not your current password.", 401)
    try:
        accounts.set_password(user.username, new)
    except AccountError as exc:
        return _refused(str(exc), 400)
    login_user(access.SessionUser(accounts.by_name(user.username)))  # this session carries the new generation
    access.audit("password_change", user.username)
    return redirect(url_for("auth.password_form", changed=1), code=303)


def _refused(message: str, status: int):
    return render_template("password.html", error=message), status
