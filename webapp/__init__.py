"""The scrkb web app: a thin Flask layer over kb's KnowledgeBase.

Views parse the request, call kb, and render; no search, tagging or counting
happens here. Every page works without JavaScript and loads nothing from
outside the app.
"""

from __future__ import annotations

from flask import Flask

from kb import KnowledgeBase
from webapp import api, errors, filters
from webapp.views import documents, home, search, themes
from webapp.views import compare, packs
from webapp.views import research

# Only this app's own files: no CDN, no remote font, no inline script.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def create_app(kb: KnowledgeBase | None = None, test_config: dict | None = None) -> Flask:
    app = Flask(__name__)
    app.config.update(MAX_CONTENT_LENGTH=1 << 20, JSON_SORT_KEYS=False)
    app.config.update(test_config or {})
    app.extensions["scrkb"] = kb or KnowledgeBase()
    filters.register(app)
    errors.register(app)
    for blueprint in (home.bp, search.bp, documents.bp, themes.bp, packs.bp, compare.bp, api.bp, research.bp):
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
