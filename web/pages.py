"""The HTML pages: search, message (its raw source, its .eml), thread (and its mbox),
author, list browsing, help, health.

Views read the engine's records and hand templates plain values; templates escape
everything (autoescape), and nothing derived from mail is marked safe. Geometry
(timeline bars, thread indentation) is computed here so templates stay declarative.
"""

from __future__ import annotations

import logging
import math
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote as url_quote

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    g,
    jsonify,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from markupsafe import Markup
from werkzeug.exceptions import NotFound

from core.config import Settings
from core.errors import GovmailError
from core.refkeys import PART_SEPARATOR
from core.results import FacetValue, Hit, Results, SearchRequest
from search import export, references
from search.engine import Engine
from web import body, params, privacy

bp = Blueprint("pages", __name__)
log = logging.getLogger(__name__)

# Local part, then a domain with at least one dot; good enough to keep harvesters off.
ADDRESS = re.compile(r"([A-Za-z0-9._%+\-]+)@([A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+)")
FACET_SHOWN = 10  # values shown before the "more" disclosure
FACET_MAX = 30
TIMELINE_WIDTH = 720
TIMELINE_HEIGHT = 64
TIMELINE_MAX_STEP = 24
TIMELINE_MONTHS = 60
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
    # No "@", no address: skips the regex, whose scan of long text was the thread page's
    # costliest call.
    if "@" not in text or not settings().obfuscate_addresses:
        return text
    return ADDRESS.sub(lambda m: f"{m.group(1)} at {m.group(2)}", text)


@bp.app_template_filter("obfuscate")
def obfuscate_filter(text: str | None) -> str:
    return obfuscate(text)


@bp.app_template_global("body_html")
def body_html(text: str | None, marks: Sequence[body.Mark] = ()) -> Markup:
    """Mail text as paragraphs, addresses hidden, URLs and references linked, everything
    else escaped."""
    return body.reflow(text or "", obfuscate, marks)


def reference_query(field: str, value: str) -> str:
    return f"{field}:{value}"


@bp.app_template_global("reference_search")
def reference_search(field: str, value: str) -> str:
    """The search for one reference (``cites:tunis-agenda/76``, ``mentions:itu``)."""
    return url_for("pages.search") + params.query_string([("q", reference_query(field, value))])


@bp.app_template_global("document_of")
def document_of(value: str) -> str:
    """The document of a cites value: ``tunis-agenda`` of ``tunis-agenda/76``."""
    return value.partition(PART_SEPARATOR)[0]


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


def year_range(first: str, last: str) -> list[str]:
    return [f"{y:04d}" for y in range(int(first), int(last) + 1)]


def timeline(results: Results, linker: params.FacetLinker) -> list[Bar]:
    """One bar per month from the first to the last month of the hits; empty months are gaps.

    Past TIMELINE_MONTHS months a month bar is too thin to see or tap on a phone (the SVG
    shrinks to the screen), so the bars become years.
    """
    counts = {v.value: v.count for v in results.facets.get("month", ())
              if re.fullmatch(r"\d{4}-\d{2}", v.value)}
    if not counts:
        return []
    periods = month_range(min(counts), max(counts))
    link, by_year = linker.month, len(periods) > TIMELINE_MONTHS
    if by_year:
        counts = {v.value: v.count for v in results.facets.get("year", ())
                  if re.fullmatch(r"\d{4}", v.value)}
        periods = year_range(min(counts), max(counts))
        link = linker.year
    top = max(counts.values())
    # A few months would make slabs; bars stay slim and start at the left instead.
    # Years fill the width: twenty of them are still fingertip-wide at 390 px.
    step = TIMELINE_WIDTH / len(periods) if by_year else \
        min(TIMELINE_WIDTH / len(periods), TIMELINE_MAX_STEP)
    bars = []
    base = url_for("pages.search")
    for i, period in enumerate(periods):
        count = counts.get(period, 0)
        height = 0.0 if count == 0 else max(2.0, TIMELINE_HEIGHT * count / top)
        x, width = round(i * step, 2), round(max(step - 1, 0.6), 2)
        shapes = Markup(
            f'<rect class="hitbox" x="{x}" y="0" width="{width}" height="{TIMELINE_HEIGHT}"/>'
            f'<rect class="bar" x="{x}" y="{round(TIMELINE_HEIGHT - height, 2)}" '
            f'width="{width}" height="{round(height, 2)}"/>'
        ) if count else Markup("")
        bars.append(Bar(period, count, x, width, base + link(period), shapes))
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


