"""What `govmail search` and `govmail stats` print: a table sized to the terminal, JSON,
JSON lines or CSV. JSON is exactly :meth:`Results.to_json`, the web API's shape.
"""

from __future__ import annotations

import csv
import json
import shutil
from collections.abc import Iterable
from typing import IO, TYPE_CHECKING

import click

from core.config import Settings
from core.errors import GovmailError, QueryError
from core.results import Hit, Results, SearchRequest

if TYPE_CHECKING:
    from search.engine import Engine

FACETS_SHOWN = 10


class UsageError(GovmailError):
    """An option value out of range (status 2, the README's error table)."""


def parse_filters(filters: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """["list=governance", "year=2010", "year=2011"] -> {"list": (...), "year": (...)}."""
    chosen: dict[str, list[str]] = {}
    for item in filters:
        name, sep, value = item.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise QueryError(f"filter {item!r} is not FACET=VALUE")
        chosen.setdefault(name.strip(), []).append(value.strip())
    return {k: tuple(v) for k, v in chosen.items()}


# The table's columns, in order; --columns picks and orders a subset.
COLUMNS = ("date", "author", "list", "message_id", "subject")
DEFAULT_COLUMNS = ("date", "author", "list", "subject")


def parse_columns(text: str | None) -> tuple[str, ...]:
    if not text:
        return DEFAULT_COLUMNS
    chosen = tuple(c.strip() for c in text.split(",") if c.strip())
    unknown = [c for c in chosen if c not in COLUMNS]
    if unknown or not chosen:
        raise UsageError(f"--columns {text!r}: choose from {', '.join(COLUMNS)}")
    return chosen


def _cut(text: str, width: int) -> str:
    """At most ``width`` characters, cut at a word boundary when one is near (never mid-word
    unless a single word is wider than the column)."""
    if len(text) <= width:
        return text
    room = max(0, width - 1)
    head = text[:room]
    space = head.rfind(" ")
    if space >= room // 2:
        head = head[:space]
    return head.rstrip() + "…"


def _fit(text: str, width: int) -> str:
    text = " ".join(text.split())
    return _cut(text, width).ljust(width)


def wrap(text: str, width: int, indent: int = 0) -> list[str]:
    """Lines of at most ``width`` characters, broken between words, never inside one."""
    import textwrap

    return textwrap.wrap(text, width=max(10, width), subsequent_indent=" " * indent,
                         break_long_words=False, break_on_hyphens=False) or [""]


def _snippet(hit: Hit, width: int, styled: bool) -> str:
    shown: list[str] = []
    used = 0
    for text, matched in hit.snippet_parts:
        room = width - used
        if room < 4:
            break
        piece = _cut(text, room)
        if piece != text and " " not in piece.strip():
            break  # only part of one word would fit: leave it out rather than split it
        used += len(piece)
        # click.style closes its own bold, so a highlight cut short never leaves bold on.
        shown.append(click.style(piece, bold=True) if matched and styled else piece)
    prefix = "[quoted] " if hit.snippet_field == "quoted" else ""
    return prefix + "".join(shown)


def _width(columns: int | None) -> int:
    """The terminal's width: given by the caller (a resident answers for another process's
    terminal), else this process's."""
    return max(60, columns or shutil.get_terminal_size((100, 24)).columns)


def print_table(results: Results, out: IO[str], styled: bool,
                columns: tuple[str, ...] = DEFAULT_COLUMNS, width: int | None = None) -> None:
    width = _width(width)
    date_w = 10
    # A Message-ID is only useful whole (it is what `govmail show` takes): never cut.
    id_w = max((len(h.message_id) for h in results.hits), default=10)
    widths = {"date": date_w, "author": min(22, width // 6), "list": min(16, width // 8),
              "message_id": id_w}
    fixed = sum(widths[c] for c in columns if c != "subject") + len(columns) - 1
    widths["subject"] = max(10, width - fixed)
    values = {
        "date": lambda h: (h.date or "")[:10],
        "author": lambda h: h.author,
        "list": lambda h: h.list,
        "message_id": lambda h: h.message_id,
        "subject": lambda h: h.subject,
    }
    for hit in results.hits:
        line = " ".join(values[c](hit).ljust(widths[c]) if c == "message_id"
                        else _fit(values[c](hit), widths[c]) for c in columns).rstrip()
        out.write(line + "\n")
        snippet = _snippet(hit, width - date_w - 1, styled)
        if snippet:
            out.write(" " * (date_w + 1) + snippet + "\n")
    request = results.request
    last = min(results.total, request.page * request.page_size)
    first = min(results.total, (request.page - 1) * request.page_size + 1)
    if not results.hits and results.total and request.page > results.pages:
        out.write(f"{results.total} hit{'s' if results.total != 1 else ''}; page "
                  f"{request.page} is past the last page ({results.pages})\n")
    else:
        out.write(
            f"{results.total} hit{'s' if results.total != 1 else ''}"
            + (f", showing {first}-{last}" if results.hits else "")
            + f" (page {request.page} of {results.pages}, {results.elapsed_ms:.0f} ms)\n"
        )
    if results.suggestion:
        out.write(f"Did you mean: {results.suggestion}\n")


def print_facets(results: Results, out: IO[str], width: int | None = None) -> None:
    width = _width(width)
    for name, values in results.facets.items():
        if not values:
            continue
        ranked = sorted(values, key=lambda v: (-v.count, v.value))[:FACETS_SHOWN]
        shown = ", ".join(f"{v.value} ({v.count})" for v in ranked)
        more = f", … {len(values) - len(ranked)} more" if len(values) > len(ranked) else ""
        for line in wrap(f"{name}: {shown}{more}", width, indent=len(name) + 2):
            out.write(line + "\n")


def run_search(
    settings: Settings,
    query: str,
    limit: int = 20,
    page: int = 1,
    sort: str = "relevance",
    fmt: str = "table",
    show_facets: bool = False,
    count_only: bool = False,
    filters: Iterable[str] = (),
    out: IO[str] | None = None,
    columns: tuple[str, ...] = DEFAULT_COLUMNS,
    err: IO[str] | None = None,
    engine: Engine | None = None,
    width: int | None = None,
    styled: bool | None = None,
) -> bool:
    """Run one search and print it; True when anything matched.

    ``engine``: an open one to reuse (the resident's), else one opened and closed here.
    ``width`` and ``styled``: the terminal the output is for, when it is not this process's.
    """
    out = out or click.get_text_stream("stdout")
    if page > settings.max_page:
        # Not a query problem: the query is fine, the page is past what is served.
        raise UsageError(f"--page {page}: at most {settings.max_page} (the max_page setting)")
    request = SearchRequest(
        query=query,
        filters=parse_filters(filters),
        sort=sort,
        page=page,
        page_size=limit,
        # Facets only when asked, in every format: counting six columns over every match
        # was most of a JSON search's time (issue 19).
        with_facets=show_facets,
        highlight=not count_only,
    )
    if engine is not None:
        results = engine.search(request)
    else:
        from search.engine import Engine

        opened = Engine(settings)
        try:
            results = opened.search(request)
        finally:
            opened.close()
    if count_only:
        out.write(f"{results.total}\n")
    elif fmt == "json":
        out.write(json.dumps(results.to_json(), ensure_ascii=False, indent=2) + "\n")
    elif fmt == "jsonl":
        for hit in results.hits:
            out.write(json.dumps(hit.to_json(), ensure_ascii=False) + "\n")
    elif fmt == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["date", "author", "email", "list", "subject", "message_id",
                         "thread_id", "score", "snippet"])
        for hit in results.hits:
            text = "".join(t for t, _ in hit.snippet_parts)
            writer.writerow([hit.date or "", hit.author, hit.email or "", hit.list, hit.subject,
                             hit.message_id, hit.thread_id,
                             "" if hit.score is None else hit.score, text])
    else:
        if styled is None:
            styled = getattr(out, "isatty", lambda: False)()
        print_table(results, out, styled, columns, width)
        if show_facets:
            print_facets(results, out, width)
    if show_facets and fmt in ("jsonl", "csv") and not count_only:
        print_facets(results, err or click.get_text_stream("stderr"), width)
    return results.total > 0


def run_stats(settings: Settings, fmt: str = "table", out: IO[str] | None = None) -> None:
    from search.engine import Engine

    out = out or click.get_text_stream("stdout")
    engine = Engine(settings)
    try:
        stats = engine.stats()
    finally:
        engine.close()
    if fmt == "json":
        out.write(json.dumps(stats, indent=2) + "\n")
        return
    size = stats["index_bytes"]
    out.write(
        f"messages    {stats['messages']}\n"
        f"authors     {stats['authors']}\n"
        f"lists       {stats['lists']}\n"
        f"first date  {stats['first_date'] or '-'}\n"
        f"last date   {stats['last_date'] or '-'}\n"
        f"index size  {size / 1_048_576:.1f} MB ({size} bytes)\n"
        f"index       {stats['index_dir']}\n"
    )


def run_show(settings: Settings, message_id: str, fmt: str = "plain",
             out: IO[str] | None = None) -> bool:
    """Print one message (False when no message has that id)."""
    from search.engine import Engine

    out = out or click.get_text_stream("stdout")
    engine = Engine(settings)
    try:
        view = engine.message(message_id.strip().strip("<>"))
    finally:
        engine.close()
    if view is None:
        return False
    if fmt == "json":
        out.write(json.dumps(view.to_json(), ensure_ascii=False, indent=2) + "\n")
        return True
    width = max(60, shutil.get_terminal_size((100, 24)).columns)
    author = view.author + (f" <{view.email}>" if view.email and view.email != view.author else "")
    for label, value in (("From", author), ("Date", view.date or "-"),
                         ("Subject", view.subject), ("Lists", ", ".join(view.lists)),
                         ("Message-ID", view.message_id), ("Thread", view.thread_id),
                         ("In-Reply-To", view.in_reply_to or "")):
        if value:
            for line in wrap(f"{label + ':':<12} {value}", width, indent=13):
                out.write(line + "\n")
    for attachment in view.attachments:
        out.write(f"{'Attachment:':<12} {attachment.get('filename') or '(unnamed)'}\n")
    out.write("\n" + view.original.rstrip() + "\n")
    if view.quotes:
        out.write(f"\n[{len(view.quotes)} quoted passage{'s' if len(view.quotes) != 1 else ''}"
                  " left out; --format json shows them]\n")
    return True
