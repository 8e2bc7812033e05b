"""ETag and Cache-Control on what the pages and the API answer.

A page is a function of the index generation and the URL, so a strong ETag of the body
lets a browser or a proxy revalidate with a 304 instead of fetching it again; the
max-age is short because an indexer may commit at any moment.
"""

from __future__ import annotations

from flask import Flask, Response, request

MAX_AGE = 60


def register(app: Flask) -> None:
    @app.after_request
    def cache_headers(response: Response) -> Response:
        if request.method not in ("GET", "HEAD") or response.status_code != 200:
            response.headers.setdefault("Cache-Control", "no-store")
            return response
        response.headers.setdefault("Cache-Control", f"public, max-age={MAX_AGE}")
        # A streamed export is not held in memory to be hashed.
        if not response.is_streamed and not response.direct_passthrough:
            response.add_etag()
            response.make_conditional(request)
        return response