def archive_summary(span: Span) -> dict[str, Any]:
    """Messages and date range, from two one-hit searches over the dated years.

    Engine.stats() walks every stored document (37 s over 20,000 messages on the
    bench machine), far too slow for the home page or a health check.
    """
    # Only dated mail has a place in the range: an undated message is neither first nor last.
    oldest = browse({}, 1, span.years, sort="date", facets=False)
    newest = browse({}, 1, span.years, facets=False)
    return {
        "messages": span.every.total,
        "undated": span.undated,
        "first_date": oldest.hits[0].date if oldest.hits else None,
        "last_date": newest.hits[0].date if newest.hits else None,
    }


@bp.route("/")
def home() -> str | Response:
    if request.args.get("q") or any(request.args.get(name) for name in params.FACETS):
        return search()
    span = dated({})
    recent = browse({}, RECENT_THREADS * 3, span.years, facets=False)
    return render_template("search.html", results=None, args=request.args,
                           stats=archive_summary(span), sorts=params.SORTS,
                           lists=facet_counts(span.every, "list"),
                           threads=threads_of(recent.hits)[:RECENT_THREADS])


# Where the search's time goes in a kept page: "<" cannot come from mail or the request
# (escaping turns it into "&lt;"), so the marker is found only where the template put it.
ELAPSED = Markup("<elapsed>")


def page_key(args: Any) -> tuple[Any, ...]:
    """What a search page is a function of: the index generation, where the app is
    mounted, the path (the links repeat it) and every argument it reads, empty ones too
    ("q=&q=x" reads the first)."""
    known = tuple((name, tuple(args.getlist(name))) for name in params.KNOWN if name in args)
    return (engine().generation(), request.script_root, request.path, known)


@bp.route("/search")
def search() -> Response:
    started = time.perf_counter()
    cache = current_app.extensions["govmail.pages"]
    key = page_key(request.args)
    parts = cache.get(key)
    if parts is None:
        text, elapsed_ms = render_search()
        parts = tuple(privacy.hide_page(current_app, text).split(str(ELAPSED)))
        cache.put(key, parts)
    else:
        elapsed_ms = (time.perf_counter() - started) * 1000
    g.addresses_hidden = True
    return current_app.response_class(f"{elapsed_ms:.0f}".join(parts), mimetype="text/html")


def render_search() -> tuple[str, float]:
    """The search page with ELAPSED where its timing goes, and the search's milliseconds."""
    search_request = params.parse_search(request.args, settings())
    results = run_search(search_request)
    args = request.args
    last = last_page(results.total, search_request.page_size)
    page = search_request.page
    linker = params.FacetLinker(args)
    return render_template(
        "search.html",
        results=results,
        elapsed=ELAPSED,
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
        mbox_href=url_for("pages.search_mbox") + params.with_args(args, sort=None)
        if current_app.extensions.get("govmail.read_original") and results.total else None,
        export_max=SEARCH_EXPORT_MAX,
        suggestion_href=here(args, q=results.suggestion) if results.suggestion else None,
    ), results.elapsed_ms


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


# The list's posting address, as the list server wrote it into every message.
LIST_POST = re.compile(r"^List-Post:\s*<mailto:([^>?\s]+)", re.IGNORECASE | re.MULTILINE)


def reply_href(view: Mapping[str, Any]) -> str | None:
    """A mailto that threads: In-Reply-To and References set, to the list when known."""
    found = LIST_POST.search(view.get("headers") or "")
    to = found.group(1) if found else ""
    if not to and not settings().obfuscate_addresses:
        to = view.get("email") or ""
    mid = view["message_id"]
    references = [r for r in view.get("references") or () if r] + [mid]
    subject = view.get("subject") or ""
    if not subject.lower().startswith("re:"):
        subject = f"Re: {subject}"
    fields_ = [("subject", subject), ("In-Reply-To", f"<{mid}>"),
               ("References", " ".join(f"<{r}>" for r in references))]
    query = "&".join(f"{name}={url_quote(value, safe='')}" for name, value in fields_)
    return f"mailto:{url_quote(to, safe='@')}?{query}"


