"""Facet counts from per-document values cached in memory, and facet filters as exact terms.

Whoosh's ``groupedby`` runs a Python categoriser per matching document per facet
(p95 307 ms at 100k messages, performance-baseline.md §3). Instead each segment's
facet fields are read once from the postings into arrays indexed by document number;
counting a result set is then ``Counter`` over C-level lookups. Segments are cached by
id, so after a commit only the new segments are read.

Multi-valued fields (list, quoted_author) keep a tuple of values per document, so a
cross-posted message counts once under each list (STYLE.md §10's allow_overlap).
Documents without a value count in no bucket: there is no ``None`` bucket.
"""

from __future__ import annotations

from array import array
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from itertools import chain
from typing import Any

from whoosh import query as wq

from search.errors import QueryError
from search.results import FacetValue
from search.schema import FACET_FIELDS
from search.segments import SegmentCache

FACET_NAMES: tuple[str, ...] = tuple(FACET_FIELDS)
# Cached like facets but not shown as facets: the author page lists addresses.
COLUMNS: dict[str, str] = {**FACET_FIELDS, "email": "email", "affiliation": "affiliation"}
MULTI_VALUED = frozenset({"list", "quoted_author"})
# Shown in time order (a timeline), not by count.
CHRONOLOGICAL = frozenset({"year", "month"})


@dataclass(slots=True)
class SegmentColumns:
    """Facet values of one segment: value ids per docnum, and the id -> value table."""

    values: dict[str, list[str]]
    single: dict[str, array]
    multi: dict[str, list[tuple[int, ...]]]
    # Live documents, and value-id counts over all of them (the empty query's facets:
    # 40-60 ms to count at 100,000 messages, asked for by every visit to the front page).
    live: int = 0
    whole: dict[str, Counter[int]] = dataclass_field(default_factory=dict)


def _read_segment(reader: Any) -> SegmentColumns:
    size = reader.doc_count_all()
    values: dict[str, list[str]] = {}
    single: dict[str, array] = {}
    multi: dict[str, list[tuple[int, ...]]] = {}
    for name, field in COLUMNS.items():
        names: list[str] = []
        if name in MULTI_VALUED:
            per_doc: list[list[int]] = [[] for _ in range(size)]
        else:
            column = array("i", [-1]) * size
        if field in reader.indexed_field_names():
            for btext in reader.lexicon(field):
                value_id = len(names)
                names.append(btext.decode("utf-8"))
                ids = reader.postings(field, btext).all_ids()
                if name in MULTI_VALUED:
                    for docnum in ids:
                        per_doc[docnum].append(value_id)
                else:
                    for docnum in ids:
                        column[docnum] = value_id
        values[name] = names
        if name in MULTI_VALUED:
            multi[name] = [tuple(v) for v in per_doc]
        else:
            single[name] = column
    return SegmentColumns(values, single, multi, reader.doc_count())


class FacetCounter:
    """Counts facet values over sets of global document numbers; thread-safe."""

    def __init__(self) -> None:
        self._segments: SegmentCache[SegmentColumns] = SegmentCache(_read_segment)

    def _leaves(self, searcher: Any) -> list[tuple[SegmentColumns, int, int]]:
        """(columns, offset, size) for each segment of the searcher's reader."""
        return [
            (columns, offset, reader.doc_count_all())
            for reader, offset, columns in self._segments.leaves(searcher)
        ]

    def count(
        self, searcher: Any, docnums: Iterable[int], names: tuple[str, ...] = FACET_NAMES
    ) -> dict[str, Counter[str]]:
        """Counts over global document numbers."""
        leaves = self._leaves(searcher)
        per_leaf: list[list[int]] = [[] for _ in leaves]
        ordered = sorted(docnums)
        index = 0
        for docnum in ordered:
            while index + 1 < len(leaves) and docnum >= leaves[index][1] + leaves[index][2]:
                index += 1
            per_leaf[index].append(docnum - leaves[index][1])
        return self._count(leaves, per_leaf, names)

    def count_segments(
        self,
        searcher: Any,
        per_segment: Sequence[Collection[int]],
        names: tuple[str, ...] = FACET_NAMES,
    ) -> dict[str, Counter[str]]:
        """Counts over segment-local document numbers, one collection per leaf reader."""
        leaves = self._leaves(searcher)
        if len(per_segment) != len(leaves):
            raise ValueError(f"{len(per_segment)} docnum sets for {len(leaves)} segments")
        return self._count(leaves, per_segment, names)

    @staticmethod
    def _count(
        leaves: list[tuple[SegmentColumns, int, int]],
        per_leaf: Sequence[Collection[int]],
        names: tuple[str, ...],
    ) -> dict[str, Counter[str]]:
        totals: dict[str, Counter[str]] = {name: Counter() for name in names}
        for (columns, _, _), local in zip(leaves, per_leaf, strict=True):
            if not local:
                continue
            # Callers pass live documents only, so as many as the segment's live count
            # are all of them.
            every = len(local) == columns.live
            for name in names:
                table = columns.values[name]
                ids = columns.whole.get(name) if every else None
                if ids is None:
                    ids = _value_ids(columns, name, local)
                    if every:
                        columns.whole[name] = ids
                for value_id, n in ids.items():
                    totals[name][table[value_id]] += n
        return totals


def _value_ids(columns: SegmentColumns, name: str, local: Collection[int]) -> Counter[int]:
    if name in MULTI_VALUED:
        return Counter(chain.from_iterable(map(columns.multi[name].__getitem__, local)))
    ids = Counter(map(columns.single[name].__getitem__, local))
    ids.pop(-1, None)
    return ids


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
