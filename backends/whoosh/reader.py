"""The Whoosh backend's Reader: one searcher per index generation, shared by every thread.

Owns the searcher's lifetime (reopened only after a commit), matching (set-at-a-time in
``matching.py`` for terms and phrases, Whoosh's collectors for the rest), facet counting
over the cached columns, stored fields, highlighting, spelling suggestions and
more-like-this. Whoosh reads segment files through shared file objects, so one lock
serialises the use of the searcher; with the GIL, Python-bound scoring would not run in
parallel anyway.
"""

from __future__ import annotations

import heapq
import re
import threading
from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from whoosh import collectors, highlight
from whoosh import index as windex
from whoosh import query as wq

from analysis import ANALYSIS_VERSION
from analysis.stem import TAG_SEPARATOR, stemmable, stemmers
from backends.whoosh import matching, patches
from backends.whoosh.columns import FacetCounter
from backends.whoosh.schema import analysis_version
from backends.whoosh.translate import check_expansion, expanded_terms, to_whoosh
from core import query as q
from core.backend import Matched, SnippetParts
from core.errors import IndexNotFound
from core.fields import STEMMED
from core.snippets import SNIPPET_CHARS, lead, tidy

HIGHLIGHT_CHARS = 50_000
_SPACES = re.compile(r"\s+")


def exists(index_dir: Path) -> bool:
    return index_dir.is_dir() and windex.exists_in(str(index_dir))


class _PartsFormatter(highlight.Formatter):
    """Whoosh formatter that returns (text, is_match) pieces instead of markup."""

    between = " "

    def format(self, fragments: list[Any], replace: bool = False) -> SnippetParts:
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
        return tidy(parts)


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


# The text a token of a highlighted field takes when it matched by its stem only.
_STEM_MATCH = "\x00stem"


class _StemMarking:
    """The field's analyzer for the highlighter, with words that match by stem marked.

    A word is stemmed only when it starts like one of the matched stems (Snowball stems
    are prefixes of their words, vocabulary.toml's too), so a 50,000-character message
    costs a few stems, not one a word.
    """

    def __init__(self, analyzer: Any, stems: set[str], lang: str | None) -> None:
        self._analyzer = analyzer
        self._stems = stems
        self._lang = lang
        self._heads = {s.partition(TAG_SEPARATOR)[2][:3] for s in stems}

    def __call__(self, text: str, **options: Any) -> Iterator[Any]:
        stem = stemmers().stem
        heads, stems, lang = self._heads, self._stems, self._lang
        for token in self._analyzer(text, **options):
            word = token.text
            if word[:3] in heads and stemmable(word, "word") and stem(word, lang) in stems:
                token.text = _STEM_MATCH
            yield token


