"""The search engine: one open index per process, searched by the command line and the web alike.

Runs a request (parse, facet filters, sort, page, snippets, facet counts, "did you mean")
and builds the single-message, thread and author views, over any backend's Reader
(``core/backend.py``). Does not own the query language (``search/query.py``), facet display
(``search/facets.py``), the records (``core/results.py``, ``search/views.py``) or anything an
engine does (``backends/``).
"""

from __future__ import annotations

import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Hashable
from dataclasses import replace
from typing import Any

from backends import open_reader
from core import query as q
from core.backend import Reader
from core.config import Settings
from core.errors import QueryError
from core.results import SORTS, AuthorView, Hit, MessageView, Results, SearchRequest, ThreadView
from search import suggest, views
from search.facets import FACET_NAMES, facet_values, filter_query
from search.query import parse

# The author page: the values counted over an author's messages.
_AUTHOR_COLUMNS = ("year", "list", "quoted_author", "group", "email", "affiliation",
                   "cites", "mentions")


# Results kept per (index generation, request): the web asks the same first pages and
# facet sets again and again (the front page, a list's page, back and forth between pages),
# and each costs six facet counts and twenty snippets. A commit changes the generation,
# so nothing stale is served; the bound keeps a crawler from growing it.
RESULTS_CACHED = 256


def _request_key(request: SearchRequest) -> Hashable:
    filters = tuple(sorted((name, tuple(values)) for name, values in request.filters.items()))
    return (request.query, filters, request.sort, request.page, request.page_size,
            request.include_quoted, request.with_facets, request.highlight)


