"""Message record -> index document, keyed by the field names of ``core/fields.py``."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC

from analysis.lang import detect
from core.records import Message, Quote
from index.references import values as cite_values


@dataclass(frozen=True, slots=True)
class Identity:
    """Who wrote a message, after aliases: the name every facet and filter uses."""

    name: str
    email: str | None = None
    group: str | None = None
    affiliation: str | None = None
    # Every spelling and address seen for this person, searchable with from:.
    aliases: tuple[str, ...] = ()


def fallback_identity(message: Message) -> Identity:
    """The identity a message gives on its own, before any alias resolution."""
    name = message.author.name or message.author.email or "(unknown)"
    return Identity(name=name, email=message.author.email)


def author_text(identity: Identity, name: str | None, email: str | None) -> str:
    """What from:/author: search: the canonical name, every known spelling, this message's own."""
    words = {identity.name, *identity.aliases}
    for extra in (name, email, identity.email):
        if extra:
            words.add(extra)
    return " ".join(sorted(words))


def quoted_author_fields(authors: Iterable[str | None]) -> dict[str, str]:
    """The quoted-author facet and the quotes: text, from the quote blocks' authors: for a
    new document and for one rewritten when its quotes gain authors (index/writer.py)."""
    names = sorted({a for a in authors if a})
    return {
        "quoted_author": ",".join(a.replace(",", " ") for a in names),
        # One name a line: quotes:"kurt hornik" matches a name, in any case.
        "quoted_author_text": "\n".join(names),
    }


def _quote_starts(quoted_text: str, quotes: Iterable[Quote]) -> list[int]:
    """Where each quote's text begins in ``quoted_text`` (-1: not found).

    The splitter joins the quoted lines of a body into ``quoted_text`` in body order, so each
    quote is found after the one before it.
    """
    starts, cursor = [], 0
    for quote in quotes:
        at = quoted_text.find(quote.text, cursor) if quote.text else -1
        starts.append(at)
        if at >= 0:
            cursor = at + len(quote.text)
    return starts


def reference_spans(message: Message) -> list[list[object]]:
    """The extractor's spans as the message page reads them: ``[quote, start, end, field,
    value]``, quote -1 for the own words, else the quote's number with offsets in its text."""
    starts = _quote_starts(message.quoted_text, message.quotes) if any(
        s.where == "quoted" for s in message.reference_spans) else []
    out: list[list[object]] = []
    for span in message.reference_spans:
        if span.where == "original":
            out.append([-1, span.start, span.end, span.field, span.value])
            continue
        for number, (at, quote) in enumerate(zip(starts, message.quotes, strict=True)):
            if 0 <= at <= span.start and span.end <= at + len(quote.text):
                out.append([number, span.start - at, span.end - at, span.field, span.value])
                break
    return out


def to_document(
    message: Message, identity: Identity | None = None, parent_id: str | None = None
) -> dict[str, object]:
    identity = identity or fallback_identity(message)
    date = message.date.astimezone(UTC).replace(tzinfo=None) if message.date else None
    doc: dict[str, object] = {
        "message_id": message.message_id,
        "thread_id": message.thread_id or message.message_id,
        "list": ",".join(message.lists),
        "author": identity.name,
        "author_text": author_text(identity, message.author.name, message.author.email),
        "subject": message.subject,
        "subject_normalized": message.subject_normalized,
        "original": message.original_text,
        "quoted": message.quoted_text,
        **quoted_author_fields(q.author for q in message.quotes),
        # The language of the author's own words, which the stemmer of their text follows.
        "lang": detect(f"{message.subject or ''}\n{message.original_text or ''}"),
        "signature": message.signature,
        "footer": message.footer,
        "references": " ".join(message.references),
        "quotes_json": json.dumps([q.to_json() for q in message.quotes], ensure_ascii=False),
        "charset_json": json.dumps(message.charset.to_json(), ensure_ascii=False),
        "attachments_json": json.dumps(
            [a.to_json() for a in message.attachments], ensure_ascii=False
        ),
        "source_json": json.dumps(message.source.to_json(), ensure_ascii=False),
        "meta_json": json.dumps(
            {
                "author_name": message.author.name,
                # The address as the message gave it, so that the catalog can be
                # rebuilt from stored fields after a crash.
                "author_email": message.author.email,
                "author_source": message.author.source,
                "date_source": message.date_source,
                "message_id_source": message.message_id_source,
                "notes": list(message.notes),
            },
            ensure_ascii=False,
        ),
        "headers": message.headers,
        "cites": ",".join(cite_values(message.cites, "original")),
        "quoted_cites": ",".join(cite_values(message.cites, "quoted")),
        "mentions": ",".join(message.mentions),
        "reference_spans_json": json.dumps(reference_spans(message), ensure_ascii=False)
        if message.reference_spans else "",
    }
    if identity.email:
        doc["email"] = identity.email
    if identity.group:
        doc["group"] = identity.group
    if identity.affiliation:
        doc["affiliation"] = identity.affiliation
    if message.in_reply_to:
        doc["in_reply_to"] = message.in_reply_to
    if parent_id:
        doc["parent_id"] = parent_id
    if date is not None:
        doc["date"] = date
        doc["year"] = f"{date.year:04d}"
        doc["month"] = f"{date.year:04d}-{date.month:02d}"
    return doc
