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
import re

from analysis.stem import stemmable, stemmers
from analysis.text import rows
from core.backend import SnippetParts

SNIPPET_CHARS = 240
# Context kept before a fragment's first match (Whoosh's ContextFragmenter surround).
SURROUND = 70
FRAGMENTS = 2
# A match past this is not shown: re-analysing a whole huge message for each page would cost
# more than the search (the Whoosh backend's bound).
HIGHLIGHT_CHARS = 50_000
_SPACES = re.compile(r"\s+")
# Tokens never hold these (they come from runs of word characters and .@:/+-), so a
# searched word with one is a wildcard or prefix pattern.
_GLOB = re.compile(r"[*?]")


def lead(text: str) -> SnippetParts:
    """The opening of a message, when nothing in it is marked."""
    flat = _SPACES.sub(" ", text[: SNIPPET_CHARS * 4]).strip()
    if len(flat) > SNIPPET_CHARS:
        cut = flat.rfind(" ", 0, SNIPPET_CHARS)
        flat = flat[: cut if cut > SNIPPET_CHARS // 2 else SNIPPET_CHARS] + " …"
    return ((flat, False),) if flat else ()


def _matches(text: str, words: set[str], stems: set[str], lang: str | None) -> list[tuple[int, int]]:
    exact = {w for w in words if not _GLOB.search(w)}
    patterns = [re.compile(fnmatch.translate(w)) for w in words if _GLOB.search(w)]
    heads = {s.partition(":")[2][:3] for s in stems}
    stem = stemmers().stem
    spans: list[tuple[int, int]] = []
    for token, _pos, start, end, kind, _stopped in rows(text):
        if (
            token in exact
            or any(p.match(token) for p in patterns)
            or (token[:3] in heads and stemmable(token, kind) and stem(token, lang) in stems)
        ) and not (spans and start < spans[-1][1]):
            spans.append((start, end))
    return spans


def marked(
    text: str, words: set[str], stems: set[str], lang: str | None
) -> SnippetParts | None:
    """Up to FRAGMENTS fragments of SNIPPET_CHARS around the marked tokens, or None."""
    text = text[:HIGHLIGHT_CHARS]
    spans = _matches(text, words, stems, lang)
    if not spans:
        return None
    fragments: list[list[tuple[int, int]]] = []
    for span in spans:
        if fragments and span[1] - max(0, fragments[-1][0][0] - SURROUND) <= SNIPPET_CHARS:
            fragments[-1].append(span)
        elif len(fragments) < FRAGMENTS:
            fragments.append([span])
    parts: list[tuple[str, bool]] = []
    for number, inside in enumerate(fragments):
        if number:
            parts.append((" … ", False))
        start = max(0, inside[0][0] - SURROUND)
        end = min(len(text), start + SNIPPET_CHARS, max(inside[-1][1], start + SNIPPET_CHARS))
        at = start
        for first, last in inside:
            if first > at:
                parts.append((_SPACES.sub(" ", text[at:first]), False))
            parts.append((_SPACES.sub(" ", text[first:last]), True))
            at = last
        if end > at:
            parts.append((_SPACES.sub(" ", text[at:end]), False))
    return tuple(p for p in parts if p[0])
