"""ETag and Cache-Control on what the pages and the API answer, and rendered search pages.

A page is a function of the index generation and the URL, so a strong ETag of the body
lets a browser or a proxy revalidate with a 304 instead of fetching it again; the
max-age is short because an indexer may commit at any moment.

The same fact lets the server keep the search pages it rendered: the first screen of a
search is asked again and again (popular queries, back and forth between pages), and
rendering it (six facet groups of links, a few hundred timeline bars, twenty snippets,
then the address scan over the whole body) cost 24 ms of CPU a request even when the
engine's own results cache answered (0.6 ms of it); a kept page costs 1.4 ms
(``python -m bench.web_peers``, bench/RESULTS.md). A commit changes the
generation in the key, so no stale page is served; the bound is in bytes because a page
is 20-120 KB.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable

from flask import Flask, Response, request

MAX_AGE = 60
# Rendered pages kept per app: a few hundred first screens of distinct searches.
PAGES_CACHED_BYTES = 32 * 1024 * 1024


class PageCache:
    """Rendered pages (each a tuple of strings) by key, least recently used out first."""

    def __init__(self, max_bytes: int = PAGES_CACHED_BYTES) -> None:
        self.max_bytes = max_bytes
        self._pages: OrderedDict[Hashable, tuple[tuple[str, ...], int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> tuple[str, ...] | None:
        with self._lock:
            found = self._pages.get(key)
            if found is None:
                return None
            self._pages.move_to_end(key)
            return found[0]

    def put(self, key: Hashable, parts: tuple[str, ...]) -> None:
        # Characters, not encoded bytes: close enough for a bound, and free to count.
        size = sum(len(part) for part in parts)
        if size > self.max_bytes:
            return
        with self._lock:
            old = self._pages.pop(key, None)
            if old is not None:
                self._bytes -= old[1]
            self._pages[key] = (parts, size)
            self._bytes += size
            while self._bytes > self.max_bytes:
                _, (_, dropped) = self._pages.popitem(last=False)
                self._bytes -= dropped

    def __len__(self) -> int:
        return len(self._pages)


def register(app: Flask) -> None:
    app.extensions["govmail.pages"] = PageCache()

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
