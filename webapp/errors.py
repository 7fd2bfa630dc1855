"""Errors as data: one error type with a status; JSON under /api/ (and to a script that asks for it),
a page everywhere else."""

from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from kb.search.filters import FilterError
from kb.store.vectors import VectorStoreUnavailable


class AppError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def not_found(what: str) -> AppError:
    return AppError(404, f"{what} was not found.")


def wants_json() -> bool:
    """Whether the caller asked for JSON (a page's script posting a form by fetch) rather than a page."""
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]


def register(app: Flask) -> None:
    def respond(status: int, message: str):
        if request.path.startswith("/api/") or wants_json():
            return jsonify({"error": {"status": status, "message": message}}), status
        return render_template("error.html", status=status, message=message), status

    @app.errorhandler(AppError)
    def app_error(exc: AppError):
        return respond(exc.status, exc.message)

    @app.errorhandler(FilterError)
    def filter_error(exc: FilterError):
        return respond(400, f"That filter cannot be used: {exc}.")

    @app.errorhandler(VectorStoreUnavailable)
    def vectors_unavailable(exc: VectorStoreUnavailable):
        app.logger.error("%s", exc)
        return respond(503, "The search index is not reachable just now; please try again shortly.")

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        return respond(exc.code or 500, exc.description or exc.name)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):  # never a stack trace in a page
        app.logger.exception("unhandled error on %s", request.path)
        return respond(500, "Something went wrong on our side. The error has been logged.")
