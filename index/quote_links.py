"""Quote -> the message it quotes: the text is looked up in the messages the reply can quote.

Parsing sees one message and cannot know where its quotes come from; the writer, at each
flush, knows the batch and the index. A quote links to the first of these that holds its
text among the author's own words: the In-Reply-To parent, the References from nearest to
farthest, then the thread's earlier messages, nearest first. Only when no candidate wrote
the text (a quote of a quote whose writer is not indexed) does it link to the first
candidate that holds it anywhere. A quote the markup already linked (``cite="mid:..."``)
keeps its link; an unnamed quote takes the author of the message whose own words hold it,
never that of a message that only quoted it: a wrong author is worse than none. A message
that only quoted the text still knows whose words they were when its own quote block has
an author (its attribution line, or the link found for it): a reply to a reply then takes
that author, and links to that block's message when it is indexed. Such authors travel
down a chain as blocks gain them, so the writer links again until no source changes
(:func:`link_batch`), whatever the order the chain was read in.

Text is compared as lowercased words, so re-wrapping, ``>`` markers and punctuation
changed by a mail client do not hide a match; a long quote matches when one of three
12-word probes (start, middle, end) is found, which survives a reply that trimmed it.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from functools import lru_cache

from core.records import Message, Quote
from index.catalog import epoch, row_from_message
from index.plans import thread_node
from index.threads import thread_ids

_WORD = re.compile(r"\w+")
PROBE_WORDS = 12
# Earlier thread messages tried per message, nearest first: bounds a 2,000-message thread.
MAX_THREAD_CANDIDATES = 30
# Linking passes of one flush: an author found for a quote block reaches one more level of
# a reply chain a pass; deeper chains than this are rarer than the cost of more passes.
MAX_PASSES = 8
# Fewer words than this are never attributed by another message's quote block: in the real
# archives such runs were mostly pieces of wrapped attribution lines and addresses
# ("murdoch.duncan at gmail.com>", "wrote:") and landed under the wrong name.
QUOTER_MIN_WORDS = 8


def words(text: str) -> str:
    return " ".join(_WORD.findall(text.casefold()))


@dataclass(frozen=True, slots=True)
class Source:
    """A message a quote may come from, as text prepared for lookups."""

    message_id: str
    author: str | None
    own: str
    whole: str
    # Its quote blocks that name an author: (words, author, the indexed message they link
    # to or None). What it quoted is known to be that author's, not this message's.
    blocks: tuple[tuple[str, str, str | None], ...] = ()

    @classmethod
    def of(cls, message_id: str, author: str | None, original: str, quoted: str,
           signature: str = "", quotes: Iterable[Quote] = ()) -> Source:
        own = words(original)
        return cls(message_id, author, own, " | ".join((own, words(signature), words(quoted))),
                   _blocks(quotes))

    def with_quotes(self, quotes: Iterable[Quote]) -> Source:
        return replace(self, blocks=_blocks(quotes))

    def targets(self) -> set[str]:
        return {t for _, _, t in self.blocks if t}

    def within(self, wrote: Mapping[str, str | None]) -> Source:
        """The source with its blocks' links kept only to the indexed messages of their authors.

        A quote found in a block goes where the block's author wrote it. A block linked to
        another quoter (its writer is not indexed), or by markup (``cite="mid:..."``) to a
        message nobody indexed, sends the quote to this message instead.
        """
        def kept(author: str, target: str | None) -> str | None:
            # Casefolded: the catalog keeps addresses lowercased.
            found = wrote.get(target) if target else None
            return target if found and found.casefold() == author.casefold() else None

        if all(kept(a, t) == t for _, a, t in self.blocks):
            return self
        return replace(self, blocks=tuple((w, a, kept(a, t)) for w, a, t in self.blocks))

    def quoter_of(self, needles: tuple[str, ...]) -> tuple[str, str | None] | None:
        """(author, linked message) of this message's quote blocks that hold the text.

        None when none does or when they disagree: two blocks of one message holding the
        same words under two names say nothing reliable about either.
        """
        found = {(a, t) for text, a, t in self.blocks if _holds(text, needles)}
        authors = {a for a, _ in found}
        if len(authors) != 1:
            return None
        author = authors.pop()
        targets = {t for _, t in found if t}
        return author, targets.pop() if len(targets) == 1 else None


def _blocks(quotes: Iterable[Quote]) -> tuple[tuple[str, str, str | None], ...]:
    return tuple((_block_words(q.text), q.author, q.message_id) for q in quotes if q.author)


# A flush reads the same quote texts again at every pass (as probes of a reply, as blocks of a
# source that changed): remembered, the passes cost a fraction of the first.
_block_words = lru_cache(maxsize=1 << 14)(words)


@lru_cache(maxsize=1 << 14)
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
        out.append(_found(quote, needles, sources) if needles else quote)
    return tuple(out)


def _found(quote: Quote, needles: tuple[str, ...], sources: list[Source]) -> Quote:
    """The quote linked to the best source that holds it, or as it was."""
    wrote = next((s for s in sources if _holds(s.own, needles)), None)
    if wrote is not None:
        return replace(quote, message_id=wrote.message_id, author=quote.author or wrote.author)
    long_enough = len(needles[0].split()) >= QUOTER_MIN_WORDS
    for source in sources if long_enough else ():
        quoter = source.quoter_of(needles)
        # An attribution line of the reply itself outranks what another message says.
        if quoter is not None and quote.author in (None, quoter[0]):
            return replace(quote, message_id=quoter[1] or source.message_id, author=quoter[0])
    # Only the message whose own words hold the text, or a quote block of it that names
    # an author, names the author: the quoter's name would go on someone else's words.
    found = next((s for s in sources if _holds(s.whole, needles)), None)
    return quote if found is None else replace(quote, message_id=found.message_id)


def unlinked(message: Message) -> bool:
    return any(q.message_id is None for q in message.quotes)


Fetch = Callable[[set[str]], Mapping[str, Source]]
Load = Callable[[set[str]], Mapping[str, tuple[Quote, ...]]]
# The author (name, else address) of each of some Message-IDs that is indexed.
Authors = Callable[[set[str]], Mapping[str, str | None]]


def message_source(message: Message, quotes: Iterable[Quote] | None = None) -> Source:
    return Source.of(message.message_id, message.author.name or message.author.email,
                     message.original_text, message.quoted_text, message.signature,
                     message.quotes if quotes is None else quotes)


def link_batch(
    pending: Mapping[str, Message],
    order: Mapping[str, list[str]],
    fetch: Fetch,
    stored: Load | None = None,
    authors: Authors | None = None,
) -> dict[str, tuple[Quote, ...]]:
    """New quotes per message whose links changed, pending or indexed.

    ``order[mid]`` lists the candidates of a message, best first (see the module
    docstring): of each pending message to link, and of indexed messages that may be
    linked again, whose quotes ``stored`` reads. ``fetch`` reads indexed messages that are
    not in the batch; ``authors`` gives the authors of indexed messages.

    A pass links the pending messages, and links again the indexed ones with a pending
    candidate (the quoted message may be read after the reply: another file, a later
    batch). Every message whose quotes changed is a new source for those that have it as
    a candidate, so they are linked again in the next pass, until nothing changes: an
    author found for a quote block reaches the reply to the reply whatever the order and
    the batches the chain was read in, as one fresh index would give it.
    """
    try:
        return _link_passes(pending, order, fetch, stored, authors)
    finally:
        # What the passes remembered (quote texts and their probes) is this flush's own:
        # a long-running `govmail watch` keeps none of it until the next flush.
        probes.cache_clear()
        _block_words.cache_clear()


def _link_passes(
    pending: Mapping[str, Message],
    order: Mapping[str, list[str]],
    fetch: Fetch,
    stored: Load | None = None,
    authors: Authors | None = None,
) -> dict[str, tuple[Quote, ...]]:
    quotes: dict[str, tuple[Quote, ...]] = {
        mid: m.quotes for mid, m in pending.items() if mid in order}
    first = dict(quotes)
    sources: dict[str, Source] = {}
    wrote: dict[str, str | None] = {
        mid: m.author.name or m.author.email for mid, m in pending.items()}
    fetched: set[str] = set()
    checked: set[str] = set()
    needed_by: dict[str, set[str]] = {}
    for mid, cands in order.items():
        for c in cands:
            needed_by.setdefault(c, set()).add(mid)

    def load_sources(ids: set[str]) -> None:
        for mid in ids - sources.keys():
            if mid in pending:
                sources[mid] = message_source(pending[mid], quotes.get(mid))
        missing = ids - sources.keys() - fetched
        fetched.update(missing)
        if missing:
            for mid, source in fetch(missing).items():
                # An indexed message this flush linked again is read with its new quotes.
                sources[mid] = source.with_quotes(quotes[mid]) if mid in quotes else source
                wrote[mid] = source.author

    def resolve(ids: set[str]) -> None:
        unknown = {t for mid in ids if mid in sources for t in sources[mid].targets()}
        unknown -= wrote.keys() | checked
        if unknown and authors is not None:
            checked.update(unknown)
            wrote.update(authors(unknown))
        for mid in ids & sources.keys():
            sources[mid] = sources[mid].within(wrote)

    dirty = set(quotes) | {mid for mid, cands in order.items()
                           if mid not in pending and any(c in pending for c in cands)}
    linked_once = False
    for _ in range(MAX_PASSES):
        if not dirty:
            break
        fresh = dirty - quotes.keys()
        if fresh and stored is not None:
            quotes.update(stored(fresh))
            first.update((mid, quotes[mid]) for mid in fresh if mid in quotes)
        dirty &= quotes.keys()
        linked = {q.message_id for mid in dirty for q in quotes[mid] if q.message_id}
        wanted = {c for mid in dirty for c in order[mid]}
        load_sources(wanted | linked)
        resolve(wanted | linked)
        changed: dict[str, tuple[Quote, ...]] = {}
        for mid in dirty:
            found = [sources[c] for c in order[mid] if c in sources]
            if not found:
                continue
            # A pending message is linked afresh from its parsed quotes every pass, so its
            # attribution lines are told from authors a link gave; an indexed one keeps
            # its stored links but for the open ones (relink).
            if mid in pending and not linked_once:
                new = link(pending[mid].quotes, found)
            elif mid in pending:
                new = _again(pending[mid].quotes, quotes[mid], found, sources)
            else:
                new = relink(quotes[mid], found, sources)
            if new != quotes[mid]:
                changed[mid] = new
        # Every pass reads the sources as the last one left them: the result does not
        # depend on the order messages are visited in.
        quotes.update(changed)
        for mid, new in changed.items():
            if mid in sources:
                sources[mid] = sources[mid].with_quotes(new)
        resolve(changed.keys())
        dirty = {d for mid in changed for d in needed_by.get(mid, ())}
        linked_once = True
    return {mid: q for mid, q in quotes.items() if q != first.get(mid)}


def _again(parsed: tuple[Quote, ...], current: tuple[Quote, ...], found: list[Source],
           sources: Mapping[str, Source]) -> tuple[Quote, ...]:
    """What :func:`link` gives the parsed quotes now, where only quote blocks have changed.

    Own words do not change between passes, so a quote linked to a candidate that wrote
    it, or too short to be named through a quote block, is as the last pass left it; the
    others are linked afresh (this is the cost of a pass).
    """
    ranked = {s.message_id for s in found}
    out: list[Quote] = []
    for quote, now in zip(parsed, current, strict=True):
        needles = probes(quote.text) if not quote.message_id else ()
        if needles and len(needles[0].split()) >= QUOTER_MIN_WORDS:
            target = sources.get(now.message_id) if now.message_id in ranked else None
            if target is None or not _holds(target.own, needles):
                now = _found(quote, needles, found)
        out.append(now)
    return tuple(out)


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
    provisional link, and the author it brought, give way to a better source, and a link
    to a writer gives way to a writer ranked before it, so the result is what a fresh
    index would give whatever order the archive was read in; but a name once given is
    kept, since the record cannot tell an attribution line's name from a link's.
    ``linked_to`` holds the sources of the current links.
    """
    out: list[Quote] = []
    for quote in quotes:
        current = linked_to.get(quote.message_id) if quote.message_id else None
        needles = probes(quote.text)
        provisional = current is not None and needles and not _holds(current.own, needles)
        if quote.message_id is None or provisional:
            author = quote.author
            quoter = current.quoter_of(needles) if provisional and current else None
            if quoter is not None and author == quoter[0]:
                # The author came with the provisional link: it is found again, or better.
                # Any other (an attribution line's) is the reply's own and stays.
                author = None
            fresh = link((replace(quote, message_id=None, author=author),), sources)[0]
            if fresh.message_id is not None:
                # Whether a name came from an attribution line or a link is not stored:
                # a better source moves the link, but one name never gives way to
                # another, nor to none (precision first).
                quote = replace(fresh, author=quote.author or fresh.author)
        elif current is not None and needles:
            # A writer ranked before the one linked came later: a fresh index links it.
            better = next((s for s in sources if s.message_id == current.message_id
                           or _holds(s.own, needles)), None)
            if better is not None and better.message_id != current.message_id:
                quote = replace(quote, message_id=better.message_id,
                                author=quote.author or better.author)
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
