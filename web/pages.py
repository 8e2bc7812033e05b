"""The HTML pages: search, message (and its raw source), thread, author, help, health.

Views read the engine's records and hand templates plain values; templates escape
everything (autoescape), and nothing derived from mail is marked safe. Geometry
(timeline bars, thread indentation) is computed here so templates stay declarative.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    jsonify,
    render_template,
    request,
    url_for,
)
from markupsafe import Markup
from werkzeug.exceptions import NotFound

from core.config import Settings
from core.results import FacetValue, Results, SearchRequest
from search.engine import Engine
from web import params

bp = Blueprint("pages", __name__)
log = logging.getLogger(__name__)

# Local part, then a domain with at least one dot; good enough to keep harvesters off.
ADDRESS = re.compile(r"([A-Za-z0-9._%+\-]+)@([A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+)")
FACET_SHOWN = 10  # values shown before the "more" disclosure
FACET_MAX = 30
TIMELINE_WIDTH = 720
TIMELINE_HEIGHT = 64
TIMELINE_MAX_STEP = 24
MAX_INDENT = 12
RELATED = 5


def engine() -> Engine:
    return current_app.extensions["govmail"]  # type: ignore[no-any-return]


def settings() -> Settings:
    return current_app.config["GOVMAIL_SETTINGS"]  # type: ignore[no-any-return]


def obfuscate(text: str | None) -> str:
    """Addresses written so that people can read them and harvesters do not match them."""
    if not text:
        return ""
    if not settings().obfuscate_addresses:
        return text
    return ADDRESS.sub(lambda m: f"{m.group(1)} at {m.group(2)}", text)


@bp.app_template_filter("obfuscate")
def obfuscate_filter(text: str | None) -> str:
    return obfuscate(text)


@bp.app_template_filter("day")
def day_filter(iso: str | None) -> str:
    return iso[:10] if iso else "undated"


@bp.app_template_filter("when")
def when_filter(iso: str | None) -> str:
    return f"{iso[:10]} {iso[11:16]} UTC" if iso else "undated"


@bp.app_template_global("message_url")
def message_url(message_id: str, **extra: Any) -> str:
    return url_for("pages.message", message_id=message_id, **extra)


@bp.app_template_global("author_url")
def author_url(name: str) -> str:
    return url_for("pages.author", name=name)


# ---- search ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FacetLink:
    value: str
    count: int
    selected: bool
    href: str


@dataclass(frozen=True, slots=True)
class FacetGroup:
    name: str
    label: str
    shown: tuple[FacetLink, ...]
    more: tuple[FacetLink, ...]


@dataclass(frozen=True, slots=True)
class Bar:
    month: str
    count: int
    x: float
    width: float
    href: str
    # The two rectangles, built from numbers only (never from mail or request text):
    # a page draws a few hundred bars, and escaping each number cost more than the search.
    shapes: Markup


@dataclass(frozen=True, slots=True)
class Chip:
    name: str
    label: str
    value: str
    href: str


def facet_groups(results: Results, args: Any, linker: params.FacetLinker) -> list[FacetGroup]:
    """The sidebar: facets in a fixed order; months only under a chosen year."""
    groups = []
    base = url_for("pages.search")
    chosen_years = set(results.request.filters.get("year", ()))
    for name, label in params.FACETS.items():
        values: Sequence[FacetValue] = results.facets.get(name, ())
        if name in ("year", "month"):
            values = sorted(values, key=lambda v: v.value, reverse=name == "year")
        if name == "month":
            # Year then month: a year's months appear once that year is chosen.
            values = [v for v in values if v.value[:4] in chosen_years or v.selected]
        # Chosen values stay listed (so they can be unticked) however far down they rank.
        kept = [v for i, v in enumerate(values) if i < FACET_MAX or v.selected]
        links = [
            FacetLink(v.value, v.count, v.selected, base + (
                params.without_facet(args, name, v.value) if v.selected
                else linker.adding(name, v.value)))
            for v in kept
        ]
        if links:
            groups.append(FacetGroup(name, label, tuple(links[:FACET_SHOWN]),
                                     tuple(links[FACET_SHOWN:])))
    return groups


def chips(request_: SearchRequest, args: Any) -> list[Chip]:
    base = url_for("pages.search")
    return [
        Chip(name, params.FACETS[name], value, base + params.without_facet(args, name, value))
        for name, values in request_.filters.items()
        for value in values
    ]


def month_range(first: str, last: str) -> list[str]:
    year, month = int(first[:4]), int(first[5:7])
    months = []
    while f"{year:04d}-{month:02d}" <= last:
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def timeline(results: Results, linker: params.FacetLinker) -> list[Bar]:
    """One bar per month from the first to the last month of the hits; empty months are gaps."""
    counts = {v.value: v.count for v in results.facets.get("month", ())
              if re.fullmatch(r"\d{4}-\d{2}", v.value)}
    if not counts:
        return []
    months = month_range(min(counts), max(counts))
    top = max(counts.values())
    # A few months would make slabs; bars stay slim and start at the left instead.
    step = min(TIMELINE_WIDTH / len(months), TIMELINE_MAX_STEP)
    bars = []
    base = url_for("pages.search")
    for i, month in enumerate(months):
        count = counts.get(month, 0)
        height = 0.0 if count == 0 else max(2.0, TIMELINE_HEIGHT * count / top)
        x, width = round(i * step, 2), round(max(step - 1, 0.6), 2)
        shapes = Markup(
            f'<rect class="hitbox" x="{x}" y="0" width="{width}" height="{TIMELINE_HEIGHT}"/>'
            f'<rect class="bar" x="{x}" y="{round(TIMELINE_HEIGHT - height, 2)}" '
            f'width="{width}" height="{round(height, 2)}"/>'
        ) if count else Markup("")
        bars.append(Bar(month, count, x, width, base + linker.month(month), shapes))
    return bars


def pages_around(page: int, last: int) -> list[int | None]:
    """Page numbers to link: first, last, and two either side; None marks a gap."""
    wanted = sorted({1, last, *range(max(1, page - 2), min(last, page + 2) + 1)})
    shown: list[int | None] = []
    for number in wanted:
        if shown and shown[-1] is not None and number - shown[-1] > 1:  # type: ignore[operator]
            shown.append(None)
        shown.append(number)
    return shown


def last_page(total: int, page_size: int) -> int:
    return max(1, min(math.ceil(total / page_size), settings().max_page))


def here(args: Any, **changes: str | None) -> str:
    """A link to this page with some arguments changed: path included, never relative."""
    return request.path + params.with_args(args, **changes)


def run_search(search_request: SearchRequest) -> Results:
    """Search, and turn a page past the end into a 404 that says where the end is."""
    results = engine().search(search_request)
    last = last_page(results.total, search_request.page_size)
    if search_request.page > last:
        raise NotFound(
            f"page {search_request.page} is beyond the end: "
            f"{results.total} hits make {last} page{'s' if last != 1 else ''}"
        )
    return results


def archive_summary() -> dict[str, Any]:
    """Messages and date range, from two one-hit searches.

    Engine.stats() walks every stored document (37 s over 20,000 messages on the
    bench machine), far too slow for the home page or a health check.
    """
    oldest = engine().search(SearchRequest(sort="date", page_size=1, with_facets=False,
                                           highlight=False))
    newest = engine().search(SearchRequest(sort="-date", page_size=1, with_facets=False,
                                           highlight=False))
    return {
        "messages": oldest.total,
        "first_date": oldest.hits[0].date if oldest.hits else None,
        "last_date": newest.hits[0].date if newest.hits else None,
    }


@bp.route("/")
def home() -> str | Response:
    if request.args.get("q") or any(request.args.get(name) for name in params.FACETS):
        return search()
    return render_template("search.html", results=None, args=request.args,
                           stats=archive_summary(), sorts=params.SORTS)


@bp.route("/search")
def search() -> str:
    search_request = params.parse_search(request.args, settings())
    results = run_search(search_request)
    args = request.args
    last = last_page(results.total, search_request.page_size)
    page = search_request.page
    linker = params.FacetLinker(args)
    return render_template(
        "search.html",
        results=results,
        args=args,
        groups=facet_groups(results, args, linker),
        chips=chips(search_request, args),
        bars=timeline(results, linker),
        timeline_size=(TIMELINE_WIDTH, TIMELINE_HEIGHT),
        sorts={key: (label, here(args, sort=key)) for key, label in params.SORTS.items()},
        quoted_toggle=here(args, quoted=None if search_request.include_quoted else "1"),
        pages=[(n, here(args, page=str(n)) if n else "") for n in pages_around(page, last)],
        last=last,
        prev_href=here(args, page=str(page - 1)) if page > 1 else None,
        next_href=here(args, page=str(page + 1)) if page < last else None,
        feed_href=url_for("feeds.feed") + params.with_args(args, sort=None),
        suggestion_href=here(args, q=results.suggestion) if results.suggestion else None,
    )


@bp.route("/help")
def help_page() -> str:
    return render_template("help.html")


# ---- reading -----------------------------------------------------------------------


def as_dict(view: Any) -> dict[str, Any]:
    return view if isinstance(view, dict) else view.to_json()


def find_message(message_id: str) -> dict[str, Any]:
    if len(message_id) > 1000:
        abort(400, description="a message id is at most 1000 characters long")
    view = engine().message(message_id)
    if view is None:
        abort(404, description=f"no message with id {message_id!r} is in the index")
    return as_dict(view)


@bp.route("/message/<path:message_id>")
def message(message_id: str) -> str:
    view = find_message(message_id)
    prev_id, next_id = engine().neighbours(message_id)
    quotes = [dict(q) for q in view.get("quotes") or ()]
    return render_template("message.html", m=view, quotes=quotes, prev_id=prev_id,
                           next_id=next_id, related=related(message_id, view))


def related(message_id: str, view: Mapping[str, Any]) -> list[Any]:
    """Similar messages outside this thread; a side dish, so a failure only hides it."""
    try:
        found = engine().more_like_this(message_id, limit=RELATED + 5)
    except Exception:  # noqa: BLE001 - the message itself must still be readable
        log.exception("more_like_this failed for %r", message_id)
        return []
    thread_id = view.get("thread_id")
    return [h for h in found if h.thread_id != thread_id and h.message_id != message_id][:RELATED]


def raw_text(view: Mapping[str, Any]) -> str:
    """The decoded message as text: headers, own words, quotes re-marked with '>', the rest."""
    parts = [(view.get("headers") or "").rstrip("\n"), ""]
    parts.append((view.get("original") or "").rstrip("\n"))
    for quote in view.get("quotes") or ():
        marker = "> " * max(1, int(quote.get("depth") or 1))
        parts.append("")
        if quote.get("author"):
            parts.append(f"{quote['author']} wrote:")
        parts.extend(marker + line if line else marker.rstrip()
                     for line in (quote.get("text") or "").splitlines())
    if view.get("signature"):
        parts += ["", "-- ", view["signature"].rstrip("\n")]
    if view.get("footer"):
        parts += ["", view["footer"].rstrip("\n")]
    return "\n".join(parts) + "\n"


@bp.route("/message/<path:message_id>/raw")
def message_raw(message_id: str) -> Response:
    if engine().message(message_id) is None and engine().message(message_id + "/raw"):
        # An id that itself ends in "/raw" is shown, not its source.
        return message(message_id + "/raw")  # type: ignore[return-value]
    view = find_message(message_id)
    return Response(obfuscate(raw_text(view)), mimetype="text/plain")


def indent(depth: int) -> int:
    """CSS indentation step for a reply depth; deep chains stop indenting, not the page."""
    return min(max(int(depth or 0), 0), MAX_INDENT)


@bp.route("/thread/<path:thread_id>")
def thread(thread_id: str) -> str:
    if len(thread_id) > 1000:
        abort(400, description="a thread id is at most 1000 characters long")
    view = engine().thread(thread_id)
    if view is None:
        abort(404, description=f"no thread with id {thread_id!r} is in the index")
    data = as_dict(view)
    nodes = data.get("nodes") or data.get("messages") or []
    # The engine lists nodes depth first with their depth: a flat list drawn with
    # indentation survives threads thousands deep, where nested markup would recurse.
    rows = [(node, indent(node.get("depth", 0))) for node in nodes]
    return render_template("thread.html", t=data, rows=rows, count=len(nodes),
                           current=request.args.get("m", ""))


@bp.route("/author/<path:name>")
def author(name: str) -> str:
    if len(name) > params.MAX_FILTER_CHARS:
        abort(400, description=f"an author name is at most {params.MAX_FILTER_CHARS} characters")
    view = engine().author(name)
    if view is None:
        abort(404, description=f"no author named {name!r} is in the index")
    data = as_dict(view)
    args = request.args.copy()
    args.setlist("author", [data.get("name") or name])
    search_request = params.parse_search(args, settings(), default_sort="-date",
                                         with_facets=False)
    results = run_search(search_request)
    last = last_page(results.total, search_request.page_size)
    page = search_request.page
    return render_template(
        "author.html", a=data, results=results, last=last,
        years=[tuple(p) for p in data.get("years") or ()],
        year_max=max([int(p[1]) for p in data.get("years") or ()] or [1]),
        lists=[tuple(p) for p in data.get("lists") or ()],
        correspondents=[
            ("Quotes most", [tuple(p) for p in (data.get("quotes") or ())[:15]]),
            ("Quoted most by", [tuple(p) for p in (data.get("quoted_by") or ())[:15]]),
        ],
        prev_href=here(request.args, page=str(page - 1)) if page > 1 else None,
        next_href=here(request.args, page=str(page + 1)) if page < last else None,
        search_href=url_for("pages.search") + params.query_string([("author", data.get("name") or name)]),
    )


@bp.route("/healthz")
def healthz() -> Response:
    total = engine().search(SearchRequest(page_size=1, with_facets=False, highlight=False)).total
    return jsonify({"ok": True, "messages": total})
