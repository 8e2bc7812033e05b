"""The JSON API: the CLI's shapes (``Results.to_json()`` and the views' ``to_json()``).

Errors come back from ``web.errors`` as ``{"ok": false, "error", "status"}``. When
addresses are obfuscated on pages they are obfuscated here too; otherwise the API
would hand harvesters what the pages hide.
"""

from __future__ import annotations

from pathlib import PurePath
from typing import Any

from flask import Blueprint, Response, abort, jsonify, request

from search import references
from web import pages, params

bp = Blueprint("api", __name__)

# Fields of the views that hold text written by people (and so, addresses).
TEXT_KEYS = (
    "original", "quoted", "signature", "footer", "headers", "text", "first_line", "snippet",
)


def hide_addresses(value: Any, key: str = "") -> Any:
    if isinstance(value, dict):
        return {k: hide_addresses(v, k) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [hide_addresses(v, key) for v in value]
    if isinstance(value, str) and (key in TEXT_KEYS or key in ("email", "emails")):
        return pages.obfuscate(value)
    return value


@bp.route("/search")
def search() -> Response:
    search_request = params.parse_search(request.args, pages.settings())
    # Undated mail after the dated, as on the page.
    results = pages.run_search(search_request)
    return jsonify(hide_addresses(results.to_json()))


def without_paths(view: dict[str, Any]) -> dict[str, Any]:
    """The source as a file name and key: where the server keeps its archive is its own.

    The reference spans go too: their offsets are into the texts as stored, which the API
    may hand out with addresses rewritten; ``cites``, ``quoted_cites`` and ``mentions``
    say what the message cites."""
    source = view.get("source") or {}
    path = str(source.get("path") or "")
    kept = {k: v for k, v in view.items() if k != "reference_spans"}
    return {**kept, "source": {"file": PurePath(path).name if path else None,
                               "key": source.get("key") or ""}}


@bp.route("/message/<path:message_id>")
def message(message_id: str) -> Response:
    return jsonify(hide_addresses(without_paths(pages.find_message(message_id))))


@bp.route("/thread/<path:thread_id>")
def thread(thread_id: str) -> Response:
    """The reply tree; with ?bodies=1 each node also carries its message (as /api/message)."""
    if request.args.get("bodies") not in ("1", "true", "yes"):
        return _found(pages.engine().thread(thread_id), f"no thread with id {thread_id!r}")
    found = pages.engine().thread_messages(thread_id)
    if found is None:
        abort(404, description=f"no thread with id {thread_id!r} is in the index")
    view, messages = found
    data = view.to_json()
    data["messages"] = [
        {**node, "message": without_paths(messages[node["message_id"]].to_json())}
        for node in data["messages"]
    ]
    return jsonify(hide_addresses(data))


@bp.route("/author/<path:name>")
def author(name: str) -> Response:
    return _found(pages.engine().author(name), f"no author named {name!r}")


@bp.route("/references/<document>")
def document_references(document: str) -> Response:
    """The counts of the references page, as JSON (own words and quoted apart)."""
    if not pages.DOCUMENT_ID.fullmatch(document):
        abort(404, description="a document id is lowercase letters, digits and '-'")
    return _found(references.document_references(pages.engine(), document),
                  f"no message citing {document!r}")


def _found(view: object | None, missing: str) -> Response:
    if view is None:
        abort(404, description=f"{missing} is in the index")
    return jsonify(hide_addresses(pages.as_dict(view)))


@bp.route("/<path:anything>")
def unknown(anything: str) -> Response:
    abort(404, description=f"no API endpoint /api/{anything}")
