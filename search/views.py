"""Stored documents -> the records pages and the API show: hits, a message, a thread, an author.

Engine-neutral: a stored document is the dict ``index/document.py`` wrote, whatever engine
kept it. Thread structure is read from the ``parent_id`` each document was given when it
was indexed (the thread algorithm's result, ``index/threads.py``), never recomputed here.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from core.backend import SnippetParts
from core.results import AuthorView, Hit, MessageView, ThreadNode, ThreadView, snippet_html

# A line that only greets ("Hi all,", "Dear Milton,", "Colleagues:"): a thread's first line
# skips it, or every reply in a list would start with the same "Hi all,".
GREETING = re.compile(
    r"^(?:hi|hello|hey|dear|greetings|good (?:morning|afternoon|evening)|all|folks|"
    r"colleagues|friends)\b[^.?!]{0,60}[,:!]?\s*$|^[A-Z][\w.'-]*(?: [\w.'-]+){0,2}[,:]\s*$",
    re.IGNORECASE,
)


def first_line(text: str) -> str:
    """The first line that says something, greetings skipped (the first one if all greet)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return next((line for line in lines if not GREETING.match(line)), lines[0] if lines else "")


def iso(value: Any) -> str | None:
    if not isinstance(value, datetime):
        return None
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def loads(value: Any, default: Any) -> Any:
    if not value:
        return default
    try:
        return json.loads(value)
    except (TypeError, ValueError):
        return default


def lists_of(stored: dict[str, Any]) -> tuple[str, ...]:
    return tuple(v for v in (stored.get("list") or "").split(",") if v)


def values_of(stored: Mapping[str, Any], name: str) -> tuple[str, ...]:
    """A keyword field's values (cites, mentions) as stored: comma-separated."""
    return tuple(v for v in str(stored.get(name) or "").split(",") if v)


def spans_of(stored: Mapping[str, Any]) -> tuple[tuple[int, int, int, str, str], ...]:
    """The stored reference spans; a malformed entry is dropped, never shown half."""
    spans = []
    for span in loads(stored.get("reference_spans_json"), []):
        if (isinstance(span, list) and len(span) == 5
                and all(isinstance(n, int) and not isinstance(n, bool) for n in span[:3])
                and all(isinstance(t, str) for t in span[3:])):
            spans.append(tuple(span))
    return tuple(spans)  # type: ignore[arg-type]


def hit(stored: dict[str, Any], score: float | None, parts: SnippetParts, field: str) -> Hit:
    lists = lists_of(stored)
    return Hit(
        message_id=stored["message_id"],
        subject=stored.get("subject") or "",
        author=stored.get("author") or "",
        email=stored.get("email"),
        date=iso(stored.get("date")),
        list=lists[0] if lists else "",
        lists=lists,
        thread_id=stored.get("thread_id") or stored["message_id"],
        score=None if score is None else round(float(score), 4),
        snippet=snippet_html(parts),
        snippet_parts=parts,
        snippet_field=field,
    )


def message(stored: dict[str, Any], known: set[str]) -> MessageView:
    """``known``: the quoted messages' ids that are indexed (their quotes link)."""
    quotes = []
    for quote in loads(stored.get("quotes_json"), []):
        qid = quote.get("message_id")
        quotes.append({**quote, "known": bool(qid) and qid in known})
    meta = loads(stored.get("meta_json"), {})
    return MessageView(
        message_id=stored["message_id"],
        subject=stored.get("subject") or "",
        subject_normalized=stored.get("subject_normalized") or "",
        author=stored.get("author") or "",
        author_name=meta.get("author_name"),
        email=stored.get("email"),
        group=stored.get("group"),
        affiliation=stored.get("affiliation"),
        date=iso(stored.get("date")),
        lists=lists_of(stored),
        thread_id=stored.get("thread_id") or stored["message_id"],
        in_reply_to=stored.get("in_reply_to"),
        references=tuple((stored.get("references") or "").split()),
        original=stored.get("original") or "",
        quoted=stored.get("quoted") or "",
        quotes=tuple(quotes),
        signature=stored.get("signature") or "",
        footer=stored.get("footer") or "",
        charset=loads(stored.get("charset_json"), {}),
        attachments=tuple(loads(stored.get("attachments_json"), [])),
        source=loads(stored.get("source_json"), {}),
        headers=stored.get("headers") or "",
        author_source=meta.get("author_source"),
        date_source=meta.get("date_source"),
        message_id_source=meta.get("message_id_source"),
        notes=tuple(meta.get("notes") or ()),
        cites=values_of(stored, "cites"),
        quoted_cites=values_of(stored, "quoted_cites"),
        mentions=values_of(stored, "mentions"),
        reference_spans=spans_of(stored),
    )


