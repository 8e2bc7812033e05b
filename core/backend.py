"""The seam every search engine implements: a Reader for search and views, a Writer for ingestion.

A backend stores documents keyed by the field table of ``core/fields.py`` (a document is
a dict of field name -> value, as ``index/document.py`` builds it) and answers the neutral
query tree of ``core/query.py``. ``search/engine.py`` is written against these protocols
only; ``tests/backends/`` is the contract suite each backend must pass.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from core import query as q

# A snippet as (text, is_match) pieces, so each view escapes and marks it its own way.
SnippetParts = tuple[tuple[str, bool], ...]


@dataclass(slots=True)
class Matched:
    """One match: how many documents, the best ones in the order asked, and a handle.

    ``top`` holds (document reference, score or None); a reference means something only
    to the backend that returned it, as does ``handle`` (what counting facets needs).
    """

    total: int
    top: list[tuple[Any, float | None]]
    handle: Any


class Reader(Protocol):
    name: str

    def refresh(self) -> bool:
        """See what writers committed since; True when anything changed."""

    def pinned(self) -> AbstractContextManager[Any]:
        """Hold the current generation for a request: its references stay valid inside."""

    def close(self) -> None: ...

    def generation(self) -> int:
        """The commit this reader sees (grows with every commit)."""

    def match(
        self,
        query: q.Node,
        filters: q.Node | None,
        sort: str,
        limit: int,
        max_terms: int,
        memo: dict[str, Any] | None = None,
    ) -> Matched:
        """Every match of query AND filters; the best `limit` by score, date or -date.

        Raises QueryError when a wildcard or range expands past max_terms.
        """

    def matching(self, query: q.Node, limit: int | None = None) -> Matched:
        """Every match, unranked; ``top`` holds the references of all of them (at most
        ``limit``: 0 when only the total and counts are wanted)."""

    def count(self, matched: Matched, names: Iterable[str]) -> dict[str, Counter[str]]:
        """Values of facet or column fields (core.fields.COLUMNS names) over a match."""

    def stored(self, matched: Matched, ref: Any) -> dict[str, Any]: ...

    def get(self, message_id: str) -> dict[str, Any] | None: ...

    def has(self, message_ids: Iterable[str]) -> set[str]: ...

    def documents(self) -> Iterator[dict[str, Any]]: ...

    def doc_count(self) -> int: ...

    def size_bytes(self) -> int: ...

    def highlight_words(self, query: q.Node) -> dict[str, set[str]]:
        """field -> the index words a query reaches there (wildcards expanded)."""

    def snippet(
        self, stored: Mapping[str, Any], words: dict[str, set[str]], wanted: bool
    ) -> tuple[SnippetParts, str]: ...

    def index_forms(self, word: str) -> list[str]: ...

    def known(self, fields: Iterable[str], form: str) -> bool: ...

    def nearest(self, field: str, form: str) -> str | None: ...

    def more_like(self, message_id: str, limit: int) -> list[tuple[dict[str, Any], float]]: ...

    def date_edge(self, month: str, last: bool) -> datetime | None: ...


class Writer(Protocol):
    """One batch of changes; nothing is visible to readers before ``commit``."""

    def add(self, document: Mapping[str, Any]) -> None: ...

    def replace(self, document: Mapping[str, Any]) -> None:
        """Add, replacing the document with the same message_id if there is one."""

    def delete(self, message_id: str) -> None: ...

    def commit(self) -> int:
        """Make the batch visible; returns the new generation."""

    def cancel(self) -> None: ...


class Store(Protocol):
    """An opened index, for writing: its generation, readers of it and batch writers."""

    def generation(self) -> int: ...

    def writer(self, documents: int) -> Writer:
        """A writer for a batch of about `documents` documents (it may parallelise big ones)."""

    def get(self, message_id: str) -> dict[str, Any] | None: ...

    def get_many(self, message_ids: Iterable[str]) -> dict[str, dict[str, Any]]: ...

    def documents(self) -> Iterator[dict[str, Any]]: ...

    def doc_count(self) -> int: ...

    def close(self) -> None: ...
