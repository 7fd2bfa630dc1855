"""The scrkb web app: a thin Flask layer over kb's KnowledgeBase.

Views parse the request, call kb, and render; no search, tagging or counting
happens here. Every page works without JavaScript and loads nothing from
outside the app.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from flask_wtf.csrf import CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix

from kb import KnowledgeBase
from kb.store.secret_key import load_or_create
from webapp import access, api, errors, filters
from webapp.views import (
    admin,
    auth,
    citations,
    compare,
    documents,
    home,
    packs,
    research,
    reviews,
    search,
    themes,
)

# Only this app's own files: no CDN, no remote font, no inline script.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def create_app(kb: KnowledgeBase | None = None, test_config: dict | None = None) -> Flask:
    app = Flask(__name__)
    kb = kb or KnowledgeBase()
    settings = kb.settings
    app.config.update(
        MAX_CONTENT_LENGTH=1 << 20, JSON_SORT_KEYS=False, SECRET_KEY=load_or_create(settings.secret_key_path),
        SESSION_COOKIE_NAME="scrkb_session", SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.cookies_secure(), PERMANENT_SESSION_LIFETIME=timedelta(hours=8),
        WTF_CSRF_TIME_LIMIT=None,  # a token lives as long as the session: a form left open over lunch still works
    )
    app.config.update(test_config or {})
    if settings.proxy_hops:  # behind a reverse proxy, its X-Forwarded-* headers give the client's address and scheme
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.proxy_hops, x_proto=settings.proxy_hops)
    app.extensions["scrkb"] = kb
    CSRFProtect(app)
    filters.register(app)
    errors.register(app)
    access.register(app)
    for blueprint in (home.bp, search.bp, documents.bp, themes.bp, packs.bp, compare.bp, api.bp, research.bp,
                      reviews.bp, auth.bp, admin.bp, citations.bp):
        app.register_blueprint(blueprint)
    app.config.setdefault("PACKS_ENABLED", True)  # hit cards link to packs.add_form
    app.config.setdefault("EXTRA_NAV", []).extend([("packs.index", "Learning packs"), ("compare.index", "Compare cases")])
    app.config["EXTRA_NAV"].append(("research.dashboard", "Dashboard"))

    @app.after_request
    def security_headers(response):
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        return response

    return app
