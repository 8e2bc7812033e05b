"""The Whoosh schema, translated from the neutral field table of ``core/fields.py``.

Also the analyzers: ``ExactAnalyzer`` (every text field: folded exact forms with positions)
and ``StemAnalyzer`` (each ``STEMMED`` sub-field: language-tagged stems, no positions), both
thin Whoosh wrappers around ``analysis/``. ``TextAnalyzer`` is the first analyzer (English
Porter stems), kept because indexes built with it pickle it and must still open and answer.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from whoosh import fields, formats
from whoosh.analysis import (
    STOP_WORDS,
    Analyzer,
    CharsetFilter,
    CompositeAnalyzer,
    LowercaseFilter,
    RegexTokenizer,
    StemFilter,
    StopFilter,
    Token,
)
from whoosh.support.charset import accent_map
from whoosh.system import pack_uint

from analysis import ANALYSIS_VERSION
from analysis import text as analysis_text
from analysis.stem import indexed_stems, stemmers
from backends.whoosh.codec import GovCodec
from core.fields import FIELDS, STEMMED, Field

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


class ExactAnalyzer(Analyzer):
    """``analysis.text.tokenize`` as Whoosh tokens: exact forms, URL parts, CJK bigrams.

    Indexing yields the extras (host labels, address parts) at their host's position; a
    query (``mode="query"``) only the main stream. ``version`` is pickled with the schema,
    so an index says which analysis built it.
    """

    def __init__(self) -> None:
        self.version = ANALYSIS_VERSION

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.__dict__ == self.__dict__

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
        **kwargs: Any,
    ) -> Iterator[Token]:
        t = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        if not tokenize:
            t.text, t.pos, t.startchar, t.endchar = analysis_text.fold(value), start_pos, \
                start_char, start_char + len(value)
            yield t
            return
        if mode == "index" and removestops:
            found = iter(analysis_text.indexed_rows(value))
        else:
            found = analysis_text.rows(value, query=mode == "query", keep_stops=not removestops)
        t.boost = 1.0
        for text, pos, start, end, _kind, stopped in found:
            t.text = text
            t.stopped = stopped
            if keeporiginal:
                t.original = value[start:end]
            if positions:
                t.pos = start_pos + pos
            if chars:
                t.startchar = start_char + start
                t.endchar = start_char + end
            yield t


# Whoosh takes a tuple value as words already analysed, so a stem sub-field's value is its
# text behind its language between two unit separators (control characters, which the
# parser strips from mail, so no text begins with one).
_TAG = "\x1f"


def language_tagged(lang: str | None, text: str) -> str:
    return f"{_TAG}{lang or ''}{_TAG}{text}"


def with_stems(document: Mapping[str, Any]) -> dict[str, Any]:
    """A document with its stem sub-fields, each text in the language of its message: what
    every writer of an index of the current analysis adds (without them a word finds only
    its exact form, and a test index would never exercise the stems)."""
    found = dict(document)
    lang = document.get("lang")
    for name, sub in STEMMED.items():
        value = document.get(name)
        if value:
            found[sub] = language_tagged(lang, value)
    return found


class StemAnalyzer(Analyzer):
    """Language-tagged stems of a ``language_tagged`` value (untagged: the fallback stemmer)."""

    def __init__(self) -> None:
        self.version = ANALYSIS_VERSION

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.__dict__ == self.__dict__

    def __call__(  # type: ignore[override]
        self, value: Any, positions: bool = False, chars: bool = False, mode: str = "",
        removestops: bool = True, **kwargs: Any,
    ) -> Iterator[Token]:
        lang, text = None, value
        if value.startswith(_TAG):
            lang, _, text = value[1:].partition(_TAG)
        t = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        t.boost = 1.0
        t.stopped = False
        for stem in indexed_stems(text or "", lang):
            t.text = stem
            yield t


EXACT_ANALYZER = ExactAnalyzer()
STEM_ANALYZER = StemAnalyzer()


# Positions.encode([p]) by p: the same bytes for every field (the format has no options).
# Bounded by position, so at most a few MB however long the texts.
_ONE_POSITION: dict[int, bytes] = {}
_ONE_POSITION_MAX = 100_000


class AnalysedText(fields.TEXT):
    """``fields.TEXT`` whose indexing reads ``analysis/``'s rows straight into postings.

    Whoosh indexes a text as analyzer -> one Token per token -> ``unstopped`` -> the
    format's per-token dictionaries; for these analyzers that chain was a third of the
    indexing CPU. ``index`` here yields the very same (term bytes, frequency, weight,
    value bytes), in the same order, from the rows: positions listed per exact form, and
    a stem sub-field's stems counted per distinct word (``Stemmers.frequencies``) from
    the rows its exact field just made. Any other call (a list value, other options, a
    format or analyzer these do not know) is Whoosh's own.
    """

    def index(self, value: Any, **kwargs: Any) -> Iterator[tuple[bytes, int, float, bytes]]:
        if kwargs or not isinstance(value, str):
            return super().index(value, **kwargs)
        kind = type(self.format)
        if type(self.analyzer) is ExactAnalyzer and kind in (formats.Positions,
                                                             formats.Frequency):
            return self._exact(value, kind is formats.Positions)
        if type(self.analyzer) is StemAnalyzer and kind is formats.Frequency:
            return self._stems(value)
        return super().index(value, **kwargs)

    def _exact(self, value: str, positions: bool) -> Iterator[tuple[bytes, int, float, bytes]]:
        poses: dict[str, list[int]] = {}
        get = poses.get
        for text, pos, _start, _end, _kind, _stopped in analysis_text.indexed_rows(value):
            found = get(text)
            if found is None:
                poses[text] = [pos]
            else:
                found.append(pos)
        boost = self.format.field_boost
        # Frequency has no encode: its value is the packed frequency.
        encode = self.format.encode if positions else None
        once = _ONE_POSITION
        # Every token's boost is 1.0, so Whoosh's summed weight is the frequency.
        for text, found in poses.items():
            freq = len(found)
            if not positions:
                value = pack_uint(freq)
            elif freq == 1:
                # Most terms occur once in a field: Positions.encode([p]), remembered.
                value = once.get(found[0])
                if value is None:
                    value = encode(found)
                    if found[0] < _ONE_POSITION_MAX:
                        once[found[0]] = value
            else:
                value = encode(found)  # type: ignore[misc]
            yield (text.encode("utf-8"), freq, float(freq) * boost, value)

    def _stems(self, value: str) -> Iterator[tuple[bytes, int, float, bytes]]:
        lang, text = None, value
        if value.startswith(_TAG):
            lang, _, text = value[1:].partition(_TAG)
        boost = self.format.field_boost
        counts = stemmers().frequencies(analysis_text.indexed_rows(text or ""), lang)
        for stem, freq in counts.items():
            yield (stem.encode("utf-8"), freq, float(freq) * boost, pack_uint(freq))

__all__ = ["EXACT_ANALYZER", "SCHEMA", "STEM_ANALYZER", "STOP_WORDS", "TEXT_ANALYZER",
           "AnalysedText", "ExactAnalyzer", "StemAnalyzer", "TextAnalyzer", "analysis_version", "build_schema",
           "index_codec", "language_tagged", "with_stems"]


def whoosh_field(field: Field, legacy: bool = False) -> fields.FieldType:
    """The Whoosh type of one field of the neutral table.

    The mapping must not drift within one analysis version: an existing index keeps the
    schema it was created with, and new segments must read the same terms from the same
    field types. ``legacy`` is the first round's (Porter stems in the text field itself),
    for tests and the relevance benchmark's "before".
    """
    stored = field.stored
    if field.kind == "blob":
        return fields.STORED()
    if field.kind == "date":
        return fields.DATETIME(stored=stored, sortable=True)
    if field.kind == "text":
        return (fields.TEXT if legacy else AnalysedText)(
            analyzer=TEXT_ANALYZER if legacy else EXACT_ANALYZER, stored=stored,
            phrase=field.phrases, field_boost=field.boost,
        )
    if field.kind == "keyword":
        return fields.KEYWORD(
            stored=stored, commas=field.separator == ",", lowercase=field.lowercase,
            scorable=False,
        )
    return fields.ID(stored=stored, unique=field.unique)


def stem_field(field: Field) -> fields.FieldType:
    # Stems need no positions: phrases are exact. ~+10% index size, not the +40% of positions.
    return AnalysedText(analyzer=STEM_ANALYZER, stored=False, phrase=False,
                       field_boost=field.boost)


def build_schema(legacy: bool = False) -> fields.Schema:
    found = {f.name: whoosh_field(f, legacy) for f in FIELDS}
    if not legacy:
        found.update({STEMMED[f.name]: stem_field(f) for f in FIELDS if f.name in STEMMED})
    return fields.Schema(**found)


def analysis_version(schema: fields.Schema) -> int:
    """Which analysis built an index: 1 for the first analyzer (Porter stems, no sub-fields)."""
    if "original" not in schema:
        return ANALYSIS_VERSION
    return int(getattr(schema["original"].analyzer, "version", 1))


SCHEMA = build_schema()


def index_codec() -> GovCodec:
    """The codec new segments are written with: whoosh3 with flat-array posting blocks."""
    return GovCodec()
