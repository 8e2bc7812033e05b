"""Request arguments -> SearchRequest, in one place, and the URLs that change one of them.

Every bound (query length, page, page size, filter sizes) is checked here so that a
route never passes an unchecked value to the engine; a violation is a 400 that says
which parameter is wrong. The URL helpers build the links of the search page
(facet chips, sort switch, pagination, timeline bars) from the current arguments,
so each link changes exactly one thing and keeps the rest.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from urllib.parse import urlencode

from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import BadRequest

from core import fields
from core.config import Settings
from core.results import SearchRequest

# Facet name -> what the sidebar calls it, in the sidebar's order: the field table's.
FACETS: dict[str, str] = {name: fields.FACET_LABELS[name] for name in fields.FACETS}
SORTS: dict[str, str] = {"relevance": "Relevance", "-date": "Newest", "date": "Oldest"}
# Arguments the search page understands; anything else is dropped from the links it builds.
KNOWN = ("q", "sort", "page", "size", "quoted", *FACETS)
# A facet value is a name, a list, a year or a month: nothing legitimate is longer.
MAX_FILTER_CHARS = 200
MAX_FILTER_VALUES = 20


class BadParameter(BadRequest):
    """A request argument out of bounds; the description is shown to the user."""


def _int_arg(args: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = args.get(name)
    if raw is None or raw == "":
        return default
    # isdigit() alone is true for '²' and '①', which int() refuses: ASCII digits only.
    if len(raw) > 9 or not (raw.isascii() and raw.isdigit()):
        raise BadParameter(f"{name} must be a whole number from {low} to {high}, not {raw[:20]!r}")
    value = int(raw)
    if not low <= value <= high:
        raise BadParameter(f"{name} must be from {low} to {high}, not {value}")
    return value


def parse_search(args: MultiDict[str, str], settings: Settings, *,
                 default_sort: str | None = None, with_facets: bool = True) -> SearchRequest:
    """The SearchRequest the arguments describe, or BadParameter (a 400) naming the culprit."""
    query = args.get("q", "").strip()
    if len(query) > settings.max_query_length:
        raise BadParameter(
            f"the query is {len(query)} characters long; the limit is {settings.max_query_length}"
        )
    # An empty query lists everything, where relevance means nothing: newest first then.
    fallback = default_sort or ("relevance" if query else "-date")
    sort = args.get("sort") or fallback
    if sort not in SORTS:
        raise BadParameter(f"sort must be one of {', '.join(SORTS)}, not {sort[:20]!r}")
    page = _int_arg(args, "page", 1, 1, settings.max_page)
    size = _int_arg(args, "size", settings.page_size, 1, settings.max_page_size)
    filters: dict[str, tuple[str, ...]] = {}
    for name in FACETS:
        values = [v for v in args.getlist(name) if v != ""]
        if not values:
            continue
        if len(values) > MAX_FILTER_VALUES:
            raise BadParameter(f"at most {MAX_FILTER_VALUES} values of {name} at once")
        for value in values:
            if len(value) > MAX_FILTER_CHARS:
                raise BadParameter(f"a {name} value is longer than {MAX_FILTER_CHARS} characters")
        filters[name] = tuple(dict.fromkeys(values))
    return SearchRequest(
        query=query,
        filters=filters,
        sort=sort,
        page=page,
        page_size=size,
        include_quoted=args.get("quoted") in ("1", "on", "true", "yes"),
        with_facets=with_facets,
    )


def _pairs(args: MultiDict[str, str]) -> list[tuple[str, str]]:
    return [(k, v) for k in KNOWN for v in args.getlist(k) if v != ""]


def query_string(pairs: Iterable[tuple[str, str]]) -> str:
    encoded = urlencode(list(pairs))
    return f"?{encoded}" if encoded else ""


def with_args(args: MultiDict[str, str], **changes: str | None) -> str:
    """The current arguments with some replaced (None removes); back to page 1 unless given."""
    changes.setdefault("page", None)
    pairs = [(k, v) for k, v in _pairs(args) if k not in changes]
    pairs += [(k, v) for k, v in changes.items() if v is not None and v != ""]
    return query_string(pairs)


class FacetLinker:
    """``with_facet`` for many values at once: the shared part is encoded once.

    A search page links every facet value and every timeline month; encoding the whole
    query string for each of several hundred links was a measurable part of the page.
    """

    def __init__(self, args: MultiDict[str, str]) -> None:
        pairs = [(k, v) for k, v in _pairs(args) if k != "page"]
        self.chosen = set(pairs)
        self.base = urlencode(pairs)
        self.base_months = urlencode([(k, v) for k, v in pairs if k not in ("year", "month")])

    def _join(self, base: str, name: str, value: str) -> str:
        extra = urlencode(((name, value),))
        return f"?{base}&{extra}" if base else f"?{extra}"

    def adding(self, name: str, value: str) -> str:
        if (name, value) in self.chosen:
            return "?" + self.base
        return self._join(self.base, name, value)

    def month(self, month: str) -> str:
        return self._join(self.base_months, "month", month)

    def year(self, year: str) -> str:
        return self._join(self.base_months, "year", year)


def with_facet(args: MultiDict[str, str], name: str, value: str) -> str:
    """Add one facet value (OR within the facet), back to page 1."""
    pairs = [(k, v) for k, v in _pairs(args) if k != "page"]
    if (name, value) not in pairs:
        pairs.append((name, value))
    return query_string(pairs)


def without_facet(args: MultiDict[str, str], name: str, value: str) -> str:
    """Remove one facet value, back to page 1."""
    return query_string((k, v) for k, v in _pairs(args) if k != "page" and (k, v) != (name, value))