class Engine:
    """Opened once per process; every method is safe to call from several threads."""

    def __init__(self, settings: Settings, reader: Reader | None = None,
                 results_cached: int = RESULTS_CACHED) -> None:
        """``results_cached``: how many results are kept for repeated requests (0: none,
        as the benchmarks measure the search itself)."""
        self.settings = settings
        self.reader = reader if reader is not None else open_reader(settings)
        self._results_cached = results_cached
        self._results: OrderedDict[Hashable, Results] = OrderedDict()
        self._results_lock = threading.Lock()

    def refresh(self) -> bool:
        return self.reader.refresh()

    def generation(self) -> int:
        """The index generation searches answer from: the key of caches of what they show."""
        return self.reader.generation()

    def close(self) -> None:
        self.reader.close()

    # ---- search ----------------------------------------------------------------------

    def _validate(self, request: SearchRequest) -> None:
        s = self.settings
        if request.sort not in SORTS:
            raise QueryError(f"unknown sort {request.sort!r} (use {', '.join(SORTS)})")
        if request.page < 1 or request.page > s.max_page:
            raise QueryError(f"page must be between 1 and {s.max_page}")
        if request.page_size < 1 or request.page_size > s.max_page_size:
            raise QueryError(f"page size must be between 1 and {s.max_page_size}")

    def search(self, request: SearchRequest) -> Results:
        started = time.perf_counter()
        self._validate(request)
        self.reader.refresh()
        key = (self.reader.generation(), _request_key(request))
        with self._results_lock:
            cached = self._results.get(key)
            if cached is not None:
                self._results.move_to_end(key)
        if cached is not None:
            return replace(cached, request=request,
                           elapsed_ms=(time.perf_counter() - started) * 1000)
        results = self._search(request, started)
        with self._results_lock:
            self._results[key] = results
            while len(self._results) > self._results_cached:
                self._results.popitem(last=False)
        return results

    def _search(self, request: SearchRequest, started: float) -> Results:
        s = self.settings
        parsed = parse(
            request.query,
            include_quoted=request.include_quoted,
            max_length=s.max_query_length,
            max_terms=s.max_query_terms,
        )
        filters = filter_query(request.filters)
        reader = self.reader
        sort = request.sort
        if not parsed.text and sort == "relevance":
            sort = "-date"  # every message scores the same; newest first reads best
        memo: dict[str, Any] = {}
        with reader.pinned():
            matched = reader.match(
                parsed.query, filters, sort, request.page * request.page_size,
                s.max_query_terms, memo,
            )
            first = (request.page - 1) * request.page_size
            words = reader.highlight_words(parsed.query) if request.highlight else {}
            hits = tuple(
                self._hit(reader.stored(matched, ref), score, words, request.highlight)
                for ref, score in matched.top[first:]
            )
            facets = {}
            if request.with_facets:
                facets = facet_values(reader.count(matched, FACET_NAMES), request.filters)
            suggestion = (
                suggest.suggest(reader, parsed, filters, s.max_query_terms, memo)
                if parsed.text and matched.total < suggest.BELOW
                else None
            )
        elapsed = (time.perf_counter() - started) * 1000
        return Results(request, matched.total, hits, facets, suggestion, elapsed)

    def _hit(
        self, stored: dict[str, Any], score: float | None, words: dict[str, set[str]], wanted: bool
    ) -> Hit:
        parts, field = self.reader.snippet(stored, words, wanted)
        return views.hit(stored, score, parts, field)

    # ---- single things -----------------------------------------------------------------

    def message(self, message_id: str) -> MessageView | None:
        self.reader.refresh()
        with self.reader.pinned():
            stored = self.reader.get(message_id)
            if stored is None:
                return None
            known = self.reader.has(views.quoted_ids(stored))
        return views.message(stored, known)

    def _thread_docs(self, thread_id: str) -> list[dict[str, Any]]:
        self.reader.refresh()
        with self.reader.pinned():
            matched = self.reader.matching(q.Term("thread_id", thread_id))
            return [self.reader.stored(matched, ref) for ref, _ in matched.top]

    def thread(self, thread_id: str) -> ThreadView | None:
        docs = self._thread_docs(thread_id)
        return views.thread(thread_id, docs) if docs else None

    def thread_messages(
        self, thread_id: str
    ) -> tuple[ThreadView, dict[str, MessageView]] | None:
        """The thread and each of its messages whole (the thread page reads them all)."""
        docs = self._thread_docs(thread_id)
        if not docs:
            return None
        wanted: set[str] = set().union(*(views.quoted_ids(d) for d in docs))
        with self.reader.pinned():
            known = self.reader.has(wanted)
        return views.thread_messages(thread_id, docs, known)

    def neighbours(self, message_id: str) -> tuple[str | None, str | None]:
        """The previous and next message of the same thread, by date."""
        view = self.message(message_id)
        if view is None:
            return None, None
        ids = [d["message_id"] for d in views.in_date_order(self._thread_docs(view.thread_id))]
        at = ids.index(message_id)
        return (ids[at - 1] if at else None, ids[at + 1] if at + 1 < len(ids) else None)

    def author(self, name: str) -> AuthorView | None:
        reader = self.reader
        reader.refresh()
        with reader.pinned():
            own = reader.matching(q.Term("author", name), limit=0)
            if not own.total:
                return None
            counts = reader.count(own, _AUTHOR_COLUMNS)
            quoting = reader.matching(q.Term("quoted_author", name), limit=0)
            quoted_by = reader.count(quoting, ("author",))["author"]
        return views.author(name, own.total, counts, quoted_by)

    def tally(self, query: q.Node, names: tuple[str, ...]) -> tuple[int, dict[str, Counter[str]]]:
        """How many messages match ``query``, and the values of ``names``
        (core.fields.COLUMNS) over them: the backend's own counts, whatever the engine."""
        reader = self.reader
        reader.refresh()
        with reader.pinned():
            matched = reader.matching(query, limit=0)
            if not matched.total:
                return 0, {name: Counter() for name in names}
            return matched.total, reader.count(matched, names)

    def more_like_this(self, message_id: str, limit: int = 10) -> tuple[Hit, ...]:
        self.reader.refresh()
        return tuple(
            self._hit(stored, score, {}, False)
            for stored, score in self.reader.more_like(message_id, limit)
        )

    def stats(self) -> dict[str, Any]:
        reader = self.reader
        reader.refresh()
        with reader.pinned():
            every = reader.matching(q.Every(), limit=0)
            counts = reader.count(every, ("author", "list", "month"))
            # The month column narrows the search for the first and last date.
            months = sorted(counts["month"])
            first = reader.date_edge(months[0], last=False) if months else None
            last = reader.date_edge(months[-1], last=True) if months else None
        return {
            "messages": every.total,
            "authors": len(counts["author"]),
            "lists": len(counts["list"]),
            "first_date": views.iso(first),
            "last_date": views.iso(last),
            "index_bytes": reader.size_bytes(),
            "index_dir": str(self.settings.index_dir),
        }
