"""The Flask application factory: one Engine per app, security headers, blueprints.

The engine is opened once, when the app is made, and only *refreshed* before each
request (a cheap check of the index generation), so a commit by the indexer shows up
without reopening the searcher per request. Everything a page shows comes from that
engine; ``web`` never imports ``index``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from flask import Flask, Response, request
from werkzeug.routing import PathConverter

from core import config as config_module
from core.config import Settings
from core.errors import IndexDamaged
from search.engine import Engine

# No inline script or style anywhere: app.js and style.css are the only code the pages run.
CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}



class IdPathConverter(PathConverter):
    """``<path:...>`` that also matches a value starting with "/".

    Werkzeug's own ([^/].*?) cannot: a message id such as "//evil.example/x" is legal
    mail, and its page's own link (/message///evil.example/x) was a 404. Registered as
    "path" on the app's map, so the page and API routes take it without a new name.
    """

    regex = ".+?"
    # Said outright: werkzeug infers part_isolating from a "/" in the regex.
    part_isolating = False


def create_app(settings: Settings | None = None,
               read_original: Callable[[Mapping[str, Any]], Any] | None = None,
               damage: Callable[[], str | None] | None = None) -> Flask:
    """An app over the index of ``settings`` (``core.config.load()`` when None).

    ``read_original`` (``index.raw.read``, passed by the composition roots: ``web`` does
    not stand on ``index``) gives a message's original bytes from its source reference;
    without it the .eml and mbox downloads answer 404.

    ``damage`` (``govmail serve``'s background check) gives the line naming what is
    damaged in the index once that is found: from then on every request but the static
    files answers 503 with that line instead of reading the damaged bytes.

    Raises :class:`core.errors.IndexNotFound` when there is no index to serve.
    """
    from web import api, caching, errors, feeds, pages, privacy

    settings = settings if settings is not None else config_module.load()
    app = Flask(__name__)
    app.config["GOVMAIL_SETTINGS"] = settings
    app.json.sort_keys = False  # type: ignore[attr-defined]
    # Message ids may hold "//" (or start with "/"); merging slashes would change the id.
    app.url_map.merge_slashes = False
    # Before the blueprints: a rule looks its converter up when it is added.
    app.url_map.converters["path"] = IdPathConverter
    engine = Engine(settings)
    app.extensions["govmail"] = engine
    app.extensions["govmail.read_original"] = read_original

    # First: a damaged index is not even refreshed, and no 304 is made from it.
    @app.before_request
    def refuse_damaged() -> None:
        line = damage() if damage is not None else None
        if line is not None and request.endpoint != "static":
            raise IndexDamaged(line)

    @app.before_request
    def refresh_engine() -> None:
        engine.refresh()

    @app.after_request
    def secure(response: Response) -> Response:
        for name, value in SECURITY_HEADERS.items():
            response.headers[name] = value
        return response

    caching.register(app)
    app.register_blueprint(pages.bp)
    app.register_blueprint(api.bp, url_prefix="/api")
    app.register_blueprint(feeds.bp)
    errors.register(app)
    privacy.install(app)
    return app
