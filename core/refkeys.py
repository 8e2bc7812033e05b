"""How references are spelled as index values: ``tunis-agenda``, ``tunis-agenda/76``, ``itu``.

Both sides need it: the extractor (``index/references.py``) makes ids and part keys with it,
and the query language (``search/query.py``) turns what a user types after ``cites:`` or
``mentions:`` into the same value, so ``cites:"Tunis Agenda 76"`` finds ``tunis-agenda/76``.
"""

from __future__ import annotations

import re
import unicodedata

# Between a document and its part in an index value.
PART_SEPARATOR = "/"

_NOT_SLUG = re.compile(r"[^a-z0-9]+")
_PART_JUNK = re.compile(r"[\s()]+")
# "Tunis Agenda 76", "Tunis Agenda para 73(b)": a name of at least two words, then a part.
_TRAILING_PART = re.compile(
    r"^(?P<doc>\S+\s+\D*?)[\s,]+(?:para(?:graph)?s?\.?|sections?|sec\.|§|art(?:icle)?s?\.?)?\s*"
    r"(?P<part>\d{1,4}(?:\.\d{1,3})*\s?(?:\(?[a-z]\)?)?)$"
)
# UN document symbols: their slashes are the symbol's, not a part separator.
_UN_SYMBOL = re.compile(r"^a/(?:hrc/)?res/\d+/\d+$")


def fold(text: str) -> str:
    """Lowercase without accents: "Túnez" and "tunez" are one spelling."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def slug(text: str) -> str:
    """An id from a name: lowercase ASCII letters and digits joined by '-'."""
    return _NOT_SLUG.sub("-", fold(text)).strip("-")


def part_key(text: str) -> str:
    """A paragraph or section as indexed: "73 (b)" and "73b" are "73b"."""
    return _PART_JUNK.sub("", text.lower()).rstrip(".")


def cite_value(document: str, part: str | None) -> str:
    return f"{document}{PART_SEPARATOR}{part}" if part else document


def query_key(text: str) -> str:
    """What a user typed after ``cites:`` -> the index value it means."""
    value = fold(text).strip().strip('"').strip()
    if _UN_SYMBOL.match(value):
        return slug(value)
    if PART_SEPARATOR in value:
        document, _, part = value.partition(PART_SEPARATOR)
        return cite_value(slug(document), part_key(part))
    trailing = _TRAILING_PART.match(value)
    if trailing:
        return cite_value(slug(trailing["doc"]), part_key(trailing["part"]))
    return slug(value)
