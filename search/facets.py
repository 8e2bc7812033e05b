"""Facet counts from per-document values cached in memory, and facet filters as exact terms.

Whoosh's ``groupedby`` runs a Python categoriser per matching document per facet
(p95 307 ms at 100k messages, performance-baseline.md §3). Instead each segment's
facet fields are read once from the postings into arrays indexed by document number;
joined over the searcher's global document numbers, and counting a result set is one
``bincount`` per facet. Segments are cached by id, so after a commit only the new
segments are read, and only the join is redone.

Multi-valued fields (list, quoted_author) keep a tuple of values per document, so a
cross-posted message counts once under each list (STYLE.md §10's allow_overlap).
Documents without a value count in no bucket: there is no ``None`` bucket.
"""

from __future__ import annotations

import threading
import weakref
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any

import numpy as np
from whoosh import query as wq

from core.errors import QueryError
from core.results import FacetValue
from search.codec import field_terms, read_term
from search.schema import FACET_FIELDS
from search.segments import SegmentCache

FACET_NAMES: tuple[str, ...] = tuple(FACET_FIELDS)
# Cached like facets but not shown as facets: the author page lists addresses.
COLUMNS: dict[str, str] = {**FACET_FIELDS, "email": "email", "affiliation": "affiliation"}
MULTI_VALUED = frozenset({"list", "quoted_author"})
# Shown in time order (a timeline), not by count.
CHRONOLOGICAL = frozenset({"year", "month"})


@dataclass(slots=True)
class Columns:
    """Facet values per docnum and the id -> value table: of one segment (read once, cached
    by segment), or of a searcher's segments joined over its global docnums."""

    values: dict[str, list[str]]
    # Value id of each docnum, -1 for none.
    single: dict[str, np.ndarray]
    # Value ids of docnum d at values[offsets[d]:offsets[d + 1]].
    multi: dict[str, tuple[np.ndarray, np.ndarray]]
    # Live documents, and value-id counts over all of them (the empty query's facets:
    # 40-60 ms to count at 100,000 messages, asked for by every visit to the front page).
    live: int = 0
    whole: dict[str, Counter[int]] = dataclass_field(default_factory=dict)


def _read_segment(reader: Any) -> Columns:
    size = reader.doc_count_all()
    values: dict[str, list[str]] = {}
    single: dict[str, np.ndarray] = {}
    multi: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for name, field in COLUMNS.items():
        names: list[str] = []
        postings: list[np.ndarray] = []
        for btext, info in field_terms(reader, field):
            names.append(btext.decode("utf-8"))
            postings.append(read_term(reader, field, btext, info)[0])
        values[name] = names
        if name in MULTI_VALUED:
            docnums = np.concatenate(postings) if postings else np.zeros(0, dtype=np.int64)
            value_ids = np.repeat(
                np.arange(len(postings), dtype=np.int32), [len(p) for p in postings]
            )
            # Stable: a document's values stay in value-id order.
            order = np.argsort(docnums, kind="stable")
            offsets = np.zeros(size + 1, dtype=np.int64)
            np.cumsum(np.bincount(docnums, minlength=size)[:size], out=offsets[1:])
            multi[name] = (offsets, value_ids[order])
        else:
            column = np.full(size, -1, dtype=np.int32)
            for value_id, docnums in enumerate(postings):
                column[docnums] = value_id
            single[name] = column
    return Columns(values, single, multi, reader.doc_count())


def _join(segments: list[tuple[Columns, int, int]]) -> Columns:
    """One array per facet over the whole index: a result set is then counted with one
    bincount a facet, not one a facet and segment (~200 segments at 1M messages)."""
    values: dict[str, list[str]] = {}
    single: dict[str, np.ndarray] = {}
    multi: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for name in COLUMNS:
        table: dict[str, int] = {}
        remaps = [
            np.array([table.setdefault(v, len(table)) for v in columns.values[name]], np.int32)
            for columns, _, _ in segments
        ]
        values[name] = list(table)
        if name in MULTI_VALUED:
            offsets = [np.zeros(1, dtype=np.int64)]
            ids = []
            base = 0
            for (columns, _, _), remap in zip(segments, remaps, strict=True):
                local_offsets, local_ids = columns.multi[name]
                offsets.append(local_offsets[1:] + base)
                ids.append(remap[local_ids])
                base += len(local_ids)
            multi[name] = (
                np.concatenate(offsets),
                np.concatenate(ids) if ids else np.zeros(0, np.int32),
            )
        else:
            parts = []
            for (columns, _, _), remap in zip(segments, remaps, strict=True):
                local = columns.single[name]
                mapped = np.full(len(local), -1, dtype=np.int32)
                present = local >= 0
                mapped[present] = remap[local[present]]
                parts.append(mapped)
            single[name] = np.concatenate(parts) if parts else np.zeros(0, np.int32)
    return Columns(values, single, multi, sum(c.live for c, _, _ in segments))