def quoted_ids(stored: dict[str, Any]) -> set[str]:
    return {q["message_id"] for q in loads(stored.get("quotes_json"), []) if q.get("message_id")}


def _when(doc: dict[str, Any]) -> tuple[str, str]:
    # Undated messages sort after dated ones: "9999" is later than any ISO date.
    return (iso(doc.get("date")) or "9999", doc["message_id"])


def in_date_order(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(docs, key=_when)


def thread(thread_id: str, docs: list[dict[str, Any]]) -> ThreadView:
    """The reply tree, depth-first in date order: each node follows its parent."""
    by_id = {d["message_id"]: d for d in docs}
    parent_of = {
        mid: parent if parent in by_id and parent != mid else None
        for mid, parent in ((d["message_id"], d.get("parent_id")) for d in docs)
    }
    ordered = in_date_order(docs)
    children: dict[str | None, list[dict[str, Any]]] = {}
    for doc in ordered:
        children.setdefault(parent_of[doc["message_id"]], []).append(doc)
    placed: set[str] = set()
    nodes: list[ThreadNode] = []
    # An explicit stack, never recursion: threads can be thousands deep. Messages whose
    # parent chain loops (bad headers) are placed as roots from the leftovers.
    stack: list[tuple[dict[str, Any], int]] = [(d, 0) for d in reversed(children.get(None, []))]
    leftovers = list(ordered)
    while stack or leftovers:
        if not stack:
            doc = leftovers.pop(0)
            if doc["message_id"] in placed:
                continue
            stack.append((doc, 0))
        doc, depth = stack.pop()
        mid = doc["message_id"]
        if mid in placed:
            continue
        placed.add(mid)
        first = first_line(doc.get("original") or "")
        nodes.append(
            ThreadNode(
                message_id=mid,
                parent_id=parent_of[mid] if depth else None,
                depth=depth,
                author=doc.get("author") or "",
                date=iso(doc.get("date")),
                subject=doc.get("subject") or "",
                first_line=first[:200],
            )
        )
        for child in reversed(children.get(mid, [])):
            stack.append((child, depth + 1))
    root = by_id.get(thread_id) or min(docs, key=_when)
    return ThreadView(thread_id, root.get("subject") or "", tuple(nodes))


def thread_messages(
    thread_id: str, docs: list[dict[str, Any]], known: set[str]
) -> tuple[ThreadView, dict[str, MessageView]]:
    """The reply tree and every message of it whole, for a thread read on one page."""
    return thread(thread_id, docs), {d["message_id"]: message(d, known) for d in docs}


def _most(counter: Counter[str]) -> tuple[tuple[str, int], ...]:
    return tuple(sorted(counter.items(), key=lambda kv: (-kv[1], kv[0])))


def author(
    name: str, total: int, counts: dict[str, Counter[str]], quoted_by: Counter[str]
) -> AuthorView:
    return AuthorView(
        name=name,
        emails=tuple(sorted(counts["email"])),
        group=counts["group"].most_common(1)[0][0] if counts["group"] else None,
        affiliation=counts["affiliation"].most_common(1)[0][0] if counts["affiliation"] else None,
        total=total,
        years=tuple(sorted(counts["year"].items())),
        lists=_most(counts["list"]),
        quotes=_most(counts["quoted_author"]),
        quoted_by=_most(quoted_by),
        cites=_most(counts.get("cites", Counter())),
        mentions=_most(counts.get("mentions", Counter())),
    )
