"""The search engine: one open index per process, searched by the CLI and the web app alike.

Owns the searcher's lifetime (reopened only after a commit), running a parsed query
with facet filters, sorting and paging, snippets, "did you mean", more-like-this and
the single-message, thread and author views. Does not own the query language
(search/query.py), set-at-a-time matching (search/matching.py, which answers every
query made of terms and phrases; Whoosh's collectors answer the rest), facet counting
(search/facets.py) or the record shapes (search/results.py).

Whoosh reads segment files through shared file objects, so one lock serialises the
use of the searcher; with the GIL, Python-bound scoring would not run in parallel anyway.
"""

from __future__ import annotations

import heapq
import json
import re
import threading
import time
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from whoosh import collectors, highlight
from whoosh import index as windex
from whoosh import query as wq

import search.buffers  # noqa: F401  (mapped index files read in place, not copied)
from core.config import Settings
from core.errors import IndexNotFound, QueryError
from core.results import (
    SORTS,
    AuthorView,
    Hit,
    MessageView,
    Results,
    SearchRequest,
    ThreadNode,
    ThreadView,
    snippet_html,
)
from search import matching
from search.facets import FacetCounter, facet_values, filter_query
from search.query import ParsedQuery, check_expansion, expanded_terms, parse
from search.schema import SCHEMA, TEXT_ANALYZER

SNIPPET_CHARS = 240
HIGHLIGHT_CHARS = 50_000
# "Did you mean" runs only for queries with fewer hits than this, and within these bounds.
SUGGEST_BELOW = 10
SUGGEST_MAX_CHARS = 30
SUGGEST_MAX_WORDS = 3
SUGGEST_BUDGET_S = 0.5
_SPACES = re.compile(r"\s+")
# A bare word the user typed (not a field prefix, wildcard or operator), for suggestions.
_WORD = re.compile(r"(?<![\w:*?~\"-])([^\W\d_]{3,})(?![\w:*?~])")
_OPERATORS = frozenset({"AND", "OR", "NOT", "ANDNOT", "ANDMAYBE", "TO"})


def iso(value: Any) -> str | None:
    if not isinstance(value, datetime):
        return None
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _loads(value: Any, default: Any) -> Any:
    if not value:
        return default
    try:
        return json.loads(value)
    except (TypeError, ValueError):
        return default


class _PartsFormatter(highlight.Formatter):
    """Whoosh formatter that returns (text, is_match) pieces instead of markup."""

    between = " "

    def format(self, fragments: list[Any], replace: bool = False) -> tuple[tuple[str, bool], ...]:
        parts: list[tuple[str, bool]] = []
        for number, fragment in enumerate(fragments):
            if number:
                parts.append((self.between, False))
            text = fragment.text
            index = fragment.startchar
            end = fragment.endchar
            # Whoosh ends a fragment at a token; keep a short tail such as "</b>" or "?".
            if len(text) - end <= 12:
                end = len(text)
            if index > 0:
                parts.append(("… ", False))
            for token in fragment.matches:
                if token.startchar < index:
                    continue
                if token.startchar > index:
                    parts.append((text[index : token.startchar], False))
                parts.append((text[token.startchar : token.endchar], True))
                index = token.endchar
            if index < end:
                parts.append((text[index:end], False))
            if end < len(text):
                parts.append((" …", False))
        return tuple(_tidy(parts))


def _tidy(parts: Iterable[tuple[str, bool]]) -> list[tuple[str, bool]]:
    """Collapse whitespace (mail text is full of line breaks) and merge neighbours."""
    tidy: list[tuple[str, bool]] = []
    for text, hit in parts:
        text = _SPACES.sub(" ", text)
        if not text:
            continue
        if tidy and tidy[-1][1] == hit:
            tidy[-1] = (tidy[-1][0] + text, hit)
        else:
            tidy.append((text, hit))
    if tidy:
        tidy[0] = (tidy[0][0].lstrip(), tidy[0][1])
        tidy[-1] = (tidy[-1][0].rstrip(), tidy[-1][1])
    return [p for p in tidy if p[0]]