def reference_marks(view: Mapping[str, Any]) -> dict[int, list[body.Mark]]:
    """The message's reference spans as marks, by quote number (-1: the own words), each
    linked to the search for that reference where it stands: ``cites:`` in the own words,
    ``quoted_cites:`` in a quote (so the search finds this message too); ``mentions:``
    holds both sides."""
    marks: dict[int, list[body.Mark]] = {}
    for quote, start, end, field, value in view.get("reference_spans") or ():
        if field == "cites" and quote >= 0:
            field, label = "quoted_cites", f"Search messages quoting a citation of {value}"
        elif field == "cites":
            label = f"Search messages citing {value}"
        else:
            label = f"Search messages naming {value}"
        marks.setdefault(quote, []).append(
            body.Mark(start, end, reference_search(field, value), label))
    return marks


def reading_view(view: Mapping[str, Any]) -> dict[str, Any]:
    """What message.html and each article of thread.html draw of one message."""
    marks = reference_marks(view)
    quotes = view.get("quotes") or ()
    if marks:
        quotes = [{**quote, "marks": marks.get(number, ())} for number, quote in enumerate(quotes)]
    own = marks.get(-1, [])
    return {
        "m": view,
        "segments": body.segments(view.get("original") or "", quotes, own),
        "own_marks": own,
    }


@bp.route("/message/<path:message_id>")
def message(message_id: str) -> str | Response:
    if message_id.endswith(".eml") and engine().message(message_id) is None:
        return message_eml(message_id.removesuffix(".eml"))
    view = find_message(message_id)
    prev_id, next_id = engine().neighbours(message_id)
    own_only = request.args.get("view") == "own"
    return render_template(
        "message.html", **reading_view(view), own_only=own_only, prev_id=prev_id,
        cited=cited_in(view),
        next_id=next_id, related=related(message_id, view), reply=reply_href(view),
        quote_count=len(view.get("quotes") or ()),
        own_href=message_url(message_id, view="own"), full_href=message_url(message_id),
        eml_href=url_for("pages.message", message_id=message_id + ".eml")
        if current_app.extensions.get("govmail.read_original") else None,
    )


@dataclass(frozen=True, slots=True)
class Cited:
    """One row of a message page's references: a value, where it was found, its links."""

    value: str
    where: str  # "own words", "quoted", "own words and quoted"
    href: str
    document_href: str | None  # the document's references page (cites only)


def cited_in(view: Mapping[str, Any]) -> dict[str, list[Cited]]:
    """The message's documents and organisations, for the list under its text."""
    own, quoted = list(view.get("cites") or ()), list(view.get("quoted_cites") or ())
    documents = []
    for value in dict.fromkeys(own + quoted):
        where = " and ".join(w for w, side in (("own words", own), ("quoted", quoted))
                             if value in side)
        field = "cites" if value in own else "quoted_cites"
        documents.append(Cited(value, where, reference_search(field, value), url_for(
            "pages.document_references", document=document_of(value))))
    organisations = [Cited(v, "", reference_search("mentions", v), None)
                     for v in view.get("mentions") or ()]
    return {"Documents cited": documents, "Organisations named": organisations}


def read_original() -> Any:
    reader = current_app.extensions.get("govmail.read_original")
    if reader is None:
        abort(404, description="this server was started without access to the source archive")
    return reader


# Headers holding message ids, not addresses: they stay as written, or threading breaks.
ID_HEADERS = re.compile(r"^(?:message-id|in-reply-to|references|x-original-message-id):",
                        re.IGNORECASE)


def hide_in_bytes(data: bytes) -> bytes:
    """Addresses obfuscated in raw bytes, every other byte kept (latin-1 round-trips).

    Message ids look like addresses; in their own headers (and their folded lines) they
    are left alone, so a downloaded mbox still threads in a mail reader.
    """
    if not settings().obfuscate_addresses:
        return data
    text = data.decode("latin-1")
    lines = text.splitlines(keepends=True)
    out, in_headers, keep = [], True, False
    for line in lines:
        if in_headers and not line.strip():
            in_headers = False
        elif in_headers and not line[:1].isspace():
            keep = bool(ID_HEADERS.match(line))
        out.append(line if in_headers and keep else obfuscate(line))
    return "".join(out).encode("latin-1")


def message_eml(message_id: str) -> Response:
    view = find_message(message_id)
    reader = read_original()
    try:
        original = reader(view.get("source") or {})
    except GovmailError as exc:
        abort(404, description=f"the original of {message_id!r} cannot be read: {exc}")
    return Response(hide_in_bytes(original.data), mimetype="message/rfc822", headers={
        "Content-Disposition": 'attachment; filename="message.eml"'})


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


