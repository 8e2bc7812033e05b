"""Facets as the user sees them: filters from chosen values, counts in display order.

Which fields are facets is the field table's (``core/fields.py``); counting them over a
result set is the backend's.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping

from core import query as q
from core.errors import QueryError
from core.fields import BY_NAME, CHRONOLOGICAL, FACETS
from core.results import FacetValue

FACET_NAMES: tuple[str, ...] = tuple(FACETS)
_LOWERCASE: frozenset[str] = frozenset(f for f in FACETS.values() if BY_NAME[f].lowercase)


def facet_values(
    counts: Mapping[str, Counter[str]], filters: Mapping[str, tuple[str, ...]]
) -> dict[str, tuple[FacetValue, ...]]:
    """Counts in display order: years and months in time order, the rest most first."""
    shown: dict[str, tuple[FacetValue, ...]] = {}
    for name, field in FACETS.items():
        counter = counts.get(name, Counter())
        selected = set(filters.get(name, ()))
        if field in _LOWERCASE:
            selected = {v.lower() for v in selected}
        items = dict(counter)
        for value in selected:
            items.setdefault(value, 0)
        if field in CHRONOLOGICAL:
            ordered = sorted(items.items())
        else:
            ordered = sorted(items.items(), key=lambda kv: (-kv[1], kv[0].lower(), kv[0]))
        shown[name] = tuple(FacetValue(v, n, v in selected) for v, n in ordered)
    return shown


def filter_query(filters: Mapping[str, Iterable[str]]) -> q.Node | None:
    """Exact-term filters: OR within a facet, AND across facets; values are never parsed."""
    for name in filters:
        if name not in FACETS:
            known = ", ".join(FACET_NAMES)
            raise QueryError(f"unknown facet {name!r} (facets: {known})")
    return q.filters({n: tuple(v) for n, v in filters.items()}, FACETS, _LOWERCASE)