def _lead(text: str) -> tuple[tuple[str, bool], ...]:
    # Collapse only the head: the whole of a long message cost ~0.5 ms a hit, 10 ms a
    # page. A head that still holds more than SNIPPET_CHARS + 1 characters gives the
    # same snippet as the whole text would.
    flat = _SPACES.sub(" ", text[: SNIPPET_CHARS * 4]).strip()
    if len(flat) <= SNIPPET_CHARS + 1 and len(text) > SNIPPET_CHARS * 4:
        flat = _SPACES.sub(" ", text).strip()
    if len(flat) > SNIPPET_CHARS:
        cut = flat.rfind(" ", 0, SNIPPET_CHARS)
        flat = flat[: cut if cut > SNIPPET_CHARS // 2 else SNIPPET_CHARS] + " …"
    return ((flat, False),) if flat else ()


def snippet_for(
    stored: dict[str, Any], words: dict[str, set[str]], wanted: bool
) -> tuple[tuple[tuple[str, bool], ...], str]:
    """Snippet parts and the field they came from: original, else quoted when only it matched."""
    original = stored.get("original") or ""
    if not wanted:
        return _lead(original), "original"
    fragmenter = highlight.ContextFragmenter(maxchars=SNIPPET_CHARS, surround=70)
    for field in ("original", "quoted"):
        terms = words.get(field)
        # A match past HIGHLIGHT_CHARS is not shown: re-analysing a whole huge message
        # for each page would cost more than the search.
        text = (stored.get(field) or "")[:HIGHLIGHT_CHARS]
        if not terms or not text:
            continue
        parts = highlight.highlight(
            text, terms, TEXT_ANALYZER, fragmenter, _PartsFormatter(), top=2
        )
        if parts and any(hit for _, hit in parts):
            return parts, field
    return _lead(original), "original"


def _lists(stored: dict[str, Any]) -> tuple[str, ...]:
    return tuple(v for v in (stored.get("list") or "").split(",") if v)


class _CountingTopCollector(collectors.ScoredCollector):
    """Keeps the top N by score and every matching docnum (for the total and facets).

    Not TopCollector: once its heap is full it raises a minimum score and prunes the
    matcher (ScoredCollector.matches -> matcher.replace), so documents that must still
    be counted were never seen; the facet brute-force test caught 74 of 119.
    """

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def _collect(self, global_docnum: int, score: float) -> Any:
        self.docset.add(global_docnum)
        # Lower docnums win ties, as in Whoosh, so pages are stable.
        item = (score, -global_docnum)
        if len(self.items) < self.limit:
            heapq.heappush(self.items, item)
        elif item > self.items[0]:
            heapq.heapreplace(self.items, item)
        return -score

    def results(self) -> Any:
        ranked = sorted(self.items, reverse=True)
        return self._results([(score, -docnum) for score, docnum in ranked], docset=self.docset)


class Engine:
    """Opened once per process; every method is safe to call from several threads."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.index_dir = Path(settings.index_dir)
        if not self.index_dir.is_dir() or not windex.exists_in(str(self.index_dir)):
            raise IndexNotFound(
                f"no index at {self.index_dir}; build one with `govmail index ARCHIVE`"
            )
        self._index = windex.open_dir(str(self.index_dir))
        self._searcher = self._index.searcher()
        self._lock = threading.RLock()
        self._facets = FacetCounter()
        self._segments = matching.match_cache()

    # ---- lifetime ------------------------------------------------------------

    def refresh(self) -> bool:
        """Reopen the searcher if a writer committed since; True when it did."""
        with self._lock:
            if self._searcher.up_to_date():
                return False
            # Not Searcher.refresh(): its reader reuse re-adds segments that the commit
            # merged away (whoosh 2.7 index._reader), so merged documents showed twice.
            # Facet columns survive the reopen: they are cached by segment id.
            old, self._searcher = self._searcher, self._index.searcher()
            old.close()
            return True

    def close(self) -> None:
        with self._lock:
            self._searcher.close()

    # ---- search ----------------------------------------------------------------

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
        parsed = parse(
            request.query,
            include_quoted=request.include_quoted,
            max_length=self.settings.max_query_length,
            max_terms=self.settings.max_query_terms,
        )
        filters = filter_query(request.filters)
        self.refresh()
        with self._lock:
            searcher = self._searcher
            check_expansion(parsed, searcher.reader(), self.settings.max_query_terms)
            sort = request.sort
            if not parsed.text and sort == "relevance":
                sort = "-date"  # every message scores the same; newest first reads best
            limit = request.page * request.page_size
            memo: dict[str, Any] = {}
            if matching.supported(parsed.query) and (
                filters is None or matching.supported(filters)
            ):
                matched = matching.run(
                    searcher, self._segments, parsed.query, filters, sort, limit, memo
                )
                total, top = matched.total, matched.top
                counted: Any = matched.matches
            else:
                total, top, counted = self._collect(searcher, parsed, sort, limit, filters)
            hits = self._page(searcher, parsed, request, top)
            facets = {}
            if request.with_facets:
                counts = self._facets.count(searcher, counted)
                facets = facet_values(counts, request.filters)
            suggestion = (
                self._suggest(searcher, parsed, filters, memo)
                if parsed.text and total < SUGGEST_BELOW
                else None
            )
        elapsed = (time.perf_counter() - started) * 1000
        return Results(request, total, hits, facets, suggestion, elapsed)

    def _collect(
        self,
        searcher: Any,
        parsed: ParsedQuery,
        sort: str,
        limit: int,
        filters: wq.Query | None,
    ) -> tuple[int, list[tuple[int, float | None]], set[int]]:
        """Whoosh's collectors, for queries search/matching.py does not evaluate.

        One pass over the matches: the top of the page order and every matching docnum
        (counting with docs_for_query and then scoring in a second search cost a quarter
        of each query's time at 20,000 messages).
        """
        collector: Any
        if sort == "relevance":
            inner: Any = _CountingTopCollector(limit)
        else:
            inner = collectors.SortingCollector("date", limit=limit, reverse=sort == "-date")
        collector = collectors.FilterCollector(inner, allow=filters) if filters else inner
        searcher.search_with_collector(parsed.query, collector)
        found = collector.results()
        scored = sort == "relevance"
        top = [
            (found.docnum(n), found.score(n) if scored else None)
            for n in range(min(limit, found.scored_length()))
        ]
        return len(inner.docset), top, inner.docset

    def _page(
        self,
        searcher: Any,
        parsed: ParsedQuery,
        request: SearchRequest,
        top: list[tuple[int, float | None]],
    ) -> tuple[Hit, ...]:
        first = (request.page - 1) * request.page_size
        words = expanded_terms(parsed, searcher.reader()) if request.highlight else {}
        return tuple(
            self._hit(searcher.stored_fields(docnum), score, words, request.highlight)
            for docnum, score in top[first:]
        )

    def _hit(
        self, stored: dict[str, Any], score: float | None, words: dict[str, set[str]],
        wanted: bool,
    ) -> Hit:
        parts, field = snippet_for(stored, words, wanted)
        lists = _lists(stored)
        return Hit(
            message_id=stored["message_id"],
            subject=stored.get("subject") or "",
            author=stored.get("author") or "",
            email=stored.get("email"),
            date=iso(stored.get("date")),
            list=lists[0] if lists else "",
            lists=lists,
            thread_id=stored.get("thread_id") or stored["message_id"],
            score=None if score is None else round(float(score), 4),
            snippet=snippet_html(parts),
            snippet_parts=parts,
            snippet_field=field,
        )

    def _suggest(
        self,
        searcher: Any,
        parsed: ParsedQuery,
        filters: wq.Query | None,
        memo: dict[str, Any] | None = None,
    ) -> str | None:
        """Replace words the index has never seen by the nearest indexed word, if that finds mail.

        Bounded, because Whoosh's suggest walks the vocabulary in Python: 0.3-0.7 s per
        word at 100,000 messages without a prefix, and 55 s for a 1,000-letter word at
        maxdist 3. So: words of at most SUGGEST_MAX_CHARS letters, each stem once, at most
        SUGGEST_MAX_WORDS lookups, the first letter kept, and no new lookup once
        SUGGEST_BUDGET_S is spent.
        """
        reader = searcher.reader()
        text = parsed.text
        started = time.perf_counter()
        replacements: dict[str, str | None] = {}
        lookups = 0
        out: list[str] = []
        last = 0
        for match in _WORD.finditer(text):
            word = match.group(1)
            if word in _OPERATORS or len(word) > SUGGEST_MAX_CHARS:
                continue
            stems = [t.text for t in TEXT_ANALYZER(word)]
            if len(stems) != 1:
                continue
            stem = stems[0]
            if stem not in replacements:
                if any(reader.doc_frequency(f, stem) for f in parsed.default_fields):
                    replacements[stem] = None
                elif (
                    lookups >= SUGGEST_MAX_WORDS
                    or time.perf_counter() - started > SUGGEST_BUDGET_S
                ):
                    replacements[stem] = None
                else:
                    lookups += 1
                    # Stems of long words drift further from a typo ("accountabilty" ->
                    # "accountabilti" vs "accountabl"), so they get a wider edit distance.
                    # prefix=1: candidates share the first letter, which typos rarely
                    # touch; it cut a lookup from 0.3-0.7 s to ~10 ms at 100,000 messages.
                    found = searcher.suggest(
                        "original", stem, limit=1, maxdist=2 if len(stem) < 8 else 3, prefix=1
                    )
                    replacements[stem] = found[0] if found and found[0] != stem else None
            better = replacements[stem]
            if better is None:
                continue
            out.append(text[last : match.start(1)])
            out.append(better)
            last = match.end(1)
        if not out:
            return None
        out.append(text[last:])
        candidate = "".join(out)
        try:
            again = parse(candidate, include_quoted=len(parsed.default_fields) > 2)
        except QueryError:
            return None
        if matching.supported(again.query) and (filters is None or matching.supported(filters)):
            found_any = matching.run(
                searcher, self._segments, again.query, filters, "-date", 0, memo
            )
            return candidate if found_any.total else None
        whole = wq.And([again.query, filters]) if filters is not None else again.query
        for _ in searcher.docs_for_query(whole):
            return candidate
        return None

    # ---- single things ------------------------------------------------------------

    def _stored(self, searcher: Any, message_id: str) -> dict[str, Any] | None:
        docnum = searcher.document_number(message_id=message_id)
        return None if docnum is None else searcher.stored_fields(docnum)

    def message(self, message_id: str) -> MessageView | None:
        self.refresh()
        with self._lock:
            searcher = self._searcher
            stored = self._stored(searcher, message_id)
            if stored is None:
                return None
            quotes = []
            for quote in _loads(stored.get("quotes_json"), []):
                qid = quote.get("message_id")
                known = bool(qid) and searcher.document_number(message_id=qid) is not None
                quotes.append({**quote, "known": known})
        meta = _loads(stored.get("meta_json"), {})
        return MessageView(
            message_id=stored["message_id"],
            subject=stored.get("subject") or "",
            subject_normalized=stored.get("subject_normalized") or "",
            author=stored.get("author") or "",
            author_name=meta.get("author_name"),
            email=stored.get("email"),
            group=stored.get("group"),
            affiliation=stored.get("affiliation"),
            date=iso(stored.get("date")),
            lists=_lists(stored),
            thread_id=stored.get("thread_id") or stored["message_id"],
            in_reply_to=stored.get("in_reply_to"),
            references=tuple((stored.get("references") or "").split()),
            original=stored.get("original") or "",
            quoted=stored.get("quoted") or "",
            quotes=tuple(quotes),
            signature=stored.get("signature") or "",
            footer=stored.get("footer") or "",
            charset=_loads(stored.get("charset_json"), {}),
            attachments=tuple(_loads(stored.get("attachments_json"), [])),
            source=_loads(stored.get("source_json"), {}),
            headers=stored.get("headers") or "",
            author_source=meta.get("author_source"),
            date_source=meta.get("date_source"),
            message_id_source=meta.get("message_id_source"),
            notes=tuple(meta.get("notes") or ()),
        )

    def _thread_docs(self, thread_id: str) -> list[dict[str, Any]]:
        self.refresh()
        with self._lock:
            searcher = self._searcher
            return [
                searcher.stored_fields(n)
                for n in searcher.docs_for_query(wq.Term("thread_id", thread_id))
            ]

    def thread(self, thread_id: str) -> ThreadView | None:
        docs = self._thread_docs(thread_id)
        if not docs:
            return None
        by_id = {d["message_id"]: d for d in docs}

        def when(doc: dict[str, Any]) -> tuple[str, str]:
            return (iso(doc.get("date")) or "9999", doc["message_id"])

        parent_of: dict[str, str | None] = {}
        for doc in docs:
            candidates = [doc.get("in_reply_to"), *reversed((doc.get("references") or "").split())]
            parent_of[doc["message_id"]] = next(
                (c for c in candidates if c and c in by_id and c != doc["message_id"]), None
            )
        children: dict[str | None, list[dict[str, Any]]] = {}
        for doc in sorted(docs, key=when):
            children.setdefault(parent_of[doc["message_id"]], []).append(doc)
        # Messages whose parent chain loops (bad headers) become roots.
        placed: set[str] = set()
        nodes: list[ThreadNode] = []
        # An explicit stack, never recursion: threads can be thousands deep.
        stack: list[tuple[dict[str, Any], int]] = [(d, 0) for d in reversed(children.get(None, []))]
        leftovers = [d for d in sorted(docs, key=when)]
        while stack or leftovers:
            if not stack:
                doc = leftovers.pop(0)
                if doc["message_id"] in placed:
                    continue
                stack.append((doc, 0))
            doc, depth = stack.pop()
            mid = doc["message_id"]
            if mid in placed:
                continue
            placed.add(mid)
            first_line = next(
                (line.strip() for line in (doc.get("original") or "").splitlines() if line.strip()),
                "",
            )
            nodes.append(
                ThreadNode(
                    message_id=mid,
                    parent_id=parent_of[mid] if depth else None,
                    depth=depth,
                    author=doc.get("author") or "",
                    date=iso(doc.get("date")),
                    subject=doc.get("subject") or "",
                    first_line=first_line[:200],
                )
            )
            for child in reversed(children.get(mid, [])):
                stack.append((child, depth + 1))
        root = by_id.get(thread_id) or min(docs, key=when)
        return ThreadView(thread_id, root.get("subject") or "", tuple(nodes))

    def neighbours(self, message_id: str) -> tuple[str | None, str | None]:
        """The previous and next message of the same thread, by date."""
        view = self.message(message_id)
        if view is None:
            return None, None
        docs = self._thread_docs(view.thread_id)
        ordered = sorted(docs, key=lambda d: (iso(d.get("date")) or "9999", d["message_id"]))
        ids = [d["message_id"] for d in ordered]
        at = ids.index(message_id)
        return (ids[at - 1] if at else None, ids[at + 1] if at + 1 < len(ids) else None)

    def author(self, name: str) -> AuthorView | None:
        self.refresh()
        with self._lock:
            searcher = self._searcher
            own = set(searcher.docs_for_query(wq.Term("author", name)))
            if not own:
                return None
            counts = self._facets.count(
                searcher, own, ("year", "list", "quoted_author", "group", "email", "affiliation")
            )
            quoting = set(searcher.docs_for_query(wq.Term("quoted_author", name)))
            quoted_by = self._facets.count(searcher, quoting, ("author",))["author"]

        def most(counter: Counter[str]) -> tuple[tuple[str, int], ...]:
            return tuple(sorted(counter.items(), key=lambda kv: (-kv[1], kv[0])))

        return AuthorView(
            name=name,
            emails=tuple(sorted(counts["email"])),
            group=counts["group"].most_common(1)[0][0] if counts["group"] else None,
            affiliation=(
                counts["affiliation"].most_common(1)[0][0] if counts["affiliation"] else None
            ),
            total=len(own),
            years=tuple(sorted(counts["year"].items())),
            lists=most(counts["list"]),
            quotes=most(counts["quoted_author"]),
            quoted_by=most(quoted_by),
        )

    def more_like_this(self, message_id: str, limit: int = 10) -> tuple[Hit, ...]:
        self.refresh()
        with self._lock:
            searcher = self._searcher
            docnum = searcher.document_number(message_id=message_id)
            if docnum is None:
                return ()
            stored = searcher.stored_fields(docnum)
            text = " ".join(filter(None, (stored.get("subject"), stored.get("original"))))
            if not text.strip():
                return ()
            found = searcher.more_like(docnum, "original", text=text, top=limit)
            return tuple(self._hit(h.fields(), h.score, {}, False) for h in found)

    @staticmethod
    def _edge_date(searcher: Any, month: str, last: bool) -> str | None:
        year, number = int(month[:4]), int(month[5:7])
        start = datetime(year, number, 1)
        end = datetime(year + number // 12, number % 12 + 1, 1)
        within = wq.DateRange("date", start, end - timedelta(microseconds=1))
        found = searcher.search(within, sortedby="date", reverse=last, limit=1)
        return iso(found[0].get("date")) if found.scored_length() else None

    def stats(self) -> dict[str, Any]:
        self.refresh()
        with self._lock:
            searcher = self._searcher
            every = set(searcher.docs_for_query(wq.Every()))
            counts = self._facets.count(searcher, every, ("author", "list", "month"))
            # Not Every("date"): a date is indexed as many numeric terms, and their union
            # took 20 s at 20,000 messages. The cached month column narrows the search.
            months = sorted(counts["month"])
            first_date = self._edge_date(searcher, months[0], last=False) if months else None
            last_date = self._edge_date(searcher, months[-1], last=True) if months else None
        size = sum(p.stat().st_size for p in self.index_dir.iterdir() if p.is_file())
        return {
            "messages": len(every),
            "authors": len(counts["author"]),
            "lists": len(counts["list"]),
            "first_date": first_date,
            "last_date": last_date,
            "index_bytes": size,
            "index_dir": str(self.index_dir),
        }


__all__ = ["Engine", "SCHEMA"]
