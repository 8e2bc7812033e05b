"""``govmail inspect``: parse paths without an index and print the records, for humans or tools.

Owns the three renderings (plain, json array, jsonl) of :class:`Message` records, the listing of
rejections on stderr as ``path:key [stage] reason`` and the final count line. What a path holds
is :func:`index.scan.walk`'s to decide and parsing :func:`index.pipeline.parse_stream`'s, as for
``govmail index``.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterable
from itertools import chain
from pathlib import Path
from typing import TextIO

from core.config import Settings
from core.errors import SourceError
from core.records import Message, Rejection, SourceRef, iso_utc
from index.incremental import problems_of, read_works, works_of
from index.scan import walk


def _section(title: str, text: str) -> list[str]:
    if not text.strip():
        return []
    return [f"--- {title} ---", text.rstrip(), ""]


def render_plain(message: Message) -> str:
    """A readable record: the headers block, then each labelled part of the body."""
    author = message.author
    who = " ".join(p for p in (author.name or "", f"<{author.email}>" if author.email else "") if p)
    lines = [
        f"=== {message.source} ===",
        f"Message-ID: {message.message_id}"
        + ("  (derived from content)" if message.message_id_source == "content" else ""),
        f"From:       {who or '(unknown)'}  [{author.source or 'unknown'}]",
        f"Date:       {iso_utc(message.date) or '(unknown)'}  [{message.date_source or 'none'}]",
        f"Subject:    {message.subject}",
        f"Normalized: {message.subject_normalized}",
        f"List:       {', '.join(message.lists) or '(none)'}",
    ]
    if message.in_reply_to:
        lines.append(f"In-Reply-To: {message.in_reply_to}")
    if message.references:
        lines.append(f"References: {' '.join(message.references)}")
    lines.append("")
    lines += _section("Original", message.original_text)
    for quote in message.quotes:
        label = f"Quoted (depth {quote.depth}, by {quote.author or 'unknown'}"
        label += f", id {quote.message_id})" if quote.message_id else ")"
        lines += _section(label, textwrap.indent(quote.text.rstrip(), "> " * quote.depth))
    if not message.quotes:
        lines += _section("Quoted", message.quoted_text)
    lines += _section("Signature", message.signature)
    lines += _section("Footer", message.footer)
    for attachment in message.attachments:
        lines.append(f"Attachment: {attachment.filename or '(unnamed)'} "
                     f"{attachment.content_type} {attachment.size} bytes")
    for where in ("original", "quoted"):
        cited = [c.document + (f" {c.part}" if c.part else "") for c in message.cites
                 if c.where == where]
        if cited:
            lines.append(f"Cites ({where}): {', '.join(cited)}")
    if message.mentions:
        lines.append(f"Mentions: {', '.join(message.mentions)}")
    charset = message.charset
    lines.append(f"--- Charset --- declared {charset.declared or '(none)'}, used {charset.used}")
    lines += [f"  repair: {r}" for r in charset.repairs]
    lines += [f"  note: {n}" for n in message.notes]
    return "\n".join(lines) + "\n"


def run_inspect(paths: Iterable[Path | str], settings: Settings, fmt: str = "plain",
                list_name: str | None = None, out: TextIO | None = None,
                err: TextIO | None = None) -> bool:
    """Print every record under ``paths``; False only if nothing at all could be read."""
    import sys

    out = out or sys.stdout
    err = err or sys.stderr
    read = records = reported = 0
    first = True
    if fmt == "json":
        out.write("[")
    # The same scan as `govmail index` (index/scan.py): no recursion on folder depth, the
    # symlink policy, unreadable entries reported, README.md not mail; then the same reads.
    scans, unreadable = [], []
    for path in paths:
        try:
            scans.append(walk(Path(path).resolve(), settings.follow_symlinks))
        except SourceError as exc:
            # `index` stops on a source it cannot read; inspect reports it and goes on.
            unreadable.append(Rejection(SourceRef(str(path)), "source", str(exc)))
    items = chain(unreadable, (r for scan in scans for r in problems_of(scan)),
                  read_works([w for scan in scans for w in works_of(scan)], settings,
                             list_name, jobs=1))
    for item in items:
        read += 1
        if isinstance(item, Rejection):
            reported += 1
            err.write(f"{item}\n")
            continue
        records += 1
        if fmt == "json":
            out.write(("\n" if first else ",\n") + json.dumps(item.to_json(), ensure_ascii=False,
                                                              indent=2))
        elif fmt == "jsonl":
            out.write(json.dumps(item.to_json(), ensure_ascii=False) + "\n")
        else:
            out.write(("" if first else "\n") + render_plain(item))
        first = False
    if fmt == "json":
        out.write("\n]\n" if not first else "]\n")
    err.write(f"read {read}, records {records}, reported {reported}\n")
    return records > 0 or (read > 0 and reported < read)
