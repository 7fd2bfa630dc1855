"""Errors as data: one error type with a status; JSON under /api/ (and to a script that asks for it),
a page everywhere else."""

from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from kb.search.filters import FilterError
from kb.store.errors import StoreUnavailable
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


def respond(status: int, message: str):
    """An error as JSON under /api/ (or to a script that asked for it), as a page everywhere else."""
    if request.path.startswith("/api/") or wants_json():
        return jsonify({"error": {"status": status, "message": message}}), status
    return render_template("error.html", status=status, message=message), status


def register(app: Flask) -> None:
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

    @app.errorhandler(StoreUnavailable)
    def store_unavailable(exc: StoreUnavailable):
        app.logger.error("%s", exc)  # names the file and the cause (a full disk, a read-only folder)
        return respond(503, "The store cannot be written or read just now; the cause is in the server's log.")

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        return respond(exc.code or 500, exc.description or exc.name)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):  # never a stack trace in a page
        app.logger.exception("unhandled error on %s", request.path)
        return respond(500, "Something went wrong on our side. The error has been logged.")
