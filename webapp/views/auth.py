"""Signing in and out. Failed attempts are counted in the accounts database, so the limit holds across workers."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, session, url_for
from flask_login import login_user, logout_user

from kb.store.accounts import Throttled
from webapp import access, params

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
