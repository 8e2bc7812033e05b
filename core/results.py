"""The records a search returns, and THE JSON shape of results (DESIGN.md).

The CLI's ``--format json`` and the web API both print :meth:`Results.to_json`;
``core/result.schema.json`` pins that shape and tests check both against it.
Views of single messages, threads and authors live here too, each with ``to_json``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from html import escape
from types import MappingProxyType
from typing import Any

SORTS = ("relevance", "date", "-date")


@dataclass(frozen=True, slots=True)
class SearchRequest:
    query: str = ""
    # facet name -> values: OR within a facet, AND across facets.
    filters: Mapping[str, tuple[str, ...]] = field(
        default_factory=lambda: MappingProxyType({})
    )
    sort: str = "relevance"
    page: int = 1
    page_size: int = 20
    include_quoted: bool = False
    with_facets: bool = True
    highlight: bool = True


@dataclass(frozen=True, slots=True)
class FacetValue:
    value: str
    count: int
    selected: bool = False


def snippet_html(parts: tuple[tuple[str, bool], ...]) -> str:
    """Text escaped, matches in <mark>: safe to put straight into a page."""
    return "".join(f"<mark>{escape(t)}</mark>" if hit else escape(t) for t, hit in parts)


@dataclass(frozen=True, slots=True)
class Hit:
    message_id: str
    subject: str
    author: str
    email: str | None
    date: str | None
    list: str
    lists: tuple[str, ...]
    thread_id: str
    score: float | None
    snippet: str
    snippet_parts: tuple[tuple[str, bool], ...]
    snippet_field: str

    def to_json(self) -> dict[str, Any]:
        return {
            "message_id": self.message_id,
            "subject": self.subject,
            "author": self.author,
            "email": self.email,
            "date": self.date,
            "list": self.list,
            "lists": list(self.lists),
            "thread_id": self.thread_id,
            "score": self.score,
            "snippet": self.snippet,
            "snippet_field": self.snippet_field,
        }


@dataclass(frozen=True, slots=True)
class Results:
    request: SearchRequest
    total: int
    hits: tuple[Hit, ...]
    # Exact counts over the whole result set, not the page.
    facets: dict[str, tuple[FacetValue, ...]]
    suggestion: str | None
    elapsed_ms: float

    @property
    def pages(self) -> int:
        size = max(1, self.request.page_size)
        return max(1, -(-self.total // size))

    def to_json(self) -> dict[str, Any]:
        return {
            "query": self.request.query,
            "total": self.total,
            "page": self.request.page,
            "page_size": self.request.page_size,
            "sort": self.request.sort,
            "filters": {k: list(v) for k, v in self.request.filters.items()},
            "hits": [hit.to_json() for hit in self.hits],
            "facets": {
                name: [[v.value, v.count] for v in values] for name, values in self.facets.items()
            },
            "suggestion": self.suggestion,
            "elapsed_ms": round(self.elapsed_ms, 3),
        }


@dataclass(frozen=True, slots=True)
class MessageView:
    message_id: str
    subject: str
    subject_normalized: str
    author: str
    author_name: str | None
    email: str | None
    group: str | None
    affiliation: str | None
    date: str | None
    lists: tuple[str, ...]
    thread_id: str
    in_reply_to: str | None
    references: tuple[str, ...]
    original: str
    quoted: str
    # Each: author, message_id, depth, text, known (that message is in the index).
    quotes: tuple[dict[str, Any], ...]
    signature: str
    footer: str
    charset: dict[str, Any]
    attachments: tuple[dict[str, Any], ...]
    source: dict[str, Any]
    headers: str
    author_source: str | None
    date_source: str | None
    message_id_source: str | None
    notes: tuple[str, ...]
    # Index values (core/refkeys.py): documents and document/part cited in the own words
    # and in quoted text, organisations named.
    cites: tuple[str, ...] = ()
    quoted_cites: tuple[str, ...] = ()
    mentions: tuple[str, ...] = ()
    # Where each stands (index/document.py's reference_spans): quote (-1: own words),
    # start, end, field, value. Offsets into the texts as stored, before any obfuscation.
    reference_spans: tuple[tuple[int, int, int, str, str], ...] = ()

    @property
    def list(self) -> str:
        return self.lists[0] if self.lists else ""

    def to_json(self) -> dict[str, Any]:
        return {
            "message_id": self.message_id,
            "subject": self.subject,
            "subject_normalized": self.subject_normalized,
            "author": self.author,
            "author_name": self.author_name,
            "email": self.email,
            "group": self.group,
            "affiliation": self.affiliation,
            "date": self.date,
            "list": self.list,
            "lists": list(self.lists),
            "thread_id": self.thread_id,
            "in_reply_to": self.in_reply_to,
            "references": list(self.references),
            "original": self.original,
            "quoted": self.quoted,
            "quotes": [dict(q) for q in self.quotes],
            "signature": self.signature,
            "footer": self.footer,
            "charset": self.charset,
            "attachments": [dict(a) for a in self.attachments],
            "source": self.source,
            "headers": self.headers,
            "author_source": self.author_source,
            "date_source": self.date_source,
            "message_id_source": self.message_id_source,
            "notes": list(self.notes),
            "cites": list(self.cites),
            "quoted_cites": list(self.quoted_cites),
            "mentions": list(self.mentions),
            "reference_spans": [list(s) for s in self.reference_spans],
        }


@dataclass(frozen=True, slots=True)
class ThreadNode:
    message_id: str
    parent_id: str | None
    depth: int
    author: str
    date: str | None
    subject: str
    first_line: str

    def to_json(self) -> dict[str, Any]:
        return {
            "message_id": self.message_id,
            "parent_id": self.parent_id,
            "depth": self.depth,
            "author": self.author,
            "date": self.date,
            "subject": self.subject,
            "first_line": self.first_line,
        }


@dataclass(frozen=True, slots=True)
class ThreadView:
    thread_id: str
    subject: str
    # Depth-first in date order: each node follows its parent, siblings oldest first.
    nodes: tuple[ThreadNode, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "thread_id": self.thread_id,
            "subject": self.subject,
            "messages": [n.to_json() for n in self.nodes],
        }


@dataclass(frozen=True, slots=True)
class AuthorView:
    name: str
    emails: tuple[str, ...]
    group: str | None
    affiliation: str | None
    total: int
    years: tuple[tuple[str, int], ...]
    lists: tuple[tuple[str, int], ...]
    # Whom this author quotes, and who quotes them, most first.
    quotes: tuple[tuple[str, int], ...]
    quoted_by: tuple[tuple[str, int], ...]
    # What this author cites in their own words (documents, document/part) and the
    # organisations they name, most first.
    cites: tuple[tuple[str, int], ...] = ()
    mentions: tuple[tuple[str, int], ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "emails": list(self.emails),
            "group": self.group,
            "affiliation": self.affiliation,
            "total": self.total,
            "years": [list(p) for p in self.years],
            "lists": [list(p) for p in self.lists],
            "quotes": [list(p) for p in self.quotes],
            "quoted_by": [list(p) for p in self.quoted_by],
            "cites": [list(p) for p in self.cites],
            "mentions": [list(p) for p in self.mentions],
        }
