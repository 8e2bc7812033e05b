"""The query language: user text -> a Whoosh query, or one QueryError saying what is wrong.

Owns the mapping of our prefixes (``from:``, ``quotes:``, ``all:``...) onto schema fields,
the bare-word default fields, and every check Whoosh does not do itself: it drops an
unbalanced parenthesis, turns ``date:zzz`` into a query that matches nothing and raises a
bare ``Exception`` for ``date:[zzz to 2010]`` (STYLE.md §10). Expansion bounds that need
the index's vocabulary (wildcards) are checked by :func:`check_expansion`.

Does not own filters from facets: those are exact terms added by the engine, never text.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from whoosh import query as wq
from whoosh.fields import Schema
from whoosh.qparser import AndGroup, FieldAliasPlugin, MultifieldPlugin, QueryParser

from core.errors import QueryError
from search.schema import DEFAULT_FIELDS, FIELDS, SCHEMA

# `all:` reaches every text a message holds in its body and subject.
ALL_FIELDS: tuple[str, ...] = ("original", "quoted", "subject")
QUOTED_DEFAULT_FIELDS: tuple[str, ...] = (*DEFAULT_FIELDS, "quoted")
# Bare-word queries at least this long also rank the words' run as a phrase.
PHRASE_BOOST_WORDS = 4

# Prefix -> schema field, from the one table in search/schema.py; `all` is ours.
PREFIXES: dict[str, str] = {p: f.name for f in FIELDS for p in f.prefixes}
# Field -> the prefix a reason names it by; bare words (the default fields) need none.
_TYPED_PREFIX: dict[str, str] = {
    f: p for p, f in reversed(PREFIXES.items()) if f not in DEFAULT_FIELDS
}


@dataclass(frozen=True, slots=True)
class ParsedQuery:
    text: str
    query: wq.Query
    # (field, text) of every plain term, for highlighting and suggestions.
    terms: tuple[tuple[str, str], ...]
    default_fields: tuple[str, ...]


def _parser_schema() -> Schema:
    schema = SCHEMA.copy()
    # A stand-in so the parser analyses `all:` words like body text; expanded below.
    schema.add("all", SCHEMA["original"])
    return schema


_PARSER_SCHEMA = _parser_schema()


@functools.cache
def _make_parser(default_fields: tuple[str, ...]) -> QueryParser:
    # Cached: a parser holds no per-query state, and building one costs ~0.3 ms.
    parser = QueryParser(None, _PARSER_SCHEMA, group=AndGroup)
    parser.add_plugin(MultifieldPlugin(default_fields))
    aliases: dict[str, list[str]] = {}
    for prefix, field in PREFIXES.items():
        if prefix != field:
            aliases.setdefault(field, []).append(prefix)
    parser.add_plugin(FieldAliasPlugin(aliases))
    return parser


def _check_balance(text: str) -> None:
    """Whoosh silently drops unmatched parentheses and quotes; we refuse them."""
    opened: list[int] = []
    quote_at: int | None = None
    bracket_at: int | None = None
    for pos, char in enumerate(text):
        if quote_at is not None:
            if char == '"':
                quote_at = None
            continue
        if char == '"':
            quote_at = pos
        elif char == "(":
            opened.append(pos)
        elif char == ")":
            if not opened:
                raise QueryError(f"unmatched ')' at position {pos + 1}", pos)
            opened.pop()
        elif char == "[":
            bracket_at = pos
        elif char == "]":
            bracket_at = None
    if quote_at is not None:
        raise QueryError(f"unclosed quote at position {quote_at + 1}", quote_at)
    if opened:
        raise QueryError(f"unclosed '(' at position {opened[-1] + 1}", opened[-1])
    if bracket_at is not None:
        raise QueryError(f"unclosed '[' at position {bracket_at + 1}", bracket_at)


def _expand_all(q: wq.Query) -> wq.Query:
    if getattr(q, "fieldname", None) == "all":
        copies = []
        for field in ALL_FIELDS:
            copy = q.copy()
            copy.fieldname = field
            copies.append(copy)
        return wq.Or(copies)
    if q.is_leaf():
        return q
    return q.apply(_expand_all)


# Fields whose values Whoosh's parser would mangle: dates (its English date parser
# reads "2010-02" as the whole of 2010) and message ids ("<" is range syntax to it).
_SPECIAL = re.compile(
    r"(?:(?<=^)|(?<=[\s(+-]))"
    r"(?P<field>date|id|message_id|thread|thread_id):"
    r"(?P<value>\[[^\]]*\]|[<>]=?[^\s()]+|<[^>\s]*>|\"[^\"]*\"|[^\s()]+)"
)
_PLACEHOLDER = "gmspecial{}x"
# Runs of letters and digits, as Whoosh's parser will see them (operators included).
_WORD_RUN = re.compile(r"\w+")
# Text fields that every message fills: "*" or "subject:*" there means every message.
_EVERY_FIELDS = frozenset({*DEFAULT_FIELDS, "all"})
_DATE = re.compile(r"^(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?$")
_RANGE = re.compile(r"^\[\s*(?P<start>\S*?)\s*(?:\bto\b\s*(?P<end>\S*?))?\s*\]$", re.IGNORECASE)


def _period(value: str, position: int) -> tuple[datetime, datetime]:
    """The first and last instant of a year, month or day written YYYY[-MM[-DD]]."""
    match = _DATE.match(value)
    if not match:
        raise QueryError(
            f"cannot read the date {value!r} at position {position + 1} "
            "(use YYYY, YYYY-MM or YYYY-MM-DD)",
            position,
        )
    year, month, day = (int(g) if g else None for g in match.groups())
    try:
        if month is None:
            return datetime(year, 1, 1), datetime(year + 1, 1, 1) - timedelta(microseconds=1)
        first = datetime(year, month, day or 1)
        if day is not None:
            return first, first + timedelta(days=1, microseconds=-1)
        following = datetime(year + month // 12, month % 12 + 1, 1)
        return first, following - timedelta(microseconds=1)
    except ValueError as exc:
        raise QueryError(f"no such date {value!r} at position {position + 1}", position) from exc


def _date_query(value: str, position: int) -> wq.Query:
    if value.startswith("["):
        match = _RANGE.match(value)
        if not match or (match.group("end") is None and " " in value.strip("[] ")):
            raise QueryError(
                f"cannot read the date range {value!r} at position {position + 1} "
                "(write date:[2010-01 to 2010-06], date:[2010 to] or date:[to 2010])",
                position,
            )
        start_text, end_text = match.group("start"), match.group("end") or ""
        if start_text.lower() == "to":
            start_text, end_text = "", end_text
        if not start_text and not end_text:
            raise QueryError(f"a date range needs at least one end at position {position + 1}",
                             position)
        start = _period(start_text, position)[0] if start_text else None
        end = _period(end_text, position)[1] if end_text else None
        if start and end and start > end:
            raise QueryError(f"the date range {value!r} ends before it starts", position)
        return wq.DateRange("date", start, end)
    for op in (">=", "<=", ">", "<"):
        if value.startswith(op):
            first, last = _period(value[len(op):], position)
            if op == ">=":
                return wq.DateRange("date", first, None)
            if op == ">":
                return wq.DateRange("date", last + timedelta(microseconds=1), None)
            if op == "<=":
                return wq.DateRange("date", None, last)
            return wq.DateRange("date", None, first - timedelta(microseconds=1))
    first, last = _period(value, position)
    return wq.DateRange("date", first, last)


def _special_query(field: str, value: str, position: int) -> wq.Query:
    if field == "date":
        return _date_query(value, position)
    value = value.strip('"').strip()
    if value.startswith("<") and value.endswith(">"):
        value = value[1:-1]
    if not value:
        raise QueryError(f"{field}: needs a message id at position {position + 1}", position)
    return wq.Term("thread_id" if field.startswith("thread") else "message_id", value)


def _substitute(q: wq.Query, specials: dict[str, wq.Query]) -> wq.Query:
    if isinstance(q, wq.Term) and q.fieldname == "message_id" and q.text in specials:
        return specials[q.text]
    if q.is_leaf():
        return q
    return q.apply(lambda child: _substitute(child, specials))


def _every_message(q: wq.Query) -> wq.Query:
    """A lone ``*`` (or ``subject:*``, ``all:*``) is every message, as the empty query.

    Whoosh makes it a fielded Every, which walks the postings of every term of the
    field (2-4 s on a 6,000-word index, 8-16 s at 20,000 messages) to find what
    Every() gives at once. ``quoted:*`` (messages that quote) keeps its meaning;
    :func:`check_expansion` bounds its cost.
    """
    if isinstance(q, wq.Every) and q.fieldname in _EVERY_FIELDS:
        return wq.Every(boost=q.boost)
    if q.is_leaf():
        return q
    q = q.apply(_every_message)
    if isinstance(q, wq.Or) and any(_is_every(c) for c in q.children()):
        return wq.Every(boost=q.boost)
    if isinstance(q, wq.And):
        # Whoosh's normalize turns And([Every(), x]) into Every(), losing x: drop it here.
        kept = [c for c in q.children() if not _is_every(c)]
        if len(kept) < len(q.subqueries):
            return wq.And(kept, boost=q.boost) if kept else wq.Every(boost=q.boost)
    return q


def _is_every(q: wq.Query) -> bool:
    return isinstance(q, wq.Every) and q.fieldname is None


def _bare_words(q: wq.Query, default_fields: tuple[str, ...]) -> list[str] | None:
    """The analysed words, in order, of a query made only of bare words ANDed, else None.

    A bare word is an Or over the default fields of a Term, or of an And of Terms
    when the analyser split it ("confidence-building" -> confid AND build).
    """
    children = list(q.children()) if isinstance(q, wq.And) else [q]
    words: list[str] = []
    for child in children:
        if not isinstance(child, wq.Or):
            return None
        spellings = set()
        for alternative in child.children():
            parts = list(alternative.children()) if isinstance(alternative, wq.And) else [
                alternative]
            if not all(isinstance(t, wq.Term) and t.fieldname in default_fields for t in parts):
                return None
            if len({t.fieldname for t in parts}) != 1:
                return None
            spellings.add(tuple(t.text for t in parts))
        if len(spellings) != 1:
            return None
        words.extend(spellings.pop())
    return words


def _with_phrase_boost(q: wq.Query, default_fields: tuple[str, ...], typed: int) -> wq.Query:
    """Rank messages holding the words as a run above those that merely hold them all.

    Someone pasting a remembered sentence types it without quotes; with AND alone,
    shorter messages that hold the same words scattered win on BM25's length norm.
    The phrase is optional (AndMaybe), so it reorders but never removes hits.
    """
    words = _bare_words(q, default_fields)
    # Only for pasted runs: matching positions tripled the p50 of 1-3 word queries
    # (55 ms vs 18 ms at 20,000 messages), and short queries rank well on BM25 alone.
    # Counted as typed: "and the IAB will assess it. Let us" is 8 words to its author
    # but 3 once stop words go.
    if not words or len(words) < 2 or typed < PHRASE_BOOST_WORDS:
        return q
    fields = [f for f in default_fields if f != "subject"]
    # slop 4: stop words are gone from the index, so "committee and the High" is
    # committe _ _ high, three positions apart.
    phrases = [wq.Phrase(f, words, slop=4, boost=2.0) for f in fields]
    return wq.AndMaybe(q, phrases[0] if len(phrases) == 1 else wq.Or(phrases))


def _only_negative(q: wq.Query) -> bool:
    if isinstance(q, wq.Not):
        return True
    return isinstance(q, wq.And) and all(isinstance(c, wq.Not) for c in q.children())


def parse(
    text: str,
    *,
    include_quoted: bool = False,
    max_length: int = 1000,
    max_terms: int = 64,
) -> ParsedQuery:
    """Parse the user's text (see :func:`_parse`), remembering recent queries.

    Whoosh's parser takes 2-7 ms a query on this machine, as long as a whole search
    of 20,000 messages; paging and facet clicks repeat the same text.
    """
    return _parse(text, include_quoted, max_length, max_terms)


@functools.lru_cache(maxsize=1024)
def _parse(text: str, include_quoted: bool, max_length: int, max_terms: int) -> ParsedQuery:
    """Parse the user's text. Empty text means every message.

    Bare words search the original text and the subject (and quoted text with
    ``include_quoted``); words are ANDed unless OR is written. An unknown prefix
    such as ``Re:`` or ``http:`` is read as words, as Whoosh does.
    """
    text = text.strip()
    if len(text) > max_length:
        raise QueryError(f"query too long: {len(text)} characters, at most {max_length}")
    default_fields = QUOTED_DEFAULT_FIELDS if include_quoted else DEFAULT_FIELDS
    if not text:
        return ParsedQuery("", wq.Every(), (), default_fields)
    _check_balance(text)
    # Whoosh's parse is quadratic in the words (800 words 1.7 s, 3,000 about 50 s) and
    # the exact count below needs its result: a cheap count of the raw word runs first.
    # Four runs a term leaves room for operators, prefixes and split addresses
    # ("from:jane@example.org" is four runs, one term); the exact bound decides the rest.
    runs = sum(1 for _ in _WORD_RUN.finditer(text))
    if runs > 4 * max_terms:
        raise QueryError(f"query has too many terms: at most {max_terms}")
    specials: dict[str, wq.Query] = {}

    def take(match: re.Match[str]) -> str:
        key = _PLACEHOLDER.format(len(specials))
        specials[key] = _special_query(match["field"], match["value"], match.start("value"))
        return f"message_id:{key}"

    rewritten = _SPECIAL.sub(take, text)
    try:
        q = _make_parser(default_fields).parse(rewritten)
    except Exception as exc:  # Whoosh raises bare exceptions from deep inside
        message = str(exc).strip() or type(exc).__name__
        raise QueryError(f"cannot parse the query: {message}") from exc
    if isinstance(q, type(wq.NullQuery)):
        raise QueryError("the query has no words to search for (only stop words?)")
    q = _every_message(_substitute(_expand_all(q), specials)).normalize()
    q = _with_phrase_boost(q, default_fields, len(text.split()))
    if _only_negative(q):
        # And([Every(), Not(x)]).normalize() drops the Not in Whoosh 2.7; AndNot keeps it.
        negated = [q] if isinstance(q, wq.Not) else list(q.children())
        excluded = [n.query for n in negated]
        q = wq.AndNot(wq.Every(), excluded[0] if len(excluded) == 1 else wq.Or(excluded))
    terms: list[tuple[str, str]] = []
    # A bare word spreads to two or three fields; the bound is on what the user wrote.
    words: set[str] = set()
    others = 0
    for leaf in q.leaves() if not q.is_leaf() else [q]:
        field = getattr(leaf, "fieldname", None)
        if isinstance(leaf, wq.Term) and isinstance(leaf.text, str):
            terms.append((leaf.fieldname, leaf.text))
            if field in default_fields:
                words.add(leaf.text)
            else:
                others += 1
        elif isinstance(leaf, wq.Phrase):
            terms.extend((leaf.fieldname, word) for word in leaf.words)
            words.update(leaf.words)
        elif field in default_fields and isinstance(getattr(leaf, "text", None), str):
            words.add(f"{type(leaf).__name__}:{leaf.text}")
        else:
            others += 1
    if len(words) + others > max_terms:
        raise QueryError(f"query has too many terms: at most {max_terms}")
    return ParsedQuery(text, q, tuple(terms), default_fields)


def check_expansion(parsed: ParsedQuery, reader: object, max_terms: int) -> None:
    """Refuse wildcards, prefixes, fuzzy terms, ranges and ``field:*`` that expand to too
    many index terms."""
    q = parsed.query
    leaves = [q] if q.is_leaf() else list(q.leaves())
    total = 0
    for leaf in leaves:
        if isinstance(leaf, wq.Every) and leaf.fieldname:
            # "quoted:*", "from:*": Whoosh walks the postings of every term of the
            # field (1.8 s for quoted:* on 400 messages of 6,000 words), so a field
            # with more words than the bound is refused like "a*".
            terms = reader.lexicon(leaf.fieldname)  # type: ignore[attr-defined]
        elif isinstance(leaf, wq.MultiTerm):
            terms = leaf._btexts(reader)
        else:
            continue
        expanded = 0
        for _ in terms:
            expanded += 1
            if total + expanded > max_terms:
                raise QueryError(
                    f"{_as_typed(leaf)} matches too many words (more than {max_terms}); "
                    "make it longer"
                )
        total += expanded


def _as_typed(leaf: wq.Query) -> str:
    if isinstance(leaf, wq.Every):
        return f"{_TYPED_PREFIX.get(leaf.fieldname, leaf.fieldname)}:*"
    if isinstance(leaf, wq.TermRange):
        # A range has no .text; name it as it was written: subject:[a TO z].
        written = str(leaf).split(":", 1)[1]
        return f"{_TYPED_PREFIX[leaf.fieldname]}:{written}" if leaf.fieldname in _TYPED_PREFIX \
            else written
    text = getattr(leaf, "text", "")
    if isinstance(leaf, wq.Prefix):
        return f"{text}*"
    if isinstance(leaf, wq.FuzzyTerm):
        return f"{text}~"
    return str(text)


def expanded_terms(parsed: ParsedQuery, reader: object) -> dict[str, set[str]]:
    """field -> every word of the query in that field, wildcards expanded against the index."""
    found: dict[str, set[str]] = {}
    q = parsed.query
    leaves = [q] if q.is_leaf() else list(q.leaves())
    for leaf in leaves:
        field = getattr(leaf, "fieldname", None)
        if field is None:
            continue
        if isinstance(leaf, wq.MultiTerm):
            words = {b.decode("utf-8") if isinstance(b, bytes) else b for b in leaf._btexts(reader)}
        elif isinstance(leaf, wq.Phrase):
            words = set(leaf.words)
        elif isinstance(leaf, wq.Term) and isinstance(leaf.text, str):
            words = {leaf.text}
        else:
            continue
        found.setdefault(field, set()).update(words)
    return found


def utc_naive(value: datetime) -> datetime:
    """Dates are stored as naive UTC, as index.document writes them."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value