def subject_key(view: Mapping[str, Any]) -> str:
    # The indexer's normalised subject (Re:/Fwd:/[list] tags gone, index/metadata.py):
    # a reply that only adds "Re:" has not changed the subject.
    subject = view.get("subject_normalized") or view.get("subject") or ""
    return " ".join(subject.split()).lower()


@bp.route("/thread/<path:thread_id>")
def thread(thread_id: str) -> str | Response:
    if len(thread_id) > 1000:
        abort(400, description="a thread id is at most 1000 characters long")
    if thread_id.endswith(".mbox.gz") and engine().thread(thread_id) is None:
        return thread_mbox(thread_id.removesuffix(".mbox.gz"))
    found = engine().thread_messages(thread_id)
    if found is None:
        abort(404, description=f"no thread with id {thread_id!r} is in the index")
    view, messages = found
    data = as_dict(view)
    nodes = data.get("messages") or []
    flat = request.args.get("view") == "flat"
    if flat:
        nodes = sorted(nodes, key=lambda n: (n.get("date") or "9999", n["message_id"]))
    # The engine lists nodes depth first with their depth: a flat list drawn with
    # indentation survives threads thousands deep, where nested markup would recurse.
    rows = []
    previous: dict[str, str] = {}
    last_subject = None
    for node in nodes:
        mid = node["message_id"]
        full = as_dict(messages[mid])
        key = subject_key(full)
        # Nested: a subject shows where it differs from its parent's; flat: from the last one.
        compared = last_subject if flat else previous.get(node.get("parent_id") or "", None)
        previous[mid] = key
        last_subject = key
        rows.append({
            **reading_view(full), "node": node, "depth": 0 if flat else indent(node["depth"]),
            "show_subject": compared is None or compared != key,
        })
    return render_template(
        "thread.html", t=data, rows=rows, count=len(nodes), current=request.args.get("m", ""),
        flat=flat, nested_href=url_for("pages.thread", thread_id=thread_id),
        flat_href=url_for("pages.thread", thread_id=thread_id, view="flat"),
        mbox_href=url_for("pages.thread", thread_id=thread_id + ".mbox.gz")
        if current_app.extensions.get("govmail.read_original") else None,
    )


def mbox_response(docs: list[dict[str, Any]], name: str) -> Response:
    reader = read_original()

    def missing(message_id: str, why: str) -> None:
        log.warning("mbox export: %s left out: %s", message_id, why)

    chunks = export.gzipped(export.mbox(docs, reader, missing, transform=hide_in_bytes))
    # The generator runs after the view returns; it still needs the app (settings).
    return Response(stream_with_context(chunks), mimetype="application/gzip", headers={
        "Content-Disposition": f'attachment; filename="{name}.mbox.gz"'})


def thread_mbox(thread_id: str) -> Response:
    docs = export.thread_documents(engine(), thread_id)
    if not docs:
        abort(404, description=f"no thread with id {thread_id!r} is in the index")
    return mbox_response(docs, "thread")


# A search export is bounded: a researcher wanting more uses `govmail export`.
SEARCH_EXPORT_MAX = 2000


@bp.route("/search.mbox.gz")
def search_mbox() -> Response:
    search_request = params.parse_search(request.args, settings(), with_facets=False)
    docs = export.search_documents(engine(), search_request, SEARCH_EXPORT_MAX)
    return mbox_response(docs, "search")


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
        cites=author_references(data),
        prev_href=here(request.args, page=str(page - 1)) if page > 1 else None,
        next_href=here(request.args, page=str(page + 1)) if page < last else None,
        search_href=url_for("pages.search") + params.query_string([("author", data.get("name") or name)]),
    )


AUTHOR_REFERENCES = 10


def author_references(data: Mapping[str, Any]) -> list[tuple[str, str, list[tuple[str, int, str]]]]:
    """The author page's "cites most" lists: (heading, field, [(value, count, href)]),
    each href the search for that value among the author's messages."""
    name = data.get("name") or ""
    base = url_for("pages.search")

    def link(field: str, value: str) -> str:
        return base + params.query_string([("q", reference_query(field, value)),
                                           ("author", name)])

    cites = [tuple(p) for p in data.get("cites") or ()]
    wanted = (
        ("Documents cited most", "cites", [p for p in cites if PART_SEPARATOR not in p[0]]),
        ("Paragraphs and sections cited most", "cites",
         [p for p in cites if PART_SEPARATOR in p[0]]),
        ("Organisations named most", "mentions", [tuple(p) for p in data.get("mentions") or ()]),
    )
    return [(heading, field, [(v, int(n), link(field, v)) for v, n in found[:AUTHOR_REFERENCES]])
            for heading, field, found in wanted if found]


