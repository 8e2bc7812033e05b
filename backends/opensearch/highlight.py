"""Snippets from the texts as written, marked with ``analysis/``'s tokens.

The cluster indexes tokens analysed in Python (``mapping.py``), so its highlighter, which
re-analyses ``_source`` with the field's analyzer, would see whitespace runs, not words.
Marking here instead runs the tokenizer the index was built with over the stored text:
a token is marked when it is one of the query's exact words, fits one of its wildcards or
prefixes, or (a word of letters) has one of its stems in the message's language, as the
Whoosh backend marks them. Index mode, so a URL's host labels mark the whole URL.
"""

from __future__ import annotations

import fnmatch
import heapq
import re
from collections import deque

from analysis.stem import TAG_SEPARATOR, stemmable, stemmers
from analysis.text import rows
from core.backend import SnippetParts
from core.snippets import SNIPPET_CHARS, tidy

# Context kept around a fragment's matches (Whoosh's ContextFragmenter surround).
SURROUND = 70
FRAGMENTS = 2
# A match past this is not shown: re-analysing a whole huge message for each page would cost
# more than the search (the Whoosh backend's bound).
HIGHLIGHT_CHARS = 50_000
_SPACES = re.compile(r"\s+")
# Tokens never hold these (they come from runs of word characters and .@:/+-), so a
# searched word with one is a wildcard or prefix pattern.
_GLOB = re.compile(r"[*?]")


# The text a token takes when it matched by its stem only (one "term" for the scoring).
_STEM_MATCH = "\x00stem"


def _tokens(
    text: str, words: set[str], stems: set[str], lang: str | None
) -> list[tuple[str, int, int, bool]]:
    """(matched text, start, end, matched) of each token of the text, index mode with stop
    words kept, as the Whoosh backend's highlighter reads them."""
    exact = {w for w in words if not _GLOB.search(w)}
    patterns = [re.compile(fnmatch.translate(w)) for w in words if _GLOB.search(w)]
    heads = {s.partition(TAG_SEPARATOR)[2][:3] for s in stems}
    stem = stemmers().stem
    found: list[tuple[str, int, int, bool]] = []
    for token, _pos, start, end, _kind, _stopped in rows(text, keep_stops=True):
        if token[:3] in heads and stemmable(token, "word") and stem(token, lang) in stems:
            found.append((_STEM_MATCH, start, end, True))
        else:
            hit = token in exact or any(p.match(token) for p in patterns)
            found.append((token, start, end, hit))
    return found


def _fragments(
    tokens: list[tuple[str, int, int, bool]]
) -> list[tuple[int, int, list[tuple[str, int, int, bool]]]]:
    """(start, end, matched tokens) of each fragment, cut as Whoosh's ContextFragmenter
    (maxchars=SNIPPET_CHARS, surround=SURROUND) cuts them: written out because this backend
    must not import Whoosh, and the two backends' snippets should read alike."""
    found = []
    first: int | None = None
    firsts: deque[int] = deque()
    countdown = -1
    matched: list[tuple[str, int, int, bool]] = []
    endchar = 0
    length = 0
    for token in tokens:
        _text, startchar, endchar, hit = token
        size = endchar - startchar
        if countdown < 0 and not hit:
            firsts.append(startchar)
            while firsts and endchar - firsts[0] > SURROUND:
                firsts.popleft()
        elif length + size > SNIPPET_CHARS:
            countdown = 0
        elif hit:
            countdown = SURROUND
            if first is None:
                if firsts:
                    first = firsts[0]
                else:
                    first = startchar
                    countdown += SURROUND
            matched.append(token)
        if countdown >= 0:
            length += size
            countdown -= size
            if countdown <= 0:
                found.append((first or 0, endchar, matched))
                matched, firsts, first, length = [], deque(), None, 0
    if matched:
        found.append((first or 0, endchar, matched))
    return found


def _score(fragment: tuple[int, int, list[tuple[str, int, int, bool]]]) -> tuple[float, int]:
    # Whoosh's BasicFragmentScorer (matches x 100 x distinct terms), ties to the later one.
    matches = fragment[2]
    return len(matches) * ((len({m[0] for m in matches}) * 100) or 1), fragment[0]


def marked(
    text: str, words: set[str], stems: set[str], lang: str | None
) -> SnippetParts | None:
    """The FRAGMENTS best fragments, in text order, with the marked tokens; None if none."""
    text = text[:HIGHLIGHT_CHARS]
    fragments = _fragments(_tokens(text, words, stems, lang))
    # Whoosh's minscore=1: a fragment without a match (the fragmenter can emit one) is none.
    best = sorted(heapq.nlargest(FRAGMENTS, [f for f in fragments if f[2]], key=_score),
                  key=lambda f: f[0])
    if not best:
        return None
    parts: list[tuple[str, bool]] = []
    for number, (at, end, matches) in enumerate(best):
        if number:
            parts.append((" ", False))
        # Keep a short tail such as "?" or a closing bracket, as the Whoosh backend does.
        if len(text) - end <= 12:
            end = len(text)
        if at > 0:
            parts.append(("… ", False))
        for _text, start, stop, _hit in matches:
            if start < at:
                continue
            if start > at:
                parts.append((text[at:start], False))
            parts.append((text[start:stop], True))
            at = stop
        if at < end:
            parts.append((text[at:end], False))
        if end < len(text):
            parts.append((" …", False))
    tidied = tidy(parts)
    return tidied if any(hit for _, hit in tidied) else None


