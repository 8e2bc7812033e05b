"""Address obfuscation for everything the server sends, in one place.

Templates and views obfuscated field by field, and fields were missed: subjects, author
names that are bare addresses (13% of one real list), facet values and the links built
from them, attachment names, the JSON API and the Atom feed. So with
``obfuscate_addresses`` on, the response itself is rewritten: every address in any text
body (HTML, JSON, Atom, OpenSearch, plain), raw or percent-encoded in a link, becomes
"local at domain". The links then carry that form, so the request side turns it back
where a value names an author or a facet (the path of /author/ pages and facet filters,
never the free-text query).
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode

from flask import Flask, Response, g

_PART = r"[A-Za-z0-9._+\-]+"
_DOMAIN = r"[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+"
ADDRESS = re.compile(rf"({_PART})@({_DOMAIN})")
# In a URL (a link's href, a feed's link): "@" percent-encoded, in either case.
ENCODED = re.compile(rf"({_PART})%40({_DOMAIN})", re.IGNORECASE)
# The obfuscated form as a request brings it back: decoded path or query value.
SHOWN = re.compile(rf"^({_PART}) at ({_DOMAIN})$")
TEXT_TYPES = ("text/", "application/json", "application/atom+xml", "application/xml",
              "application/opensearchdescription+xml", "image/svg+xml")
# Query parameters whose values are facet values (never "q": a query is the user's words).
VALUE_PARAMS = ("author", "email", "list", "group", "affiliation", "thread", "year")
AUTHOR_PATHS = ("/author/", "/api/author/")


Keep = Callable[[Iterable[str]], set[str]]
# Where an id-shaped token ends in text and markup (ids may hold "/", "?", "#", "+", "$").
_TOKEN_END = " \t\r\n\"'<>()[]{},;"
# JSON keys whose values are Message-IDs: kept as they are (they are keys, not mailboxes).
ID_KEYS = ("message_id", "thread_id", "in_reply_to", "parent_id", "references", "id", "key")


def _token(text: str, start: int, end: int) -> str:
    while start > 0 and text[start - 1] not in _TOKEN_END:
        start -= 1
    while end < len(text) and text[end] not in _TOKEN_END:
        end += 1
    return text[start:end]


def _id_candidates(token: str) -> set[str]:
    """The Message-IDs a token may hold: any piece between "/", "=", "?", "&" or "#"
    boundaries of the token as it is, URL-decoded or HTML-unescaped."""
    forms = {token, unquote(token), html.unescape(token), unquote(html.unescape(token))}
    found = set()
    for form in forms:
        starts = [0] + [i + 1 for i, c in enumerate(form) if c in "/="]
        ends = [len(form)] + [i for i, c in enumerate(form) if c in "/?&#"]
        found.update(form[a:b] for a in starts for b in ends if b > a and "@" in form[a:b])
    return found


_PART_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._+-")


def _finditer(pattern: re.Pattern[str], at: str, text: str) -> list[re.Match[str]]:
    """``pattern.finditer(text)`` for ADDRESS or ENCODED, whose matches all hold ``at``.

    finditer tries the pattern at every offset, and the local part's run of letters
    before failing made that 11 ms for one 48 KB search page, more than rendering it.
    A match holds ``at``, and its local part cannot (neither "@" nor "%" is a local-part
    character), so each match starts where the run of local-part characters before an
    ``at`` starts (or where the previous match ended): the same leftmost, non-overlapping
    matches, found from ``str.find``."""
    found: list[re.Match[str]] = []
    last = 0
    i = text.find(at)
    while i != -1:
        start = i
        while start > last and text[start - 1] in _PART_CHARS:
            start -= 1
        match = pattern.match(text, start) if start < i else None
        if match is not None:
            found.append(match)
            last = match.end()
            i = text.find(at, last)
        else:
            i = text.find(at, i + 1)
    return found


def obfuscate(text: str, keep: Keep | None = None) -> str:
    """Addresses written so that people can read them and harvesters do not match them.

    ``keep`` says which strings are Message-IDs of indexed messages: an address-shaped
    match inside such an id (raw, in a link, URL-encoded) is left alone, since
    "1234@lists.example" is the key of a page and an API answer, not a mailbox.
    """
    matches = [(m, False) for m in _finditer(ADDRESS, "@", text)]
    matches += [(m, True) for m in _finditer(ENCODED, "%40", text)]
    if not matches:
        return text
    tokens = {m.start(): _id_candidates(_token(text, m.start(), m.end())) for m, _ in matches}
    kept = keep(set().union(*tokens.values())) if keep is not None else set()
    out: list[str] = []
    last = 0
    for m, encoded in sorted(matches, key=lambda pair: pair[0].start()):
        if m.start() < last:
            continue
        if tokens[m.start()] & kept:
            continue
        joiner = "%20at%20" if encoded else " at "
        out.append(text[last:m.start()] + m.group(1) + joiner + m.group(2))
        last = m.end()
    out.append(text[last:])
    return "".join(out)


def obfuscate_json(value: Any, keep: Keep | None = None, key: str = "") -> Any:
    """Every string of a JSON value obfuscated, but Message-IDs under their own keys."""
    if isinstance(value, dict):
        return {k: obfuscate_json(v, keep, k) for k, v in value.items()}
    if isinstance(value, list):
        return [obfuscate_json(v, keep, key) for v in value]
    if isinstance(value, str) and key not in ID_KEYS:
        return obfuscate(value, keep)
    return value


def reveal(value: str) -> str:
    """The address an obfuscated value stands for (the value itself when it is none)."""
    found = SHOWN.match(value)
    return f"{found.group(1)}@{found.group(2)}" if found else value


def _request_side(app: Callable[..., Any]) -> Callable[..., Any]:
    def wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        for prefix in AUTHOR_PATHS:
            if path.startswith(prefix):
                # PATH_INFO is WSGI's latin-1 view of the bytes; decode to compare.
                name = path[len(prefix):].encode("latin-1").decode("utf-8", "replace")
                shown = reveal(name)
                if shown != name:
                    environ["PATH_INFO"] = prefix + shown.encode("utf-8").decode("latin-1")
        query = environ.get("QUERY_STRING", "")
        if " at " in query or "+at+" in query or "%20at%20" in query.lower():
            pairs = parse_qsl(query, keep_blank_values=True)
            environ["QUERY_STRING"] = urlencode(
                [(k, reveal(v) if k in VALUE_PARAMS else v) for k, v in pairs]
            )
        return app(environ, start_response)

    return wsgi


def hide_page(app: Flask, text: str) -> str:
    """``text`` (a page about to be kept rendered) obfuscated as the response hook would,
    so a page served again is not scanned again; the view then sets ``g.addresses_hidden``."""
    if not app.config["GOVMAIL_SETTINGS"].obfuscate_addresses:
        return text
    reader = app.extensions["govmail"].reader
    return obfuscate(text, lambda ids: set(reader.has(ids)))


def install(app: Flask) -> None:
    """Obfuscate every text response, and read obfuscated values back, when the setting is on."""
    settings = app.config["GOVMAIL_SETTINGS"]
    if not settings.obfuscate_addresses:
        return
    app.wsgi_app = _request_side(app.wsgi_app)  # type: ignore[method-assign]

    @app.after_request
    def hide(response: Response) -> Response:
        # Static files pass through untouched (they hold no mail, and are streamed).
        if response.direct_passthrough or not response.mimetype.startswith(TEXT_TYPES):
            return response
        # A kept search page was hidden once, when it was rendered (hide_page).
        if g.get("addresses_hidden"):
            return response
        text = response.get_data(as_text=True)
        reader = app.extensions["govmail"].reader

        def keep(ids: Iterable[str]) -> set[str]:
            return set(reader.has(ids))

        if response.mimetype == "application/json":
            data = json.loads(text)
            hidden_data = obfuscate_json(data, keep)
            hidden = text if hidden_data == data else json.dumps(hidden_data,
                                                                 ensure_ascii=False)
        else:
            hidden = obfuscate(text, keep)
        if hidden != text:
            response.set_data(hidden)
        for header in ("Location", "Link"):
            if header in response.headers:
                response.headers[header] = obfuscate(response.headers[header])
        return response
