"""The scrkb web app: a thin Flask layer over kb's KnowledgeBase."""

from __future__ import annotations

from flask import Flask, render_template

from kb import KnowledgeBase


def create_app(kb: KnowledgeBase | None = None, test_config: dict | None = None) -> Flask:
    app = Flask(__name__)
    app.config.update(test_config or {})
    app.extensions["scrkb"] = kb or KnowledgeBase()

    @app.get("/")
    def home():
        store = app.extensions["scrkb"]
        return render_template("home.html", stats=store.stats(), documents=store.documents()[:20])

    return app
