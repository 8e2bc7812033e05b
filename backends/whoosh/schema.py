"""The Whoosh schema, translated from the neutral field table of ``core/fields.py``.

Also the text analyzer every text field uses (indexing, query terms, highlighting).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from whoosh import fields
from whoosh.analysis import (
    STOP_WORDS,
    CharsetFilter,
    CompositeAnalyzer,
    LowercaseFilter,
    RegexTokenizer,
    StemFilter,
    StopFilter,
    Token,
)
from whoosh.support.charset import accent_map

from backends.whoosh.codec import GovCodec
from core.fields import FIELDS, Field

# Stem cache bound: the vocabulary of a large archive is a few hundred thousand words;
# clearing a plain dict past this size costs less than an LFU's per-call bookkeeping.
_STEM_CACHE_MAX = 200_000


class TextAnalyzer(CompositeAnalyzer):
    """English stemming with accents folded, run as one loop instead of five generators.

    The chain is ``RegexTokenizer | LowercaseFilter | CharsetFilter(accent_map) |
    StopFilter | StemFilter``: "Délégué" matches "delegue" and "governments" matches
    "government". Accents are folded BEFORE stemming: folded after (StemmingAnalyzer() |
    CharsetFilter), "Délégué" indexed as "delegue" while a typed "delegue" stemmed to
    "delegu", and the two never met. Whoosh runs each stage as a generator per token
    (and its LFU stem cache books every call), which was half of ``add_document``'s
    CPU; the common calls (index, query, highlight) take the fused loop below, which
    yields exactly the tokens the chain yields, and any other call goes through the
    chain itself. ``items`` stays the chain, so Whoosh's introspection (``has_morph``,
    ``no_morph``) sees the same stages.
    """

    def __init__(self) -> None:
        super().__init__(
            RegexTokenizer(),
            LowercaseFilter(),
            CharsetFilter(accent_map),
            StopFilter(),
            StemFilter(cachesize=50000),
        )
        self._stems: dict[str, str] = {}

    def __getstate__(self) -> dict[str, Any]:
        # The schema is pickled into every index's TOC: never the cache.
        return {k: v for k, v in self.__dict__.items() if k != "_stems"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._stems = {}

    def __call__(  # type: ignore[override]
        self,
        value: str,
        positions: bool = False,
        chars: bool = False,
        keeporiginal: bool = False,
        removestops: bool = True,
        start_pos: int = 0,
        start_char: int = 0,
        tokenize: bool = True,
        mode: str = "",
        no_morph: bool = False,
        **kwargs: Any,
    ) -> Iterator[Token]:
        # Highlighting keeps stop words (marked stopped) without positions; kept stop
        # words with positions would need StopFilter's renumbering rules: the chain.
        if no_morph or keeporiginal or not tokenize or (positions and not removestops):
            return super().__call__(
                value, positions=positions, chars=chars, keeporiginal=keeporiginal,
                removestops=removestops, start_pos=start_pos, start_char=start_char,
                tokenize=tokenize, mode=mode, no_morph=no_morph, **kwargs,
            )
        return self._fused(value, positions, chars, removestops, start_pos, start_char, mode,
                           kwargs)

    def _fused(
        self,
        value: str,
        positions: bool,
        chars: bool,
        removestops: bool,
        start_pos: int,
        start_char: int,
        mode: str,
        kwargs: dict[str, Any],
    ) -> Iterator[Token]:
        tokenizer, _lower, fold, stop, stemmer = self.items
        assert isinstance(value, str), f"{value!r} is not unicode"
        charmap = fold.charmap
        stops, minsize, maxsize, renumber = stop.stops, stop.min, stop.max, stop.renumber
        ignore = stemmer.ignore
        stemfn = stemmer.stemfn
        cache = self._stems
        t = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        pos: int | None = None
        for index, match in enumerate(tokenizer.expression.finditer(value)):
            text = match.group(0).lower().translate(charmap)
            if len(text) < minsize or (maxsize is not None and len(text) > maxsize) or (
                text in stops
            ):
                if removestops:
                    continue
                # Kept for the highlighter, unstemmed, as StemFilter leaves stopped tokens.
                t.text, t.boost, t.stopped = text, 1.0, True
                if chars:
                    t.startchar = start_char + match.start()
                    t.endchar = start_char + match.end()
                yield t
                continue
            if text not in ignore:
                stemmed = cache.get(text)
                if stemmed is None:
                    if len(cache) >= _STEM_CACHE_MAX:
                        cache.clear()
                    stemmed = cache[text] = stemfn(text)
                text = stemmed
            t.text = text
            t.boost = 1.0
            t.stopped = False
            if positions:
                # StopFilter(renumber=True): the first kept token keeps its place,
                # each later one follows it with no gap where stop words were.
                if pos is None or not renumber:
                    pos = start_pos + index
                else:
                    pos += 1
                t.pos = pos
            if chars:
                t.startchar = start_char + match.start()
                t.endchar = start_char + match.end()
            yield t


TEXT_ANALYZER = TextAnalyzer()

__all__ = ["SCHEMA", "STOP_WORDS", "TEXT_ANALYZER", "TextAnalyzer", "build_schema", "index_codec"]


def whoosh_field(field: Field) -> fields.FieldType:
    """The Whoosh type of one field of the neutral table, as the first round declared them.

    The mapping must not drift: an existing index keeps the schema it was created with,
    and new segments must read the same terms from the same field types.
    """
    stored = field.stored
    if field.kind == "blob":
        return fields.STORED()
    if field.kind == "date":
        return fields.DATETIME(stored=stored, sortable=True)
    if field.kind == "text":
        return fields.TEXT(
            analyzer=TEXT_ANALYZER, stored=stored, phrase=field.phrases, field_boost=field.boost
        )
    if field.kind == "keyword":
        return fields.KEYWORD(
            stored=stored, commas=field.separator == ",", lowercase=field.lowercase,
            scorable=False,
        )
    return fields.ID(stored=stored, unique=field.unique)


def build_schema() -> fields.Schema:
    return fields.Schema(**{f.name: whoosh_field(f) for f in FIELDS})


SCHEMA = build_schema()


def index_codec() -> GovCodec:
    """The codec new segments are written with: whoosh3 with flat-array posting blocks."""
    return GovCodec()