# ---- references --------------------------------------------------------------------

# A document id as the data file spells them (core.refkeys.slug): what the route accepts.
DOCUMENT_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,199}")
CHART_WIDTH = 720
CHART_HEIGHT = 120
PARTS_SHOWN = 50


@dataclass(frozen=True, slots=True)
class YearBars:
    year: str
    own: int
    quoted: int
    own_href: str
    quoted_href: str
    label_x: float
    # Both bars' rectangles, built from numbers only (as the timeline's).
    own_shape: Markup
    quoted_shape: Markup


def year_chart(document: str, years: Sequence[references.Row]) -> list[YearBars]:
    """Two bars a year (own words, quoted), every year from the first to the last."""
    counts = {r.key: r for r in years if re.fullmatch(r"\d{4}", r.key)}
    if not counts:
        return []
    periods = year_range(min(counts), max(counts))
    top = max(max(r.own, r.quoted) for r in counts.values()) or 1
    step = CHART_WIDTH / len(periods)
    width = max(round(step / 2 - 1, 2), 0.6)

    def rect(css: str, x: float, count: int) -> Markup:
        height = 0.0 if not count else max(2.0, CHART_HEIGHT * count / top)
        return Markup(f'<rect class="{css}" x="{round(x, 2)}" y="{round(CHART_HEIGHT - height, 2)}" '
                      f'width="{width}" height="{round(height, 2)}"/>') if count else Markup("")

    bars = []
    for i, year in enumerate(periods):
        row = counts.get(year) or references.Row(year, 0, 0)
        x = i * step
        bars.append(YearBars(
            year, row.own, row.quoted,
            url_for("pages.search") + params.query_string(
                [("q", reference_query("cites", document)), ("year", year)]),
            url_for("pages.search") + params.query_string(
                [("q", reference_query("quoted_cites", document)), ("year", year)]),
            round(x + step / 2, 2), rect("bar", x, row.own), rect("bar quoted", x + width, row.quoted)))
    return bars


@bp.route("/references")
def references_index() -> str:
    documents, parts = references.cited_documents(engine())
    return render_template("references.html", documents=documents, parts=parts)


@bp.route("/references/<document>")
def document_references(document: str) -> str:
    if not DOCUMENT_ID.fullmatch(document):
        abort(404, description="a document id is lowercase letters, digits and '-' "
                               "(tunis-agenda, rfc-2026)")
    found = references.document_references(engine(), document)
    if found is None:
        abort(404, description=f"no message in the index cites {document!r}")
    base = url_for("pages.search")

    def search(field: str, value: str, *extra: tuple[str, str]) -> str:
        return base + params.query_string([("q", reference_query(field, value)), *extra])

    return render_template(
        "document.html", d=found, parts=found.parts[:PARTS_SHOWN],
        parts_more=len(found.parts) - PARTS_SHOWN,
        search=search, no_group=references.NO_GROUP,
        bars=year_chart(document, found.years), chart_size=(CHART_WIDTH, CHART_HEIGHT),
    )


# ---- browsing ----------------------------------------------------------------------

# Every dated message, as a query: only for the "undated" link (a date range over the
# whole index is slow); pages find dated mail by its year instead (see dated()).
DATED = "date:[1900 to 2999]"
RECENT_THREADS = 15
ACTIVE_AUTHORS = 10
MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August",
               "September", "October", "November", "December")


@dataclass(frozen=True, slots=True)
class ThreadSummary:
    thread_id: str
    subject: str
    first_id: str
    messages: int
    authors: tuple[str, ...]
    last_date: str | None


def threads_of(hits: Sequence[Hit]) -> list[ThreadSummary]:
    """Hits grouped by thread, in the order their first hit came (newest first)."""
    groups: dict[str, list[Hit]] = {}
    for hit in hits:
        groups.setdefault(hit.thread_id, []).append(hit)
    summaries = []
    for thread_id, members in groups.items():
        oldest = min(members, key=lambda h: h.date or "9999")
        authors = tuple(dict.fromkeys(h.author for h in sorted(members, key=lambda h: h.date or "")))
        summaries.append(ThreadSummary(thread_id, oldest.subject, oldest.message_id, len(members),
                                       authors, max(h.date or "" for h in members) or None))
    return summaries


