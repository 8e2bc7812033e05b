"""One error hook for both faces: JSON under /api, error.html elsewhere (datasette's shape).

Every error a user can cause is a 4xx that says what is wrong: a bad query or an
argument out of bounds is a 400, an unknown id or a page past the end a 404. Only a
bug is a 500, and its page shows no internals.
"""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify, render_template, request
from werkzeug.exceptions import HTTPException, InternalServerError

from core.errors import GovmailError, IndexDamaged, IndexNotFound, QueryError

log = logging.getLogger(__name__)


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.path in ("/api", "/healthz")


# What to try next, said once under the reason.
QUERY_HINT = ("Check that brackets and quotes are closed and dates are real "
              "(date:2010-02, date:[2010 to 2012]), or put the words in quotes to search them as "
              "they are.")


def error_response(status: int, message: str, title: str,
                   hint: str | None = None) -> tuple[Response | str, int]:
    if wants_json():
        return jsonify({"ok": False, "error": message, "status": status}), status
    # The search box keeps what was typed, so the query can be corrected, not retyped.
    return render_template("error.html", status=status, title=title, message=message,
                           hint=hint, args=request.args), status


def register(app: Flask) -> None:
    @app.errorhandler(QueryError)
    def bad_query(exc: QueryError) -> tuple[Response | str, int]:
        return error_response(400, f"bad query: {exc}", "This search could not be run",
                              QUERY_HINT)

    @app.errorhandler(IndexNotFound)
    def no_index(exc: IndexNotFound) -> tuple[Response | str, int]:
        return error_response(503, str(exc), "No index")

    @app.errorhandler(IndexDamaged)
    def damaged(exc: IndexDamaged) -> tuple[Response | str, int]:
        return error_response(503, str(exc), "Index damaged")

    @app.errorhandler(GovmailError)
    def govmail_error(exc: GovmailError) -> tuple[Response | str, int]:
        return error_response(400, str(exc), "Bad request")

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> tuple[Response | str, int]:
        status = exc.code or 500
        if status >= 500:
            log.error("HTTP %s on %s", status, request.path)
        return error_response(status, exc.description or exc.name, exc.name)

    @app.errorhandler(Exception)
    def internal(exc: Exception) -> tuple[Response | str, int]:
        log.exception("unhandled error on %s", request.path)
        fallback = InternalServerError()
        return error_response(500, "the server failed on this request", fallback.name)
