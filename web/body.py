"""A message body as the reader sees it: own words with each quote back where it stood.

The split (``index/quotes.py``) stores the author's words and the quoted blocks apart,
each quote with ``at``: the character offset in the own words where the block stood
(-1 or absent when unknown). Here they are put back together: own words cut at each
``at``, the quote between the two pieces, a quote one level deeper inside the quote it
follows. Quotes without a known place keep the old layout, after the own words.

Text is then reflowed (the sender's 72-column hard wraps joined into paragraphs, code
and tables left as they are) and URLs become links. Everything is escaped here, before
it is marked safe: this is the one place mail text turns into markup.
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


@cache
def _linkifier() -> LinkifyIt:
    # Only links written with their scheme: "fuzzy" matching would turn the
    # "lists.example" left after address obfuscation back into a link, and it misfires
    # on "e.g." and file names in political prose.
    return LinkifyIt(options={"fuzzy_link": False, "fuzzy_email": False, "fuzzy_ip": False})


def linkify(text: str) -> Markup:
    """Escaped text with http(s) URLs as links that pass no rank and no opener."""
    if "://" not in text:
        return escape(text)
    found = _linkifier().match(text) or []
    out: list[str] = []
    last = 0
    for match in found:
        if not match.url.lower().startswith(("http://", "https://")):
            continue
        out.append(escape(text[last:match.index]))
        out.append(Markup('<a href="{}" rel="nofollow noopener noreferrer">{}</a>').format(
            match.url, text[match.index:match.last_index]))
        last = match.last_index
    out.append(escape(text[last:]))
    return Markup("").join(out)


def _wrapped(lines: Sequence[str]) -> bool:
    """True when a paragraph's line breaks look like a mailer's hard wrap of prose."""
    if len(lines) < 2 or any(_KEEP_LINE.match(line) for line in lines):
        return False
    # Every line but the last is long: short ones are deliberate breaks (a poem, an address).
    return all(len(line.rstrip()) >= _WRAP_MIN for line in lines[:-1])


def reflow(text: str, transform: Callable[[str], str] = str) -> Markup:
    """Paragraphs as <p>, hard-wrapped prose joined, other paragraphs kept line for line.

    ``transform`` (address obfuscation) runs once over the whole text, and the markup is
    joined as plain strings of escaped parts: a long thread page reflows a thousand
    paragraphs, and Markup.format per paragraph was a third of its time.
    """
    parts: list[str] = []
    for para in re.split(r"\n[ \t]*\n", transform(text.strip("\n"))):
        if not para.strip():
            continue
        lines = para.split("\n")
        if _wrapped(lines):
            joined = " ".join(line.strip() for line in lines)
            parts.append(f'<p class="para">{linkify(joined)}</p>')
        else:
            parts.append(f'<p class="para pre">{linkify(para)}</p>')
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


def segments(original: str, quotes: Iterable[Mapping[str, Any]]) -> list[Segment]:
    """Own words cut at each placed quote; quotes with no place come after, as before."""
    roots = nest(quotes)
    placed = [(at, i, node) for i, node in enumerate(roots)
              if (at := _at(node, len(original))) is not None]
    unplaced = [node for node in roots if _at(node, len(original)) is None]
    out: list[Segment] = []
    last = 0
    for at, _, node in sorted(placed, key=lambda p: (p[0], p[1])):
        if original[last:at].strip():
            out.append(Segment(text=original[last:at]))
        out.append(Segment(quote=node))
        last = max(last, at)
    if original[last:].strip() or not out:
        out.append(Segment(text=original[last:]))
    out.extend(Segment(quote=node) for node in unplaced)
    return out