@dataclass(frozen=True, slots=True)
class Span:
    """Every message under some filters (one hit, all facets), and which of them are dated."""

    every: Results
    years: tuple[str, ...]
    undated: int


def dated(filters: dict[str, tuple[str, ...]]) -> Span:
    """The years that hold mail under ``filters``: a filter on them is "dated only".

    Every dated message has exactly one year and an undated one none, so the year facet
    gives both the dated years and the undated count from one search with facets; a
    date range query over the whole index cost 250 ms at 20,000 messages.
    """
    every = engine().search(SearchRequest(filters=filters, page_size=1, highlight=False))
    years = every.facets.get("year", ())
    return Span(every, tuple(sorted(v.value for v in years)),
                every.total - sum(v.count for v in years))


def browse(filters: dict[str, tuple[str, ...]], size: int, years: Sequence[str], *,
           sort: str = "-date", facets: bool = True) -> Results:
    """Newest (or oldest) dated messages under ``filters``."""
    if "year" not in filters and "month" not in filters:
        filters = {**filters, "year": tuple(years) or ("0000",)}
    return engine().search(SearchRequest(filters=filters, sort=sort, page_size=size,
                                         highlight=False, with_facets=facets))


def facet_counts(results: Results, name: str) -> list[tuple[str, int]]:
    return [(v.value, v.count) for v in results.facets.get(name, ())]


@bp.route("/lists")
def lists() -> str:
    every = engine().search(SearchRequest(page_size=1, highlight=False))
    return render_template("lists.html", lists=facet_counts(every, "list"), total=every.total)


def list_page(name: str, year: str | None = None, month: str | None = None) -> str:
    if len(name) > params.MAX_FILTER_CHARS:
        abort(400, description=f"a list name is at most {params.MAX_FILTER_CHARS} characters")
    filters: dict[str, tuple[str, ...]] = {"list": (name,)}
    if year:
        filters["year"] = (year,)
    if month:
        filters["month"] = (f"{year}-{month}",)
    span = dated(filters)
    if not span.every.total:
        where = f" in {year}{'-' + month if month else ''}" if year else ""
        abort(404, description=f"no list named {name!r} has messages{where} in the index")
    found = browse(filters, settings().max_page_size if month else RECENT_THREADS * 3,
                   span.years, facets=False)
    years = sorted(facet_counts(span.every, "year"))
    months = sorted((m, c) for m, c in facet_counts(span.every, "month")
                    if year and m[:4] == year)
    search_args = [("list", name)] + ([("year", year)] if year and not month else []) + (
        [("month", f"{year}-{month}")] if month else [])
    title = name if not year else (
        f"{name}, {year}" if not month else f"{name}, {MONTH_NAMES[int(month) - 1]} {year}")
    return render_template(
        "list.html", name=name, year=year, month=month, title=title,
        dated_total=span.every.total - span.undated,
        years=years, year_max=max([c for _, c in years] or [1]),
        months=months, month_max=max([c for _, c in months] or [1]),
        month_names=MONTH_NAMES,
        authors=facet_counts(span.every, "author")[:ACTIVE_AUTHORS],
        threads=threads_of(found.hits)[: None if month else RECENT_THREADS],
        undated=span.undated,
        search_href=url_for("pages.search") + params.query_string(search_args),
        undated_href=url_for("pages.search") + params.query_string(
            [("q", f"NOT {DATED}"), ("list", name)]),
    )


@bp.route("/list/<name>")
def list_home(name: str) -> str:
    return list_page(name)


@bp.route("/list/<name>/<year>")
def list_year(name: str, year: str) -> str:
    if not re.fullmatch(r"\d{4}", year):
        abort(404, description=f"{year!r} is not a year")
    return list_page(name, year)


@bp.route("/list/<name>/<year>/<month>")
def list_month(name: str, year: str, month: str) -> str:
    if not re.fullmatch(r"\d{4}", year) or not re.fullmatch(r"0[1-9]|1[0-2]", month):
        abort(404, description=f"{year}/{month} is not a year and month (2010/02)")
    return list_page(name, year, month)


@bp.route("/healthz")
def healthz() -> Response:
    total = engine().search(SearchRequest(page_size=1, with_facets=False, highlight=False)).total
    return jsonify({"ok": True, "messages": total})
