"""The OpenSearch backend's Reader: the same answers as the Whoosh backend, from a cluster.

A match is one search request (query, filters as a ``filter`` clause, sort, size, exact
total, highlighting of the page); facets are a second request of terms aggregations over
the same query; stored fields of a page arrive with its hits. The cluster is near-real-
time: every request sees what the last commit refreshed, so there is no searcher to reopen.

Facet counts are exact: each terms aggregation asks for up to FACET_VALUES buckets with a
shard_size as large, so no shard drops a value it holds (beyond FACET_VALUES distinct
values of one facet the smallest are cut, which the web's sidebar never shows anyway).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import nullcontext
from datetime import datetime, timedelta
from typing import Any

from opensearchpy import NotFoundError, OpenSearch

from analysis import DEFAULT_LANGUAGES
from analysis.stem import stemmable, stemmers
from analysis.text import fold, tokenize
from backends.opensearch import highlight
from backends.opensearch.bulk import doc_id
from backends.opensearch.mapping import exact_tokens, from_source
from backends.opensearch.store import check_analysis, connect, generation, get_many, scan
from backends.opensearch.translate import to_dsl
from core import query as q
from core.backend import Matched, SnippetParts
from core.config import Settings
from core.errors import IndexNotFound, QueryError
from core.fields import BY_NAME, COLUMNS, DEFAULT_FIELDS, STEMMED, TEXT_FIELDS
from core.snippets import lead

FACET_VALUES = 10_000
# The largest page the engine shows (max_page_size): the last PAGE_MAX hits of a match
# arrive with their documents and highlights; the ones before as references only.
PAGE_MAX = 100
# Hits per request when walking a match with search_after.
WALK = 1000
# Undated messages end both date sorts, as in the Whoosh backend (issue 15).
_SORTS = {"date": [{"date": {"order": "asc", "missing": "_last"}}, {"message_id": "asc"}],
          "-date": [{"date": {"order": "desc", "missing": "_last"}}, {"message_id": "asc"}]}


# The timeline's periods, counted by the cluster as a date_histogram over ``date`` (in UTC,
# as index/document.py derives the year and month fields from it), not as terms over the
# stored strings: one bucket a calendar period, exact on every shard count, undated
# messages in none (they have no year or month either).
_PERIODS = {"month": ("month", "yyyy-MM"), "year": ("year", "yyyy")}


def _aggregation(name: str) -> dict[str, Any]:
    if name in _PERIODS:
        interval, form = _PERIODS[name]
        return {"date_histogram": {"field": "date", "calendar_interval": interval,
                                   "format": form, "time_zone": "UTC", "min_doc_count": 1}}
    return {"terms": {"field": COLUMNS[name], "size": FACET_VALUES,
                      "shard_size": FACET_VALUES}}


def _key(bucket: dict[str, Any]) -> str:
    return str(bucket.get("key_as_string", bucket["key"]))


def _expansion(leaf: q.Node, most: int) -> tuple[str, dict[str, Any]] | None:
    """The field and the capped multi-term query that lists a leaf's words, or None when the
    leaf expands to no words (terms, phrases, ranges, dates)."""
    rewrite = f"top_terms_{most}"
    if isinstance(leaf, q.Every) and leaf.field and BY_NAME[leaf.field].kind != "date":
        # quoted:*, from:*: every word of the field (Whoosh walks its whole lexicon).
        return leaf.field, {"prefix": {leaf.field: {"value": "", "rewrite": rewrite}}}
    if isinstance(leaf, (q.Prefix, q.Wildcard)):
        field = BY_NAME[leaf.field]
        value = leaf.text if isinstance(leaf, q.Prefix) else leaf.pattern
        # As translate.py sends them: folded on text fields, lowercased on keyword ones.
        value = fold(value) if field.kind == "text" else value.lower()
        kind = "prefix" if isinstance(leaf, q.Prefix) else "wildcard"
        return field.name, {kind: {field.name: {"value": value, "rewrite": rewrite}}}
    return None


def _listed(explanation: str, field: str) -> list[str]:
    """The words of a rewritten query's explanation: ``field:w1 field:w2 ...`` (a keyword
    value may hold spaces, so the text is cut at each `` field:``, not at every space)."""
    text = explanation.strip().strip("()")
    head = f"{field}:"
    if not text.startswith(head):
        return []
    return [w for w in text[len(head):].split(f" {head}") if w]


def _as_typed(leaf: q.Node) -> str:
    """A leaf as the user wrote it, for the refusal (the Whoosh backend's wording)."""
    if isinstance(leaf, q.Every):
        field = BY_NAME[leaf.field] if leaf.field else None
        typed = (field.prefixes[0] if field.prefixes and field.name not in DEFAULT_FIELDS
                 else field.name) if field else ""
        return f"{typed}:*"
    if isinstance(leaf, q.Prefix):
        return f"{leaf.text}*"
    if isinstance(leaf, q.Wildcard):
        return leaf.pattern
    return str(getattr(leaf, "text", ""))


def _after(sort_values: list[Any] | None) -> dict[str, Any]:
    return {"search_after": sort_values} if sort_values else {}


class OpenSearchReader:
    name = "opensearch"

    def __init__(self, settings: Settings, client: OpenSearch | None = None) -> None:
        self.settings = settings
        self.index = settings.opensearch_index
        self.client = client or connect(settings)
        if not self.client.indices.exists(index=self.index):
            raise IndexNotFound(
                f"no index {self.index!r} on {', '.join(settings.opensearch_url)}; "
                "build one with `govmail index ARCHIVE`"
            )
        check_analysis(self.client, self.index)
        self._lock = threading.Lock()

    # ---- lifetime ---------------------------------------------------------------------

    def refresh(self) -> bool:
        return False

    def pinned(self) -> Any:
        return nullcontext()

    def close(self) -> None:
        self.client.close()

    def generation(self) -> int:
        return generation(self.client, self.index)

    # ---- matching -----------------------------------------------------------------------

    def _languages(self) -> tuple[str, ...]:
        """The languages the index holds: a query word is given their stems."""
        body = {"size": 0, "aggs": {"lang": {"terms": {"field": "lang", "size": 1000}}}}
        buckets = self._search(body)["aggregations"]["lang"]["buckets"]
        return tuple(sorted(str(b["key"]) for b in buckets))

    def _body(self, query: q.Node, filters: q.Node | None) -> dict[str, Any]:
        languages = self._languages()
        clause: dict[str, Any] = {"must": [to_dsl(query, languages)]}
        if filters is not None:
            clause["filter"] = [to_dsl(filters, languages)]
        return {"bool": clause}

    def _search(self, body: dict[str, Any], **params: Any) -> dict[str, Any]:
        try:
            return self.client.search(index=self.index, body=body, **params)
        except NotFoundError as exc:
            raise IndexNotFound(f"no index {self.index!r}") from exc

    def match(
        self,
        query: q.Node,
        filters: q.Node | None,
        sort: str,
        limit: int,
        max_terms: int,
        memo: dict[str, Any] | None = None,
    ) -> Matched:
        self._check_expansion(query, max_terms)
        dsl = self._body(query, filters)
        order = _SORTS.get(sort) or ["_score", {"message_id": "asc"}]
        body: dict[str, Any] = {"query": dsl, "track_total_hits": True, "sort": order}
        # Ranked: BM25 over the whole index's term statistics, not each shard's, so that a
        # message scores the same on any number of shards (one extra round trip).
        ranked = {"search_type": "dfs_query_then_fetch"} if sort == "relevance" else {}
        top: list[tuple[Any, float | None]] = []
        cache: dict[str, dict[str, Any]] = {}
        # The pages before the one shown: references only, walked with search_after (no
        # from/size window to outgrow, no documents fetched that nobody shows).
        skipped = max(0, limit - PAGE_MAX)
        after, total = None, None
        while len(top) < skipped:
            size = min(WALK, skipped - len(top))
            page = self._search({**body, "size": size, "_source": False, **_after(after)},
                                **ranked)["hits"]
            total = int(page["total"]["value"])
            for hit in page["hits"]:
                top.append((hit["sort"][-1], hit["_score"] if sort == "relevance" else None))
            if len(page["hits"]) < size:
                break
            after = page["hits"][-1]["sort"]
        if len(top) >= skipped:
            shown = {**body, "size": limit - len(top), **_after(after)}
            page = self._search(shown, **ranked)["hits"]
            total = int(page["total"]["value"])
            for hit in page["hits"]:
                stored = from_source(hit["_source"])
                cache[stored["message_id"]] = stored
                top.append((stored["message_id"], hit["_score"] if sort == "relevance" else None))
        return Matched(int(total or 0), top, (dsl, cache))

    def _check_expansion(self, query: q.Node, max_terms: int) -> None:
        """Refuse prefixes, wildcards and ``field:*`` that reach more than max_terms index
        words in all, as the Whoosh backend refuses them, with its words.

        The cluster lists the words: the leaf is rewritten on every shard (``_validate``
        with ``rewrite``) as a ``top_terms_<max_terms + 1>`` query, so no shard lists more
        than one word past the bound however short the prefix, and the union of the shards'
        words is the leaf's expansion. (A leading wildcard never gets here: the parser
        refuses it for both backends.)
        """
        total = 0
        for leaf in q.leaves(query):
            clause = _expansion(leaf, max_terms + 1)
            if clause is None:
                continue
            field, dsl = clause
            try:
                answer = self.client.indices.validate_query(
                    index=self.index, body={"query": dsl}, rewrite=True, all_shards=True)
            except NotFoundError as exc:
                raise IndexNotFound(f"no index {self.index!r}") from exc
            words: set[str] = set()
            for shard in answer.get("explanations", ()):
                words.update(_listed(shard.get("explanation") or "", field))
            total += len(words)
            if total > max_terms:
                raise QueryError(
                    f"{_as_typed(leaf)} matches too many words (more than {max_terms}); "
                    "make it longer"
                )

    def matching(self, query: q.Node, limit: int | None = None) -> Matched:
        dsl = self._body(query, None)
        body = {"query": dsl, "track_total_hits": True,
                "sort": [{"date": "asc"}, {"message_id": "asc"}]}
        cache: dict[str, dict[str, Any]] = {}
        after, total = None, 0
        while True:
            size = WALK if limit is None else min(WALK, limit - len(cache))
            page = self._search({**body, "size": size, **_after(after)})["hits"]
            total = int(page["total"]["value"])
            for hit in page["hits"]:
                stored = from_source(hit["_source"])
                cache[stored["message_id"]] = stored
            if len(page["hits"]) < size or size == 0:
                break
            after = page["hits"][-1]["sort"]
        return Matched(total, [(m, None) for m in cache], (dsl, cache))

    def count(self, matched: Matched, names: Iterable[str]) -> dict[str, Counter[str]]:
        dsl, _ = matched.handle
        names = tuple(names)
        aggs = {name: _aggregation(name) for name in names}
        found = self._search({"query": dsl, "size": 0, "aggs": aggs})["aggregations"]
        return {name: Counter({_key(b): b["doc_count"] for b in found[name]["buckets"]
                               if b["doc_count"]})
                for name in names}

    # ---- documents ------------------------------------------------------------------------

    def stored(self, matched: Matched, ref: Any) -> dict[str, Any]:
        _, cache = matched.handle
        if ref not in cache:
            cache.update(get_many(self.client, self.index, [ref]))
        return cache[ref]

    def get(self, message_id: str) -> dict[str, Any] | None:
        return get_many(self.client, self.index, [message_id]).get(message_id)

    def has(self, message_ids: Iterable[str]) -> set[str]:
        keys = {doc_id(m): m for m in message_ids}
        if not keys:
            return set()
        docs = self.client.mget(index=self.index, body={"ids": list(keys)}, _source=False)["docs"]
        return {keys[d["_id"]] for d in docs if d.get("found")}

    def documents(self) -> Iterator[dict[str, Any]]:
        return scan(self.client, self.index)

    def doc_count(self) -> int:
        return int(self.client.count(index=self.index)["count"])

    def size_bytes(self) -> int:
        stats = self.client.indices.stats(index=self.index, metric="store")
        return int(stats["_all"]["primaries"]["store"]["size_in_bytes"])

    # ---- text ----------------------------------------------------------------------------

    def highlight_words(self, query: q.Node) -> dict[str, set[str]]:
        """field -> the query's exact words (wildcards and prefixes as patterns), stem
        sub-field -> its stems, for ``snippet`` to mark in the stored text."""
        languages = self._languages() or DEFAULT_LANGUAGES
        found: dict[str, set[str]] = {}
        for leaf in q.leaves(query):
            field = getattr(leaf, "field", None)
            if field not in TEXT_FIELDS:
                continue
            words = found.setdefault(field, set())
            if isinstance(leaf, q.Prefix):
                words.add(fold(leaf.text) + "*")
            elif isinstance(leaf, q.Wildcard):
                words.add(fold(leaf.pattern))
            elif isinstance(leaf, (q.Term, q.Phrase)):
                tokens = list(tokenize(leaf.text, query=True))
                words.update(t.text for t in tokens)
                sub = STEMMED.get(field)
                if isinstance(leaf, q.Term) and sub and len(tokens) == 1 and stemmable(
                    tokens[0].text, tokens[0].kind
                ):
                    found.setdefault(sub, set()).update(
                        stemmers().stems(tokens[0].text, languages))
        return found

    def snippet(
        self, stored: dict[str, Any], words: dict[str, set[str]], wanted: bool
    ) -> tuple[SnippetParts, str]:
        """Snippet parts and the field they came from: original, else quoted when only it matched."""
        original = stored.get("original") or ""
        if wanted:
            for field in ("original", "quoted"):
                terms = words.get(field) or set()
                stems = words.get(STEMMED.get(field, "")) or set()
                text = stored.get(field) or ""
                if not (terms or stems) or not text:
                    continue
                parts = highlight.marked(text, terms, stems, stored.get("lang"))
                if parts:
                    return parts, field
        return lead(original), "original"

    def index_forms(self, word: str) -> list[str]:
        """What a typed word becomes in the index's text fields, for "did you mean"."""
        return [t.text for t in tokenize(word, query=True)]

    def known(self, fields: Iterable[str], form: str) -> bool:
        should = [{"term": {f: form}} for f in fields]
        body = {"query": {"bool": {"should": should, "minimum_should_match": 1}}}
        return bool(self.client.count(index=self.index, body=body)["count"])

    def nearest(self, field: str, form: str) -> str | None:
        body = {"size": 0, "suggest": {"word": {"text": form, "term": {
            "field": field, "suggest_mode": "missing", "prefix_length": 1,
            "max_edits": 2, "size": 1}}}}
        found = self._search(body)["suggest"]["word"]
        options = found[0]["options"] if found else []
        return options[0]["text"] if options and options[0]["text"] != form else None

    def more_like(self, message_id: str, limit: int) -> list[tuple[dict[str, Any], float]]:
        # The token fields are not in _source, so the message is given as its tokens.
        stored = self.get(message_id)
        if stored is None:
            return []
        text = " ".join(filter(None, (stored.get("subject"), stored.get("original"))))
        like = exact_tokens(text)
        if not like:
            return []
        body = {"size": limit, "query": {"bool": {
            "must": [{"more_like_this": {"fields": ["subject", "original"], "like": [like],
                                         "min_term_freq": 1, "min_doc_freq": 1}}],
            "must_not": [{"ids": {"values": [doc_id(message_id)]}}]}}}
        hits = self._search(body)["hits"]["hits"]
        return [(from_source(h["_source"]), h["_score"]) for h in hits]

    def date_edge(self, month: str, last: bool) -> datetime | None:
        year, number = int(month[:4]), int(month[5:7])
        start = datetime(year, number, 1)
        end = datetime(year + number // 12, number % 12 + 1, 1) - timedelta(microseconds=1)
        body = {"size": 1, "query": {"range": {"date": {"gte": start.isoformat(),
                                                        "lte": end.isoformat()}}},
                "sort": [{"date": "desc" if last else "asc"}]}
        hits = self._search(body)["hits"]["hits"]
        return from_source(hits[0]["_source"]).get("date") if hits else None