def _as_docnums(docnums: Iterable[int]) -> np.ndarray:
    if isinstance(docnums, np.ndarray):
        return docnums
    return np.fromiter(docnums, dtype=np.int64)


class FacetCounter:
    """Counts facet values over sets of global document numbers; thread-safe."""

    def __init__(self) -> None:
        self._segments: SegmentCache[Columns] = SegmentCache(_read_segment)
        self._lock = threading.Lock()
        # A searcher sees fixed segments: their columns are joined once, and dropped with it.
        self._joined: weakref.WeakKeyDictionary[Any, Columns] = weakref.WeakKeyDictionary()

    def _columns(self, searcher: Any) -> Columns:
        with self._lock:
            found = self._joined.get(searcher)
        if found is None:
            segments = [
                (columns, offset, reader.doc_count_all())
                for reader, offset, columns in self._segments.leaves(searcher)
            ]
            found = _join(segments)
            with self._lock:
                self._joined[searcher] = found
        return found

    def count(
        self, searcher: Any, docnums: Iterable[int], names: tuple[str, ...] = FACET_NAMES
    ) -> dict[str, Counter[str]]:
        """Counts over global document numbers (live documents only)."""
        columns = self._columns(searcher)
        chosen = _as_docnums(docnums)
        # Callers pass live documents only, so as many as the live count are all of them.
        every = len(chosen) == columns.live
        totals: dict[str, Counter[str]] = {}
        for name in names:
            ids = columns.whole.get(name) if every else None
            if ids is None:
                ids = _value_ids(columns, name, chosen) if len(chosen) else Counter()
                if every:
                    columns.whole[name] = ids
            table = columns.values[name]
            totals[name] = Counter({table[value_id]: n for value_id, n in ids.items()})
        return totals


def _value_ids(columns: Columns, name: str, local: np.ndarray) -> Counter[int]:
    if name in MULTI_VALUED:
        offsets, value_ids = columns.multi[name]
        starts = offsets[local]
        lengths = offsets[local + 1] - starts
        # Each chosen document's run of value ids, laid end to end.
        runs = np.repeat(starts - (np.cumsum(lengths) - lengths), lengths)
        chosen = value_ids[runs + np.arange(len(runs))]
    else:
        chosen = columns.single[name][local]
        chosen = chosen[chosen >= 0]
    counts = np.bincount(chosen, minlength=len(columns.values[name]))
    present = np.flatnonzero(counts)
    return Counter(dict(zip(present.tolist(), counts[present].tolist(), strict=True)))


def facet_values(
    counts: Mapping[str, Counter[str]], filters: Mapping[str, tuple[str, ...]]
) -> dict[str, tuple[FacetValue, ...]]:
    """Counts in display order: years and months in time order, the rest most first."""
    shown: dict[str, tuple[FacetValue, ...]] = {}
    for name in FACET_NAMES:
        counter = counts.get(name, Counter())
        selected = set(filters.get(name, ()))
        if name == "list":
            selected = {v.lower() for v in selected}
        items = dict(counter)
        for value in selected:
            items.setdefault(value, 0)
        if name in CHRONOLOGICAL:
            ordered = sorted(items.items())
        else:
            ordered = sorted(items.items(), key=lambda kv: (-kv[1], kv[0].lower(), kv[0]))
        shown[name] = tuple(FacetValue(v, n, v in selected) for v, n in ordered)
    return shown


def filter_query(filters: Mapping[str, Iterable[str]]) -> wq.Query | None:
    """Exact-term filters: OR within a facet, AND across facets."""
    parts = []
    for name, values in filters.items():
        if name not in FACET_FIELDS:
            known = ", ".join(FACET_NAMES)
            raise QueryError(f"unknown facet {name!r} (facets: {known})")
        field = FACET_FIELDS[name]
        values = [v for v in values if v]
        if not values:
            continue
        if name == "list":
            values = [v.lower() for v in values]
        # Values are exact terms, never parsed: a filter can hold any character.
        parts.append(wq.Or([wq.Term(field, v) for v in values]))
    if not parts:
        return None
    return wq.And(parts) if len(parts) > 1 else parts[0]
