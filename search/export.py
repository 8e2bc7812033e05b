"""Messages out of the index for researchers: mbox (the original bytes), CSV and JSON lines.

A search or a thread selects the messages, oldest first; everything is a generator, so
a web response or a file is written while the index is read, never held whole. The
original bytes come from a reader handed in by the caller (``index.raw.read``: ``search``
does not stand on ``index``, the composition roots join the two).
"""

from __future__ import annotations

import csv
import io
import json
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, Protocol

from core.errors import GovmailError
from core.results import SearchRequest
from search import views
from search.engine import Engine
from search.facets import filter_query
from search.query import parse

# What a researcher codes a message by, in this order (the CSV header).
COLUMNS = (
    "date", "author", "group", "list", "subject", "message_id", "thread_id",
    "own_words_length", "quoted_authors", "cites", "quoted_cites", "mentions",
)
# The reference columns (index values: tunis-agenda, tunis-agenda/76, itu): lists in JSON
# lines; in CSV joined by this, which no value holds, so `str.split(";")` gives them back.
REFERENCES = ("cites", "quoted_cites", "mentions")
CSV_JOIN = ";"
FORMATS = ("mbox", "csv", "jsonl")


class Original(Protocol):
    def as_mbox(self) -> bytes: ...


ReadOriginal = Callable[[Mapping[str, Any]], Original]


def search_documents(engine: Engine, request: SearchRequest, limit: int) -> list[dict[str, Any]]:
    """The stored documents of at most ``limit`` hits, oldest first (undated last)."""
    s = engine.settings
    parsed = parse(request.query, include_quoted=request.include_quoted,
                   max_length=s.max_query_length, max_terms=s.max_query_terms)
    reader = engine.reader
    reader.refresh()
    sort = "relevance" if parsed.text and request.sort == "relevance" else "-date"
    with reader.pinned():
        matched = reader.match(parsed.query, filter_query(request.filters), sort, limit,
                               s.max_query_terms, {})
        docs = [reader.stored(matched, ref) for ref, _ in matched.top[:limit]]
    return views.in_date_order(docs)


def thread_documents(engine: Engine, thread_id: str) -> list[dict[str, Any]]:
    return views.in_date_order(engine._thread_docs(thread_id))  # noqa: SLF001


def row(doc: Mapping[str, Any]) -> dict[str, Any]:
    quotes = views.loads(doc.get("quotes_json"), [])
    lists = views.lists_of(dict(doc))
    return {
        "date": views.iso(doc.get("date")),
        "author": doc.get("author") or "",
        "group": doc.get("group") or "",
        "list": lists[0] if lists else "",
        "subject": doc.get("subject") or "",
        "message_id": doc["message_id"],
        "thread_id": doc.get("thread_id") or doc["message_id"],
        "own_words_length": len(doc.get("original") or ""),
        "quoted_authors": sorted({q["author"] for q in quotes if q.get("author")}),
        **{name: list(views.values_of(doc, name)) for name in REFERENCES},
    }


def jsonl(docs: Iterable[Mapping[str, Any]]) -> Iterator[bytes]:
    for doc in docs:
        yield (json.dumps(row(doc), ensure_ascii=False) + "\n").encode("utf-8")


def csv_rows(docs: Iterable[Mapping[str, Any]]) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    for doc in docs:
        values = row(doc)
        values["quoted_authors"] = "; ".join(values["quoted_authors"])
        for name in REFERENCES:
            values[name] = CSV_JOIN.join(values[name])
        values["date"] = values["date"] or ""
        writer.writerow([values[c] for c in COLUMNS])
        yield buffer.getvalue().encode("utf-8")
        buffer.seek(0)
        buffer.truncate()
    if buffer.getvalue():
        yield buffer.getvalue().encode("utf-8")


def mbox(docs: Iterable[Mapping[str, Any]], read: ReadOriginal,
         missing: Callable[[str, str], None] | None = None,
         transform: Callable[[bytes], bytes] | None = None) -> Iterator[bytes]:
    """Each message's original bytes as an mbox entry; ``missing(id, why)`` hears of the
    ones whose source file is gone, so none vanishes unreported."""
    for doc in docs:
        source = views.loads(doc.get("source_json"), {})
        try:
            entry = read(source).as_mbox()
        except GovmailError as exc:
            if missing is not None:
                missing(doc["message_id"], str(exc))
            continue
        yield transform(entry) if transform else entry


def gzipped(chunks: Iterable[bytes], level: int = 6) -> Iterator[bytes]:
    """A gzip stream of the chunks, compressed as they come."""
    packer = zlib.compressobj(level, zlib.DEFLATED, 31)
    for chunk in chunks:
        packed = packer.compress(chunk)
        if packed:
            yield packed
    yield packer.flush()


def export(docs: Iterable[Mapping[str, Any]], fmt: str, read: ReadOriginal | None = None,
           missing: Callable[[str, str], None] | None = None) -> Iterator[bytes]:
    if fmt == "csv":
        return csv_rows(docs)
    if fmt == "jsonl":
        return jsonl(docs)
    if fmt == "mbox" and read is not None:
        return mbox(docs, read, missing)
    raise GovmailError(f"unknown export format {fmt!r} (use {', '.join(FORMATS)})")
