"""What `govmail search` and `govmail stats` print: a table sized to the terminal, JSON,
JSON lines or CSV. JSON is exactly :meth:`Results.to_json`, the web API's shape.
"""

from __future__ import annotations

import csv
import json
import shutil
from collections.abc import Iterable
from typing import IO

import click

from core.config import Settings
from core.errors import QueryError
from core.results import Hit, Results, SearchRequest
from search.engine import Engine

FACETS_SHOWN = 10


def parse_filters(filters: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """["list=governance", "year=2010", "year=2011"] -> {"list": (...), "year": (...)}."""
    chosen: dict[str, list[str]] = {}
    for item in filters:
        name, sep, value = item.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise QueryError(f"filter {item!r} is not FACET=VALUE")
        chosen.setdefault(name.strip(), []).append(value.strip())
    return {k: tuple(v) for k, v in chosen.items()}


def _fit(text: str, width: int) -> str:
    text = " ".join(text.split())
    if len(text) <= width:
        return text.ljust(width)
    return text[: max(0, width - 1)] + "…"


def _snippet(hit: Hit, width: int, styled: bool) -> str:
    shown: list[str] = []
    used = 0
    for text, matched in hit.snippet_parts:
        room = width - used
        if room <= 0:
            break
        piece = text if len(text) <= room else text[: max(0, room - 1)] + "…"
        used += len(piece)
        shown.append(click.style(piece, bold=True) if matched and styled else piece)
    prefix = "[quoted] " if hit.snippet_field == "quoted" else ""
    return prefix + "".join(shown)


def print_table(results: Results, out: IO[str], styled: bool) -> None:
    width = max(60, shutil.get_terminal_size((100, 24)).columns)
    date_w, author_w, list_w = 10, min(22, width // 6), min(16, width // 8)
    subject_w = width - date_w - author_w - list_w - 3
    for hit in results.hits:
        line = " ".join(
            (
                _fit((hit.date or "")[:10], date_w),
                _fit(hit.author, author_w),
                _fit(hit.list, list_w),
                _fit(hit.subject, subject_w).rstrip(),
            )
        )
        out.write(line + "\n")
        snippet = _snippet(hit, width - date_w - 1, styled)
        if snippet:
            out.write(" " * (date_w + 1) + snippet + "\n")
    request = results.request
    last = min(results.total, request.page * request.page_size)
    first = min(results.total, (request.page - 1) * request.page_size + 1)
    out.write(
        f"{results.total} hit{'s' if results.total != 1 else ''}"
        + (f", showing {first}-{last}" if results.hits else "")
        + f" (page {request.page} of {results.pages}, {results.elapsed_ms:.0f} ms)\n"
    )
    if results.suggestion:
        out.write(f"Did you mean: {results.suggestion}\n")


def print_facets(results: Results, out: IO[str]) -> None:
    for name, values in results.facets.items():
        if not values:
            continue
        ranked = sorted(values, key=lambda v: (-v.count, v.value))[:FACETS_SHOWN]
        shown = ", ".join(f"{v.value} ({v.count})" for v in ranked)
        more = f", … {len(values) - len(ranked)} more" if len(values) > len(ranked) else ""
        out.write(f"{name}: {shown}{more}\n")


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
) -> bool:
    """Run one search and print it; True when anything matched."""
    out = out or click.get_text_stream("stdout")
    engine = Engine(settings)
    try:
        request = SearchRequest(
            query=query,
            filters=parse_filters(filters),
            sort=sort,
            page=page,
            page_size=limit,
            with_facets=show_facets or fmt == "json",
            highlight=not count_only,
        )
        results = engine.search(request)
    finally:
        engine.close()
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
        styled = getattr(out, "isatty", lambda: False)()
        print_table(results, out, styled)
        if show_facets:
            print_facets(results, out)
    if show_facets and fmt in ("jsonl", "csv") and not count_only:
        print_facets(results, click.get_text_stream("stderr"))
    return results.total > 0


def run_stats(settings: Settings, fmt: str = "table", out: IO[str] | None = None) -> None:
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
