"""The Whoosh schema, declared as one table that also drives the query language's help.

This module is a leaf: the indexer imports it to build documents, the query layer
to parse queries, and nothing here imports the rest of govmail.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from whoosh import fields
from whoosh.analysis import (
    CharsetFilter,
    CompositeAnalyzer,
    LowercaseFilter,
    RegexTokenizer,
    StemFilter,
    StopFilter,
    Token,
)
from whoosh.support.charset import accent_map

from search.codec import GovCodec

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


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    kind: fields.FieldType
    help: str
    # Query-language prefixes that reach this field (besides its own name).
    prefixes: tuple[str, ...] = ()
    facet: bool = False


FIELDS: tuple[Field, ...] = (
    Field("message_id", fields.ID(stored=True, unique=True), "Message-ID", ("id",)),
    Field("thread_id", fields.ID(stored=True), "Message-ID of the thread's root", ("thread",)),
    Field(
        "list",
        fields.KEYWORD(stored=True, commas=True, lowercase=True, scorable=False),
        "list names (several when cross-posted)",
        ("list",),
        facet=True,
    ),
    Field("author", fields.ID(stored=True), "canonical author name (exact)", facet=True),
    Field("email", fields.ID(stored=True), "author address, lowercase"),
    Field(
        "author_text",
        fields.TEXT(analyzer=TEXT_ANALYZER, phrase=True),
        "author names and addresses, for from:/author:",
        ("from", "author"),
    ),
    Field("group", fields.ID(stored=True), "stakeholder group of the author", ("group",), facet=True),
    Field("affiliation", fields.ID(stored=True), "affiliation of the author"),
    Field("date", fields.DATETIME(stored=True, sortable=True), "date in UTC", ("date",)),
    Field("year", fields.ID(stored=True), "year, e.g. 2010", facet=True),
    Field("month", fields.ID(stored=True), "month, e.g. 2010-02", facet=True),
    Field(
        "subject",
        fields.TEXT(analyzer=TEXT_ANALYZER, stored=True, field_boost=2.0),
        "subject",
        ("subject",),
    ),
    Field("subject_normalized", fields.ID(stored=True), "subject without Re:/Fwd:/[list]"),
    Field(
        "original",
        fields.TEXT(analyzer=TEXT_ANALYZER, stored=True),
        "the author's own words (default field)",
    ),
    Field(
        "quoted",
        fields.TEXT(analyzer=TEXT_ANALYZER, stored=True),
        "quoted text, every depth",
        ("quoted",),
    ),
    Field(
        "quoted_author",
        fields.KEYWORD(stored=True, commas=True, scorable=False),
        "authors quoted by the message",
        ("quotes",),
        facet=True,
    ),
    Field("signature", fields.TEXT(analyzer=TEXT_ANALYZER, stored=True), "signature"),
    Field("footer", fields.STORED(), "list footer"),
    Field("in_reply_to", fields.ID(stored=True), "In-Reply-To"),
    Field("references", fields.KEYWORD(stored=True, scorable=False), "References, space-separated"),
    # Structured data the views need, stored as JSON text, never searched.
    Field("quotes_json", fields.STORED(), "quote blocks as JSON"),
    Field("charset_json", fields.STORED(), "charset report as JSON"),
    Field("attachments_json", fields.STORED(), "attachments as JSON"),
    Field("source_json", fields.STORED(), "source location as JSON"),
    Field("meta_json", fields.STORED(), "author source, date source, notes as JSON"),
    Field("headers", fields.STORED(), "decoded header block"),
)

# Facet name -> schema field.
FACET_FIELDS: dict[str, str] = {
    "author": "author",
    "list": "list",
    "year": "year",
    "month": "month",
    "quoted_author": "quoted_author",
    "group": "group",
}

DEFAULT_FIELDS: tuple[str, ...] = ("original", "subject")


def build_schema() -> fields.Schema:
    return fields.Schema(**{f.name: f.kind for f in FIELDS})


SCHEMA = build_schema()


def index_codec() -> GovCodec:
    """The codec new segments are written with: whoosh3 with flat-array posting blocks."""
    return GovCodec()
