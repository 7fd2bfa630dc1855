"""Administration: users and roles, the audit log (as a page and as CSV), and the settings in force."""

from __future__ import annotations

from dataclasses import fields

from flask import Blueprint, Response, redirect, render_template, request, url_for

from kb.settings import HELP
from kb.store.accounts import ROLES, AccountError, audit_csv
from webapp import access, params
from webapp.errors import AppError

bp = Blueprint("admin", __name__, url_prefix="/admin")
EVENTS_PER_PAGE, MAX_CSV_EVENTS = 100, 100_000


def _form(name: str) -> str:
    value = request.form.get(name, "")
    if len(value) > 1024:
        raise AppError(400, f"The {name} is too long.")
    return value.strip() if name != "password" else value


def _not_yourself(username: str) -> None:
    if access.login_required() and username.lower() == access.username().lower():
        raise AppError(400, "You cannot remove your own account or change your own role here; "
                            "ask another administrator, or use `scrkb users` on the server.")


def _change(action: str, username: str, change, **detail):
    try:
        change()
    except AccountError as exc:
        raise AppError(400, str(exc)) from None
    access.audit(action, username, detail)
    return redirect(url_for("admin.users"), code=303)


@bp.get("/users")
def users():
    return render_template("admin/users.html", users=params.store().accounts.list(), roles=ROLES)


@bp.post("/users/add")
def add_user():
    accounts, username = params.store().accounts, _form("username")
    role = _form("role")
    return _change("user_add", username, lambda: accounts.add(username, _form("password"), role), role=role)


@bp.post("/users/role")
def set_role():
    accounts, username, role = params.store().accounts, _form("username"), _form("role")
    _not_yourself(username)
    return _change("user_role", username, lambda: accounts.set_role(username, role), role=role)


@bp.post("/users/remove")
def remove_user():
    accounts, username = params.store().accounts, _form("username")
    _not_yourself(username)
    return _change("user_remove", username, lambda: accounts.remove(username))


def _event_filter() -> dict:
    return {"username": request.args.get("user", "").strip()[:100] or None,
            "action": request.args.get("action", "").strip()[:100] or None}


@bp.get("/audit")
def audit_log():
    accounts, chosen = params.store().accounts, _event_filter()
    page = params.integer("page", 1, low=1, high=1_000_000)
    events = accounts.events(**chosen, limit=EVENTS_PER_PAGE, offset=(page - 1) * EVENTS_PER_PAGE)
    return render_template("admin/audit.html", events=events, total=accounts.count_events(**chosen), page=page,
                           per_page=EVENTS_PER_PAGE, chosen=chosen)


@bp.get("/audit.csv")
def audit_download():
    chosen = _event_filter()
    data = audit_csv(params.store().accounts.events(**chosen, limit=MAX_CSV_EVENTS))
    access.audit("export_audit", "audit.csv", {k: v for k, v in chosen.items() if v})
    return Response(data, mimetype="text/csv", headers={
        "Content-Disposition": 'attachment; filename="scrkb-audit.csv"', "Cache-Control": "no-store"})


@bp.get("/settings")
def settings():
    current = params.store().settings
    rows = [(f.name, getattr(current, f.name), HELP[f.name]) for f in fields(current)]
    return render_template("admin/settings.html", rows=rows, login_required=access.login_required())
