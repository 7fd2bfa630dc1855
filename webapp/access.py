"""Who may open which route, the logged-in user for each request, and the audit trail of reads and exports.

Every endpoint needs a permission from the tables below; one missing from them is
refused, so a new route is closed until someone decides who may use it.
"""

from __future__ import annotations

from flask import Flask, current_app, redirect, request, url_for
from flask_login import LoginManager, UserMixin, current_user

from kb.store.accounts import User
from kb.store.errors import StoreUnavailable
from webapp import params
from webapp.errors import AppError, respond

PUBLIC = {"static", "auth.login_form", "auth.login"}
BY_BLUEPRINT = {
    "home": "read", "search": "read", "documents": "read", "themes": "read", "compare": "read", "auth": "read",
    "packs": "packs", "research": "research", "reviews": "review", "admin": "admin", "citations": "read",
}
# The API is listed route by route: its research outputs are exports, the rest is reading.
API = {
    "api.search": "read", "api.documents": "read", "api.document": "read", "api.themes": "read",
    "api.chronology": "read", "api.openapi": "read", "api.cite": "read",
    "api.counts": "research", "api.prevalence": "research", "api.cooccurrence": "research",
    "api.trends": "research", "api.evidence": "research", "api.before_incident": "research",
    "api.download": "research",
}
# Successful requests to these are written to the audit log: reading a report, and anything downloaded.
AUDITED = {
    "documents.show": "view_document", "documents.page": "view_page", "documents.page_image": "view_page_image",
    "api.document": "view_document", "api.chronology": "view_chronology", "packs.download": "export_pack",
    "citations.selected": "export_citations", "citations.whole_search": "export_citations",
    "api.cite": "export_citations",
    **{endpoint: "export" for endpoint, permission in API.items() if permission == "research"},
}
LOCAL = "local"  # the name audited when the server runs without accounts
MAX_AUDITED_VALUE, MAX_AUDITED_VALUES = 200, 50


class SessionUser(UserMixin):
    """A kb User as Flask-Login sees it; the id carries the password generation so a reset ends old sessions."""

    def __init__(self, user: User):
        self.user = user

    def get_id(self) -> str:
        return f"{self.user.user_id}:{self.user.generation}"


def permission_for(endpoint: str | None) -> str | None:
    """The permission an endpoint needs; None for public ones. KeyError for one nobody has classified."""
    if endpoint in PUBLIC:
        return None
    if endpoint is None:
        raise KeyError(endpoint)
    if endpoint.startswith("api."):
        return API[endpoint]
    return BY_BLUEPRINT[endpoint.split(".", 1)[0]]


def login_required(app: Flask | None = None) -> bool:
    return (app or current_app).config["SCRKB_LOGIN_REQUIRED"]


def can(permission: str) -> bool:
    """Whether this request's user may do it (everyone may, when the server runs without accounts)."""
    if not login_required():
        return True
    return current_user.is_authenticated and current_user.user.can(permission)


def may(endpoint: str) -> bool:
    """Whether to offer a link to this endpoint: only to those who may open it."""
    permission = permission_for(endpoint)
    return permission is None or can(permission)


def username() -> str:
    return current_user.user.username if current_user.is_authenticated else LOCAL


def audit(action: str, target: str = "", detail: dict | None = None) -> None:
    params.store().accounts.record(username(), action, target, detail, request.remote_addr or "")


def register(app: Flask) -> None:
    manager = LoginManager(app)
    app.config["SCRKB_LOGIN_REQUIRED"] = app.extensions["scrkb"].settings.login_required()

    @manager.user_loader
    def load(session_id: str):
        user_id, _, generation = session_id.partition(":")
        if not (user_id.isdigit() and generation.isdigit()):
            return None
        user = params.store().accounts.get(int(user_id), int(generation))
        return SessionUser(user) if user else None

    @app.before_request
    def guard():
        try:
            permission = permission_for(request.endpoint)
        except KeyError:
            if request.endpoint is None:  # no such route: let the 404 or 405 through
                return None
            raise AppError(403, "This page has no access rule yet, so it is closed.") from None
        if permission is None or not login_required():
            return None
        if not current_user.is_authenticated:
            if request.path.startswith("/api/"):
                raise AppError(401, "Sign in first: the API uses the session cookie set by /login.")
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        if not current_user.user.can(permission):
            raise AppError(403, f"Your role ({current_user.user.role}) does not include this page.")
        return None

    @app.after_request
    def record(response):
        action = AUDITED.get(request.endpoint or "")
        if action and response.status_code < 400:
            target = (request.view_args or {}).get("doc_id") or request.path
            try:
                audit(action, target, {"path": request.path, "args": _bounded(request.args.to_dict(flat=False))})
            except StoreUnavailable as exc:  # a full disk: what cannot be audited is not shown
                app.logger.error("%s", exc)
                body, status = respond(503, "This could not be recorded in the audit log, so it is not shown; "
                                            "the cause is in the server's log.")
                return app.make_response((body, status))
        return response

    app.jinja_env.globals.update(can=can, may=may, login_required=lambda: login_required(app))


def _bounded(args: dict[str, list[str]]) -> dict:
    """Query arguments cut to a size an audit row can hold: a 1 MB query string is not worth keeping whole."""
    return {k[:MAX_AUDITED_VALUE]: [v[:MAX_AUDITED_VALUE] for v in values[:MAX_AUDITED_VALUES]]
            for k, values in list(args.items())[:MAX_AUDITED_VALUES]}
