"""A message body as the reader sees it: own words with each quote back where it stood.

The split (``index/quotes.py``) stores the author's words and the quoted blocks apart,
each quote with ``at``: the character offset in the own words where the block stood
(-1 or absent when unknown). Here they are put back together: own words cut at each
``at``, the quote between the two pieces, a quote one level deeper inside the quote it
follows. Quotes without a known place keep the old layout, after the own words.

Text is then reflowed (the sender's 72-column hard wraps joined into paragraphs, code
and tables left as they are), URLs become links, and the references the indexer found
(``Mark``: offsets into the text as stored) become links to their search. Everything is
escaped here, before it is marked safe: this is the one place mail text turns into markup.

Offsets are taken through obfuscation and reflowing, both of which change lengths, by
private-use characters put around each reference before either runs and read back (and
removed) when the paragraph is escaped. A text that holds such characters itself is shown
without marks rather than misread.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from linkify_it import LinkifyIt
from markupsafe import Markup, escape

from search.views import GREETING

# A line that is not prose: indented, a list item, a table row, a rule, a header block.
_KEEP_LINE = re.compile(
    r"^(?:\s{2,}|\t|[-*+•]\s|\d{1,3}[.)]\s|[|+]|.*\s{3,}\S|[-=_*~#]{3,}\s*$|>|[A-Z][\w-]*: )"
)
# Lines this short end a paragraph on purpose ("Hi all," or a sign-off), not by wrapping.
_WRAP_MIN = 45
FIRST_WORDS = 12

# A reference's start is one private-use character naming the mark (its number), its end
# _CLOSE; _SENTINELS finds both (and any the mail itself holds).
_CLOSE = "\ue000"
_OPEN_BASE = 0xE001
_MAX_MARKS = 0xF8FF - _OPEN_BASE
_SENTINELS = re.compile("[\ue000-\uf8ff]")


@dataclass(frozen=True, slots=True)
class Mark:
    """``text[start:end]`` is a reference, drawn as a link to ``href`` labelled ``label``."""

    start: int
    end: int
    href: str
    label: str


def _with_sentinels(text: str, marks: Sequence[Mark]) -> tuple[str, list[Mark]]:
    """The text with each kept mark between its two characters, and the kept marks."""
    if not marks or _SENTINELS.search(text):
        return text, []
    kept: list[Mark] = []
    for mark in sorted(marks, key=lambda m: (m.start, -m.end)):
        # Overlapping marks cannot nest as links: the first (longest) one wins.
        if 0 <= mark.start < mark.end <= len(text) and (not kept or mark.start >= kept[-1].end):
            kept.append(mark)
    kept = kept[:_MAX_MARKS]
    out, last = [], 0
    for number, mark in enumerate(kept):
        out += [text[last:mark.start], chr(_OPEN_BASE + number), text[mark.start:mark.end],
                _CLOSE]
        last = mark.end
    out.append(text[last:])
    return "".join(out), kept


def _read_sentinels(text: str) -> tuple[str, list[tuple[int, int, int]]]:
    """The text without the characters, and (mark number, start, end) in it of every mark
    whose both ends are in this text (a reference cut by a paragraph break is not drawn)."""
    found: list[tuple[int, int, int]] = []
    opened: tuple[int, int] | None = None
    removed = 0
    for match in _SENTINELS.finditer(text):
        at = match.start() - removed
        removed += 1
        char = match.group()
        if char == _CLOSE:
            if opened is not None:
                found.append((opened[0], opened[1], at))
            opened = None
        else:
            opened = (ord(char) - _OPEN_BASE, at)
    return _SENTINELS.sub("", text), found


@cache
def _linkifier() -> LinkifyIt:
    # Only links written with their scheme: "fuzzy" matching would turn the
    # "lists.example" left after address obfuscation back into a link, and it misfires
    # on "e.g." and file names in political prose.
    return LinkifyIt(options={"fuzzy_link": False, "fuzzy_email": False, "fuzzy_ip": False})


def linkify(text: str, marks: Sequence[Mark] = ()) -> Markup:
    """Escaped text with http(s) URLs as links that pass no rank and no opener, and the
    marks (``_with_sentinels``'s characters in ``text``) as links to their search; a
    reference inside a URL stays part of the URL's link."""
    placed: list[tuple[int, int, Markup]] = []
    if marks:
        text, found = _read_sentinels(text)
    if "://" in text:
        for match in _linkifier().match(text) or []:
            if match.url.lower().startswith(("http://", "https://")):
                placed.append((match.index, match.last_index, Markup(
                    '<a href="{}" rel="nofollow noopener noreferrer">{}</a>').format(
                    match.url, text[match.index:match.last_index])))
    if marks:
        links = list(placed)
        for number, start, end in found:
            if number < len(marks) and not any(s < end and start < e for s, e, _ in links):
                mark = marks[number]
                placed.append((start, end, Markup(
                    '<a class="ref" href="{}" title="{}">{}</a>').format(
                    mark.href, mark.label, text[start:end])))
        placed.sort(key=lambda p: p[0])
    if not placed:
        return escape(text)
    out: list[str] = []
    last = 0
    for start, end, markup in placed:
        out.append(escape(text[last:start]))
        out.append(markup)
        last = end
    out.append(escape(text[last:]))
    return Markup("").join(out)


def _plain(lines: Sequence[str]) -> list[str]:
    return [_SENTINELS.sub("", line) for line in lines]


def _wrapped(lines: Sequence[str]) -> bool:
    """True when a paragraph's line breaks look like a mailer's hard wrap of prose."""
    if len(lines) < 2 or any(_KEEP_LINE.match(line) for line in lines):
        return False
    # Every line but the last is long: short ones are deliberate breaks (a poem, an address).
    return all(len(line.rstrip()) >= _WRAP_MIN for line in lines[:-1])


def reflow(text: str, transform: Callable[[str], str] = str,
           marks: Sequence[Mark] = ()) -> Markup:
    """Paragraphs as <p>, hard-wrapped prose joined, other paragraphs kept line for line;
    ``marks`` (offsets into ``text``) drawn as links.

    ``transform`` (address obfuscation) runs once over the whole text, and the markup is
    joined as plain strings of escaped parts: a long thread page reflows a thousand
    paragraphs, and Markup.format per paragraph was a third of its time.
    """
    text, kept = _with_sentinels(text, marks)
    parts: list[str] = []
    for para in re.split(r"\n[ \t]*\n", transform(text.strip("\n"))):
        if not para.strip():
            continue
        lines = para.split("\n")
        if _wrapped(_plain(lines) if kept else lines):
            joined = " ".join(line.strip() for line in lines)
            parts.append(f'<p class="para">{linkify(joined, kept)}</p>')
        else:
            parts.append(f'<p class="para pre">{linkify(para, kept)}</p>')
    return Markup("\n".join(parts))


def first_words(text: str, count: int = FIRST_WORDS) -> str:
    words = text.split()
    return " ".join(words[:count]) + (" …" if len(words) > count else "")


@dataclass
class QuoteNode:
    quote: Mapping[str, Any]
    children: list[QuoteNode] = field(default_factory=list)

    @property
    def depth(self) -> int:
        return int(self.quote.get("depth") or 1)

    @property
    def text(self) -> str:
        return str(self.quote.get("text") or "")

    @property
    def author(self) -> str | None:
        return self.quote.get("author")

    @property
    def marks(self) -> Sequence[Mark]:
        return self.quote.get("marks") or ()

    @property
    def linked(self) -> str | None:
        qid = self.quote.get("message_id")
        return qid if qid and self.quote.get("known") else None

    @property
    def summary(self) -> str:
        # "Hi all," says nothing about the passage: the one-liner starts after greetings.
        lines = self.text.splitlines()
        while len(lines) > 1 and (not lines[0].strip() or GREETING.match(lines[0].strip())):
            lines.pop(0)
        return first_words("\n".join(lines))


@dataclass
class Segment:
    """Either own words (``text``) or a quote (``quote``) in reading order."""

    text: str = ""
    quote: QuoteNode | None = None
    # The references of ``text``, offsets into it.
    marks: tuple[Mark, ...] = ()


def nest(quotes: Iterable[Mapping[str, Any]]) -> list[QuoteNode]:
    """Top-level quotes with deeper ones inside the one they follow (depth 2 after its 1)."""
    roots: list[QuoteNode] = []
    open_: list[QuoteNode] = []
    for quote in quotes:
        node = QuoteNode(quote)
        while open_ and open_[-1].depth >= node.depth:
            open_.pop()
        if open_:
            open_[-1].children.append(node)
        else:
            roots.append(node)
        open_.append(node)
    return roots


def _at(node: QuoteNode, length: int) -> int | None:
    at = node.quote.get("at")
    if isinstance(at, int) and not isinstance(at, bool) and 0 <= at <= length:
        return at
    return None


def _within(marks: Sequence[Mark], start: int, end: int) -> tuple[Mark, ...]:
    """The marks inside ``[start, end)`` of a text, as offsets into that piece of it."""
    return tuple(Mark(m.start - start, m.end - start, m.href, m.label)
                 for m in marks if start <= m.start and m.end <= end)


def segments(original: str, quotes: Iterable[Mapping[str, Any]],
             marks: Sequence[Mark] = ()) -> list[Segment]:
    """Own words cut at each placed quote; quotes with no place come after, as before.
    ``marks``: the references of ``original``, handed to the pieces they fall in."""
    roots = nest(quotes)
    placed = [(at, i, node) for i, node in enumerate(roots)
              if (at := _at(node, len(original))) is not None]
    unplaced = [node for node in roots if _at(node, len(original)) is None]
    out: list[Segment] = []
    last = 0
    for at, _, node in sorted(placed, key=lambda p: (p[0], p[1])):
        if original[last:at].strip():
            out.append(Segment(text=original[last:at], marks=_within(marks, last, at)))
        out.append(Segment(quote=node))
        last = max(last, at)
    if original[last:].strip() or not out:
        out.append(Segment(text=original[last:], marks=_within(marks, last, len(original))))
    out.extend(Segment(quote=node) for node in unplaced)
    return out
