"""Footers learned per list: a closing paragraph that many of a list's messages end with.

The fixed patterns of :mod:`index.quote_markers` know Mailman, LISTSERV, Lyris and Google
Groups; a list's own footer ("IGC list. Read the charter at ...", a corporate
disclaimer the list server appends) is known only by repetition. Parsing sees one message;
the writer sees a batch and the index, so it learns here: the last paragraph of the own
words (or of the signature), compared as whitespace-collapsed text, is a footer of a list
when at least :data:`MIN_MESSAGES` messages by :data:`MIN_AUTHORS` different authors, and
:data:`MIN_SHARE` of the list's messages in the batch, end with it. Distinct authors keep
one prolific person's sign-off a signature. What is learned is kept in the catalog, so
later batches (incremental runs) strip it too; the outcome depends only on the batch's
messages, not on their order.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import replace

from core.records import Message

MIN_MESSAGES = 5
MIN_AUTHORS = 3
MIN_SHARE = 0.2
MAX_LINES = 8
MAX_CHARS = 800
# Footers stack (a list footer above a server's disclaimer): strip this many at most.
MAX_STACKED = 3


def _tail(text: str) -> tuple[int, str] | None:
    """(offset of the last paragraph, its key) when it is short enough to be a footer."""
    body = text.rstrip()
    if not body:
        return None
    cut = body.rfind("\n\n")
    start = cut + 2 if cut >= 0 else 0
    block = body[start:]
    if block.count("\n") >= MAX_LINES or len(block) > MAX_CHARS or len(block.split()) < 3:
        return None
    return start, " ".join(block.split())


def list_of(message: Message) -> str:
    return message.lists[0] if message.lists else ""


def learn(messages: Iterable[Message]) -> dict[str, set[str]]:
    """The footers each list's messages show, by the thresholds above."""
    ends: dict[str, Counter[str]] = defaultdict(Counter)
    authors: dict[tuple[str, str], set[str]] = defaultdict(set)
    totals: Counter[str] = Counter()
    for message in messages:
        name = list_of(message)
        totals[name] += 1
        who = (message.author.email or message.author.name or "").lower()
        for text in (message.original_text, message.signature):
            found = _tail(text)
            if found is not None:
                ends[name][found[1]] += 1
                authors[(name, found[1])].add(who)
    learned: dict[str, set[str]] = {}
    for name, counts in ends.items():
        keys = {
            key for key, count in counts.items()
            if count >= MIN_MESSAGES and count >= MIN_SHARE * totals[name]
            and len(authors[(name, key)]) >= MIN_AUTHORS
        }
        if keys:
            learned[name] = keys
    return learned


def strip(message: Message, footers: set[str]) -> Message:
    """The message with every learned footer its own words or signature end with moved out."""
    if not footers:
        return message
    original, signature, footer = message.original_text, message.signature, message.footer
    moved: list[str] = []
    for _ in range(MAX_STACKED):
        changed = False
        for which in ("signature", "original"):
            text = signature if which == "signature" else original
            found = _tail(text)
            if found is None or found[1] not in footers:
                continue
            moved.insert(0, text[found[0]:].strip())
            rest = text[:found[0]].rstrip()
            if which == "signature":
                signature = rest
            else:
                original = rest
            changed = True
        if not changed:
            break
    if not moved:
        return message
    footer = "\n\n".join([*moved, footer] if footer else moved)
    quotes = tuple(q if q.at <= len(original) else replace(q, at=len(original))
                   for q in message.quotes)
    return replace(message, original_text=original, signature=signature, footer=footer,
                   quotes=quotes)


def apply(pending: Mapping[str, Message], known: Mapping[str, set[str]]) -> dict[str, Message]:
    """Pending messages with the footers of their list, known or learned now, moved out."""
    out: dict[str, Message] = {}
    for mid, message in pending.items():
        stripped = strip(message, known.get(list_of(message), set()))
        if stripped is not message:
            out[mid] = stripped
    return out
