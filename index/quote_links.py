"""Quote -> the message it quotes: the text is looked up in the messages the reply can quote.

Parsing sees one message and cannot know where its quotes come from; the writer, at each
flush, knows the batch and the index. A quote links to the first of these that holds its
text among the author's own words: the In-Reply-To parent, the References from nearest to
farthest, then the thread's earlier messages, nearest first. Only when no candidate wrote
the text (a quote of a quote whose writer is not indexed) does it link to the first
candidate that holds it anywhere. A quote the markup already linked (``cite="mid:..."``)
keeps its link; an unnamed quote takes the author of the message whose own words hold it
(never that of a message that only quoted it: a wrong author is worse than none).

Text is compared as lowercased words, so re-wrapping, ``>`` markers and punctuation
changed by a mail client do not hide a match; a long quote matches when one of three
12-word probes (start, middle, end) is found, which survives a reply that trimmed it.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace

from core.records import Message, Quote
from index.catalog import epoch, row_from_message
from index.plans import thread_node
from index.threads import thread_ids

_WORD = re.compile(r"\w+")
PROBE_WORDS = 12
# Earlier thread messages tried per message, nearest first: bounds a 2,000-message thread.
MAX_THREAD_CANDIDATES = 30


def words(text: str) -> str:
    return " ".join(_WORD.findall(text.casefold()))


@dataclass(frozen=True, slots=True)
class Source:
    """A message a quote may come from, as text prepared for lookups."""

    message_id: str
    author: str | None
    own: str
    whole: str

    @classmethod
    def of(cls, message_id: str, author: str | None, original: str, quoted: str,
           signature: str = "") -> Source:
        own = words(original)
        return cls(message_id, author, own, " | ".join((own, words(signature), words(quoted))))


def probes(text: str) -> tuple[str, ...]:
    """Word runs that stand for a quote: all of it when short, else start, middle and end."""
    ws = _WORD.findall(text.casefold())
    if len(ws) <= PROBE_WORDS:
        return (" ".join(ws),) if ws else ()
    middle = (len(ws) - PROBE_WORDS) // 2
    return tuple(
        " ".join(ws[k:k + PROBE_WORDS]) for k in (0, middle, len(ws) - PROBE_WORDS)
    )


def _holds(haystack: str, needles: tuple[str, ...]) -> bool:
    return any(n in haystack for n in needles)


def link(quotes: Iterable[Quote], sources: list[Source]) -> tuple[Quote, ...]:
    """The quotes with ``message_id`` (and a missing author) filled from the sources."""
    out: list[Quote] = []
    for quote in quotes:
        needles = probes(quote.text) if not quote.message_id else ()
        found = wrote = None
        if needles:
            wrote = next((s for s in sources if _holds(s.own, needles)), None)
            found = wrote or next((s for s in sources if _holds(s.whole, needles)), None)
        if found is not None:
            # Only the message whose own words hold the text names its author: one that
            # merely quoted it would put the quoter's name on someone else's words.
            quote = replace(quote, message_id=found.message_id,
                            author=quote.author or (wrote.author if wrote else None))
        out.append(quote)
    return tuple(out)


def unlinked(message: Message) -> bool:
    return any(q.message_id is None for q in message.quotes)


Fetch = Callable[[set[str]], Mapping[str, Source]]


def link_batch(
    pending: Mapping[str, Message],
    order: Mapping[str, list[str]],
    fetch: Fetch,
) -> dict[str, tuple[Quote, ...]]:
    """New quotes per pending message whose links changed.

    ``order[mid]`` lists the candidates of a pending message, best first (see the module
    docstring); ``fetch`` reads indexed messages that are not in the batch.
    """
    wanted = {c for mid in order for c in order[mid]}
    sources: dict[str, Source] = {}
    for mid in wanted & pending.keys():
        m = pending[mid]
        sources[mid] = Source.of(mid, m.author.name or m.author.email, m.original_text,
                                 m.quoted_text, m.signature)
    missing = wanted - sources.keys()
    if missing:
        sources.update(fetch(missing))
    changed: dict[str, tuple[Quote, ...]] = {}
    for mid, candidates in order.items():
        message = pending[mid]
        found = [sources[c] for c in candidates if c in sources]
        if not found:
            continue
        quotes = link(message.quotes, found)
        if quotes != message.quotes:
            changed[mid] = quotes
    return changed


def candidates(
    message: Message, thread_earlier: list[str]
) -> list[str]:
    """Parent, References nearest first, then earlier thread messages; each once, never itself."""
    seen: dict[str, None] = {}
    for mid in (message.in_reply_to, *reversed(message.references), *thread_earlier):
        if mid and mid != message.message_id:
            seen.setdefault(mid, None)
    return list(seen)


def relink(quotes: tuple[Quote, ...], sources: list[Source],
           linked_to: Mapping[str, Source]) -> tuple[Quote, ...]:
    """Quotes of an indexed message linked again now that more candidates are indexed.

    Open are the unlinked quotes and those linked only provisionally: to a message that
    holds the text in its quotes, not its own words (the writer was not indexed yet). A
    provisional link, and the author it brought, give way to a better source, so the
    result is what a fresh index would give whatever order the archive was read in.
    ``linked_to`` holds the sources of the current links.
    """
    out: list[Quote] = []
    for quote in quotes:
        current = linked_to.get(quote.message_id) if quote.message_id else None
        needles = probes(quote.text)
        provisional = current is not None and needles and not _holds(current.own, needles)
        if quote.message_id is None or provisional:
            author = quote.author
            if provisional and current is not None and author == current.author:
                author = None
            fresh = link((replace(quote, message_id=None, author=author),), sources)[0]
            if fresh.message_id is not None:
                quote = fresh
        out.append(quote)
    return tuple(out)


def link_together(messages: Iterable[Message]) -> dict[str, tuple[Quote, ...]]:
    """The quotes of messages indexed together, linked as one writer batch links them.

    What a user sees once a set is indexed, without an index: the same threads
    (index/threads.py over the same rows), the same candidates in the same order and the
    same :func:`link_batch`. Measurements and tools use it; the writer has the catalog.
    """
    pending = {m.message_id: m for m in messages}
    thread_of = thread_ids(thread_node(row_from_message(m)) for m in pending.values())
    by_thread: dict[str, list[tuple[float, str]]] = {}
    for mid, message in pending.items():
        when = epoch(message.date)
        if when is not None:
            by_thread.setdefault(thread_of[mid], []).append((when, mid))
    for members in by_thread.values():
        members.sort()
    order: dict[str, list[str]] = {}
    for mid, message in pending.items():
        if not unlinked(message):
            continue
        members = by_thread.get(thread_of[mid], [])
        when = epoch(message.date)
        end = bisect_left(members, (when, "")) if when is not None else 0
        earlier = [m for _, m in reversed(members[max(0, end - MAX_THREAD_CANDIDATES):end])]
        order[mid] = candidates(message, earlier)
    return link_batch(pending, order, lambda ids: {})