class WhooshReader:
    """Opened once per process; every method is safe to call from several threads."""

    name = "whoosh"

    def __init__(self, index_dir: Path) -> None:
        patches.apply()
        self.index_dir = Path(index_dir)
        if not exists(self.index_dir):
            raise IndexNotFound(
                f"no index at {self.index_dir}; build one with `govmail index ARCHIVE`"
            )
        self._index = windex.open_dir(str(self.index_dir))
        self._searcher = self._index.searcher()
        self._lock = threading.RLock()
        self._facets = FacetCounter(self.index_dir)
        self._segments = matching.match_cache()
        self._schema = self._index.schema
        self._current = analysis_version(self._schema) == ANALYSIS_VERSION
        self._analyzer = self._schema["original"].analyzer
        self._languages = self._read_languages()

    def _read_languages(self) -> tuple[str, ...]:
        """The languages the index holds: a query word is given their stems."""
        reader = self._searcher.reader()
        if "lang" not in self._schema:
            return ()
        return tuple(sorted(b.decode("utf-8") if isinstance(b, bytes) else b
                            for b in reader.lexicon("lang")))

    def _translate(self, query: q.Node) -> wq.Query:
        return to_whoosh(query, self._schema, self._languages)

    # ---- lifetime ----------------------------------------------------------------

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
            self._languages = self._read_languages()
            return True

    def pinned(self) -> threading.RLock:
        """The searcher stays open while this is held: refresh() waits for it."""
        return self._lock

    def close(self) -> None:
        with self._lock:
            self._searcher.close()

    def generation(self) -> int:
        """The commit the open searcher reads (not the newest on disk: a commit after the
        last refresh is not seen yet, and results cached by generation must not claim it)."""
        with self._lock:
            return int(self._searcher.reader().generation())

    # ---- matching -----------------------------------------------------------------

    def match(
        self,
        query: q.Node,
        filters: q.Node | None,
        sort: str,
        limit: int,
        max_terms: int,
        memo: dict[str, Any] | None = None,
    ) -> Matched:
        """Every match of query AND filters, and the best `limit` by score or date."""
        wquery = self._translate(query)
        wfilters = self._translate(filters) if filters is not None else None
        with self._lock:
            searcher = self._searcher
            check_expansion(wquery, searcher.reader(), max_terms)
            if matching.supported(wquery) and (wfilters is None or matching.supported(wfilters)):
                found = matching.run(searcher, self._segments, wquery, wfilters, sort, limit,
                                     memo)
                return Matched(found.total, found.top, (searcher, found.matches))
            if not limit:
                whole = wq.And([wquery, wfilters]) if wfilters is not None else wquery
                docset = set(searcher.docs_for_query(whole))
                return Matched(len(docset), [], (searcher, docset))
            total, top, docset = self._collect(searcher, wquery, sort, limit, wfilters)
            return Matched(total, top, (searcher, docset))

    def _collect(
        self, searcher: Any, query: wq.Query, sort: str, limit: int, filters: wq.Query | None
    ) -> tuple[int, list[tuple[int, float | None]], set[int]]:
        """Whoosh's collectors, for queries matching.py does not evaluate.

        One pass over the matches: the top of the page order and every matching docnum
        (counting with docs_for_query and then scoring in a second search cost a quarter
        of each query's time at 20,000 messages).
        """
        inner: Any
        if sort == "relevance":
            inner = _CountingTopCollector(limit)
        elif sort == "-date":
            inner = collectors.SortingCollector(
                matching.newest_first_facet(searcher, self._segments.view(searcher)),
                limit=limit, reverse=True)
        else:
            inner = collectors.SortingCollector("date", limit=limit)
        collector = collectors.FilterCollector(inner, allow=filters) if filters else inner
        searcher.search_with_collector(query, collector)
        found = collector.results()
        scored = sort == "relevance"
        top = [
            (found.docnum(n), found.score(n) if scored else None)
            for n in range(min(limit, found.scored_length()))
        ]
        return len(inner.docset), top, inner.docset

    def count(self, matched: Matched, names: Iterable[str]) -> dict[str, Counter[str]]:
        """Facet (or column) values over a match, each document counted once per value."""
        searcher, docnums = matched.handle
        with self._lock:
            return self._facets.count(searcher, docnums, tuple(names))

    def matching(self, query: q.Node, limit: int | None = None) -> Matched:
        """Every document of a query, unranked (views: a thread, an author's messages)."""
        wquery = self._translate(query)
        with self._lock:
            searcher = self._searcher
            docnums = sorted(searcher.docs_for_query(wquery))
            top = [(d, None) for d in (docnums if limit is None else docnums[:limit])]
            return Matched(len(docnums), top, (searcher, docnums))

    # ---- documents -----------------------------------------------------------------

    def stored(self, matched: Matched, docnum: int) -> dict[str, Any]:
        searcher, _ = matched.handle
        with self._lock:
            return dict(searcher.stored_fields(docnum))

    def get(self, message_id: str) -> dict[str, Any] | None:
        with self._lock:
            searcher = self._searcher
            docnum = searcher.document_number(message_id=message_id)
            return None if docnum is None else dict(searcher.stored_fields(docnum))

    def has(self, message_ids: Iterable[str]) -> set[str]:
        with self._lock:
            searcher = self._searcher
            return {m for m in message_ids if searcher.document_number(message_id=m) is not None}

    def documents(self) -> Iterator[dict[str, Any]]:
        """Every stored document (repair, migration, export)."""
        with self._lock:
            found = [dict(d) for d in self._searcher.all_stored_fields()]
        yield from found

    def doc_count(self) -> int:
        with self._lock:
            return int(self._searcher.doc_count())

    def size_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.index_dir.iterdir() if p.is_file())

    # ---- text ------------------------------------------------------------------------

    def highlight_words(self, query: q.Node) -> dict[str, set[str]]:
        wquery = self._translate(query)
        with self._lock:
            return expanded_terms(wquery, self._searcher.reader())

    def snippet(
        self, stored: dict[str, Any], words: dict[str, set[str]], wanted: bool
    ) -> tuple[SnippetParts, str]:
        """Snippet parts and the field they came from: original, else quoted when only it matched."""
        original = stored.get("original") or ""
        if not wanted:
            return lead(original), "original"
        fragmenter = highlight.ContextFragmenter(maxchars=SNIPPET_CHARS, surround=70)
        for field in ("original", "quoted"):
            terms = words.get(field)
            # A match past HIGHLIGHT_CHARS is not shown: re-analysing a whole huge message
            # for each page would cost more than the search.
            text = (stored.get(field) or "")[:HIGHLIGHT_CHARS]
            stems = words.get(STEMMED.get(field, ""))
            if not (terms or stems) or not text:
                continue
            analyzer = self._analyzer
            if stems:
                analyzer = _StemMarking(analyzer, stems, stored.get("lang"))
                terms = {*(terms or ()), _STEM_MATCH}
            # Index mode: a URL's host labels and an address's parts are highlighted too.
            parts = highlight.highlight(
                text, terms, analyzer, fragmenter, _PartsFormatter(), top=2,
                mode="index" if self._current else "query",
            )
            if parts and any(hit for _, hit in parts):
                return parts, field
        return lead(original), "original"

    def index_forms(self, word: str) -> list[str]:
        """What a typed word becomes in the index's text fields, for "did you mean"."""
        return [t.text for t in self._analyzer(word, mode="query")]

    def known(self, fields: Iterable[str], form: str) -> bool:
        with self._lock:
            reader = self._searcher.reader()
            return any(reader.doc_frequency(f, form) for f in fields)

    def nearest(self, field: str, form: str) -> str | None:
        """The nearest indexed word, within an edit distance that grows with the word.

        Stems of long words drift further from a typo ("accountabilty" -> "accountabilti"
        vs "accountabl"), so they get a wider distance. prefix=1: candidates share the
        first letter, which typos rarely touch; it cut a lookup from 0.3-0.7 s to ~10 ms
        at 100,000 messages.
        """
        with self._lock:
            found = self._searcher.suggest(
                field, form, limit=1, maxdist=2 if len(form) < 8 else 3, prefix=1
            )
        return found[0] if found and found[0] != form else None

    def more_like(self, message_id: str, limit: int) -> list[tuple[dict[str, Any], float]]:
        with self._lock:
            searcher = self._searcher
            docnum = searcher.document_number(message_id=message_id)
            if docnum is None:
                return []
            stored = searcher.stored_fields(docnum)
            text = " ".join(filter(None, (stored.get("subject"), stored.get("original"))))
            if not text.strip():
                return []
            found = searcher.more_like(docnum, "original", text=text, top=limit)
            return [(dict(h.fields()), h.score) for h in found]

    def date_edge(self, month: str, last: bool) -> datetime | None:
        """The first (or last) date within a month, which the month column names."""
        year, number = int(month[:4]), int(month[5:7])
        start = datetime(year, number, 1)
        end = datetime(year + number // 12, number % 12 + 1, 1)
        within = wq.DateRange("date", start, end - timedelta(microseconds=1))
        with self._lock:
            found = self._searcher.search(within, sortedby="date", reverse=last, limit=1)
            return found[0].get("date") if found.scored_length() else None
