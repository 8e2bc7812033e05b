"""The query language: user text -> the neutral query tree of ``core/query.py``, or one QueryError.

Owns the syntax (words, ``"phrases"``, ``field:value``, ``(groups)``, AND/OR/NOT/ANDNOT/
ANDMAYBE, ``*`` wildcards, ``[a TO b]`` ranges, ``^boost``), the mapping of prefixes
(``from:``, ``quotes:``, ``all:``...) onto fields from ``core/fields.py``, dates, and every
check that makes a bad query one clear reason. Words are kept as typed: each backend
analyses them for the field they search. Expansion bounds that need the index's vocabulary
(wildcards) are the backend's.

The precedence is the one Whoosh's parser gave the first round, which users' saved queries
rely on: ANDNOT and ANDMAYBE bind tightest, then NOT, AND, OR, and juxtaposition (an
implicit AND) loosest, so ``a b OR c`` is ``a AND (b OR c)``. The parser is iterative: a
hostile query nested hundreds deep costs no recursion.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from core import query as q
from core.errors import QueryError
from core.fields import ALL_FIELDS, BY_NAME, DEFAULT_FIELDS, PREFIXES, QUOTED_DEFAULT_FIELDS
from core.refkeys import query_key

# Bare-word queries at least this long also rank the words' run as a phrase.
PHRASE_BOOST_WORDS = 4
# `field:` names the parser knows: every field, every prefix, and `all`.
_FIELD_NAMES: dict[str, str] = {**{n: n for n in BY_NAME}, **PREFIXES, "all": "all"}
# Fields whose values are read whole, not as words: dates and message ids.
# Reference fields (cites:, mentions:) read their value whole too: `cites:"Tunis Agenda 76"`
# is one index value, tunis-agenda/76, not three words.
_REFERENCE_FIELDS = frozenset(f.name for f in BY_NAME.values() if f.normalize == "reference")
_SPECIAL_FIELDS = frozenset({"date", "message_id", "thread_id"}) | _REFERENCE_FIELDS
_SPECIAL_VALUE = re.compile(r"\[[^\]]*\]|[<>]=?[^\s()]+|<[^>\s]*>|\"[^\"]*\"|[^\s()]+")
_OPERATORS = frozenset({"AND", "OR", "NOT", "ANDNOT", "ANDMAYBE"})
_TOKEN = re.compile(
    r"""(?P<space>\s+)
      | (?P<open>\()
      | (?P<close>\))
      | "(?P<phrase>[^"]*)"(?:~(?P<slop>[1-9][0-9]*))?(?:\^(?P<pboost>[0-9.]+))?
      | '(?P<single>[^']*)'
      | (?P<range>[\[{][^\]}]*[\]}])
      | (?P<field>[\w]+):(?=[^\s)])
      | (?P<word>[^\s()"]+)
    """,
    re.VERBOSE,
)
_BOOST = re.compile(r"^(?P<text>.+?)\^(?P<boost>[0-9]+(?:\.[0-9]+)?)$")
# Runs of letters and digits: a cheap bound on the terms before any parsing.
_WORD_RUN = re.compile(r"\w+")
_WORD = re.compile(r"[^\s()\"]+")
_DATE = re.compile(r"^(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?$")
_DATE_RANGE = re.compile(
    r"^\[\s*(?P<start>\S*?)\s*(?:\bto\b\s*(?P<end>\S*?))?\s*\]$", re.IGNORECASE
)
_TEXT_RANGE = re.compile(
    r"^(?P<open>[\[{])\s*(?P<start>.*?)\s*\bTO\b\s*(?P<end>.*?)\s*(?P<close>[\]}])$",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class ParsedQuery:
    text: str
    query: q.Node
    default_fields: tuple[str, ...]


# ---- dates --------------------------------------------------------------------------


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
    assert year is not None
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


def _date_query(value: str, position: int) -> q.Range:
    """Dates are naive UTC, as the index stores them."""
    if value.startswith("["):
        match = _DATE_RANGE.match(value)
        if not match or (match.group("end") is None and " " in value.strip("[] ")):
            raise QueryError(
                f"cannot read the date range {value!r} at position {position + 1} "
                "(write date:[2010-01 to 2010-06], date:[2010 to] or date:[to 2010])",
                position,
            )
        start_text, end_text = match.group("start"), match.group("end") or ""
        if start_text.lower() == "to":
            start_text = ""
        if not start_text and not end_text:
            raise QueryError(
                f"a date range needs at least one end at position {position + 1}", position
            )
        start = _period(start_text, position)[0] if start_text else None
        end = _period(end_text, position)[1] if end_text else None
        if start and end and start > end:
            raise QueryError(f"the date range {value!r} ends before it starts", position)
        return q.Range("date", start, end)
    for op in (">=", "<=", ">", "<"):
        if value.startswith(op):
            first, last = _period(value[len(op) :], position)
            if op == ">=":
                return q.Range("date", first, None)
            if op == ">":
                return q.Range("date", last + timedelta(microseconds=1), None)
            if op == "<=":
                return q.Range("date", None, last)
            return q.Range("date", None, first - timedelta(microseconds=1))
    first, last = _period(value, position)
    return q.Range("date", first, last)


def _special(field: str, value: str, position: int) -> q.Node:
    if field == "date":
        return _date_query(value, position)
    if field in _REFERENCE_FIELDS:
        return _reference(field, value, position)
    value = value.strip('"').strip()
    if value.startswith("<") and value.endswith(">"):
        value = value[1:-1]
    if not value:
        prefix = "thread" if field == "thread_id" else "id"
        raise QueryError(f"{prefix}: needs a message id at position {position + 1}", position)
    return q.Term(field, value)


def _reference(field: str, value: str, position: int) -> q.Node:
    prefix = not value.startswith('"') and value.endswith("*")
    key = query_key(value[:-1] if prefix else value)
    if not key:
        raise QueryError(f"{field}: needs a document or organisation at position "
                         f"{position + 1}", position)
    return q.Prefix(field, key) if prefix else q.Term(field, key)


# ---- checks -------------------------------------------------------------------------


def _check_balance(text: str) -> None:
    """Unmatched parentheses, quotes and brackets are refused, never guessed at."""
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


# ---- building leaves ----------------------------------------------------------------


def _spread(make: object, field: str | None, defaults: tuple[str, ...]) -> q.Node:
    """One leaf per field the context reaches: the default fields, `all:`'s, or one."""
    targets = defaults if field is None else ALL_FIELDS if field == "all" else (field,)
    built = [make(target) for target in targets]  # type: ignore[operator]
    return built[0] if len(built) == 1 else q.Or(tuple(built))


def _word(text: str, field: str | None, defaults: tuple[str, ...], boost: float) -> q.Node:
    if text == "*":
        # A lone `*` in a field every message fills is every message (Whoosh walked every
        # term's postings for it: seconds); `quoted:*` keeps its meaning.
        if field is None or field == "all" or field in DEFAULT_FIELDS:
            return q.Every(boost=boost)
        return q.Every(field, boost=boost)
    if "*" in text or "?" in text:
        if text[0] in "*?":
            # A leading wildcard reads the whole vocabulary of every field it reaches,
            # whatever the bound on what it matches; refused as the README says.
            raise QueryError(
                f"a word cannot begin with a wildcard: {text} "
                "(write at least one letter before * or ?)"
            )
        stem = text[:-1]
        if text.endswith("*") and "*" not in stem and "?" not in stem:
            return _spread(lambda f: q.Prefix(f, stem, boost), field, defaults)
        return _spread(lambda f: q.Wildcard(f, text, boost), field, defaults)
    return _spread(lambda f: q.Term(f, text, boost), field, defaults)


def _range(raw: str, field: str | None, defaults: tuple[str, ...]) -> q.Node:
    match = _TEXT_RANGE.match(raw)
    if not match:
        # Not range syntax after all: words, as a user typing [draft] means them.
        return _word(raw, field, defaults, 1.0)
    start = match["start"] or None
    end = match["end"] or None
    return _spread(
        lambda f: q.Range(f, start, end, match["open"] == "{", match["close"] == "}"),
        field,
        defaults,
    )


# ---- the parser ---------------------------------------------------------------------


def _tokens(text: str, defaults: tuple[str, ...]) -> list[tuple[str, object]]:
    """(kind, value) tokens: leaves built, `field:` prefixes resolved, special values read whole.

    A prefix before a group (`subject:(a b)`) reaches every word inside it that names no
    field of its own, nested groups included.
    """
    found: list[tuple[str, object]] = []
    groups: list[str | None] = []
    pos = 0
    prefix: str | None = None
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        assert match is not None  # the word alternative matches any other non-space run
        kind = match.lastgroup
        start = match.start()
        pos = match.end()
        if kind == "space":
            continue
        if kind == "field" and match["field"] in _FIELD_NAMES:
            prefix = _FIELD_NAMES[match["field"]]
            if prefix in _SPECIAL_FIELDS:
                value = _SPECIAL_VALUE.match(text, pos)
                assert value is not None  # the lookahead saw a value character
                found.append(("leaf", _special(prefix, value.group(0), pos)))
                pos = value.end()
                prefix = None
            continue
        field = prefix if prefix is not None else (groups[-1] if groups else None)
        prefix = None
        if kind == "field":
            # An unknown prefix ("Re:", "http:") is text, as people type it.
            run = _WORD.match(text, start)
            assert run is not None
            pos = run.end()
            kind, word = "word", run.group(0)
        else:
            word = match["word"] or ""
        if kind == "open":
            groups.append(field)
            found.append(("open", None))
        elif kind == "close":
            if groups:
                groups.pop()
            found.append(("close", None))
        elif kind == "phrase":
            slop = int(match["slop"]) if match["slop"] else 1
            boost = float(match["pboost"]) if match["pboost"] else 1.0
            phrase = match["phrase"]
            found.append(
                ("leaf", _spread(lambda f, p=phrase, s=slop, b=boost: q.Phrase(f, p, s, b),
                                 field, defaults))
            )
        elif kind == "single":
            found.append(
                ("leaf", _spread(lambda f, t=match["single"]: q.Term(f, t), field, defaults))
            )
        elif kind == "range":
            found.append(("leaf", _range(match["range"], field, defaults)))
        elif field is None and word in _OPERATORS:
            found.append(("op", word))
        else:
            boosted = _BOOST.match(word)
            boost = 1.0
            if boosted:
                word, boost = boosted["text"], float(boosted["boost"])
            found.append(("leaf", _word(word, field, defaults, boost)))
    return found


def _reduce(items: list[object]) -> q.Node | None:
    """A group's items (nodes and operator names) to one node, in Whoosh's precedence."""
    # ANDNOT / ANDMAYBE: infix, left to right, tightest.
    out: list[object] = []
    index = 0
    while index < len(items):
        item = items[index]
        if item in ("ANDNOT", "ANDMAYBE") and out and not isinstance(out[-1], str) and (
            index + 1 < len(items) and not isinstance(items[index + 1], str)
        ):
            left = out.pop()
            right = items[index + 1]
            out.append(
                q.And((left, q.Not(right))) if item == "ANDNOT" else q.AndMaybe(left, right)
            )
            index += 2
            continue
        out.append(item)
        index += 1
    # NOT: prefix, right to left so NOT NOT x is x.
    items, out = out, []
    for item in reversed(items):
        if item == "NOT" and out and not isinstance(out[-1], str):
            negated = out.pop()
            out.append(negated.child if isinstance(negated, q.Not) else q.Not(negated))
        else:
            out.append(item)
    out.reverse()
    # AND, then OR: infix, left to right.
    for operator, make in (("AND", q.And), ("OR", q.Or)):
        items, out = out, []
        index = 0
        while index < len(items):
            item = items[index]
            if item == operator and out and not isinstance(out[-1], str) and (
                index + 1 < len(items) and not isinstance(items[index + 1], str)
            ):
                left = out.pop()
                right = items[index + 1]
                # Flatten a run (a OR b OR c) into one node, as Whoosh does.
                kids = (*left.children,) if isinstance(left, make) and left.boost == 1.0 \
                    else (left,)
                out.append(make((*kids, right)))
                index += 2
                continue
            out.append(item)
            index += 1
    # Dangling operators mean nothing on their own; the rest is ANDed.
    nodes = [item for item in out if not isinstance(item, str)]
    if not nodes:
        return None
    return nodes[0] if len(nodes) == 1 else q.And(tuple(nodes))


def _parse_tokens(tokens: list[tuple[str, object]]) -> q.Node | None:
    """Groups with an explicit stack: no recursion, however deep the nesting."""
    stack: list[list[object]] = [[]]
    for kind, value in tokens:
        if kind == "open":
            stack.append([])
        elif kind == "close":
            node = _reduce(stack.pop())
            if node is not None:
                stack[-1].append(node)
        else:
            stack[-1].append(value)
    return _reduce(stack[0])


def _simplify(node: q.Node) -> q.Node:
    """Every() in an Or makes the Or every message; in an And it adds nothing.

    An And of only negations means every message less them (a query of NOT x alone).
    """
    if isinstance(node, q.Or):
        kids = tuple(_simplify(c) for c in node.children)
        if any(isinstance(c, q.Every) and c.field is None for c in kids):
            return q.Every(boost=node.boost)
        return q.Or(kids, node.boost)
    if isinstance(node, q.And):
        kids = tuple(_simplify(c) for c in node.children)
        kept = tuple(c for c in kids if not (isinstance(c, q.Every) and c.field is None))
        if not kept:
            return q.Every(boost=node.boost)
        if all(isinstance(c, q.Not) for c in kept):
            return q.And((q.Every(), *kept), node.boost)
        return kept[0] if len(kept) == 1 and node.boost == 1.0 else q.And(kept, node.boost)
    if isinstance(node, q.Not):
        return q.Not(_simplify(node.child))
    if isinstance(node, q.AndMaybe):
        return q.AndMaybe(_simplify(node.required), _simplify(node.optional))
    return node


def _bare_words(node: q.Node, defaults: tuple[str, ...]) -> list[str] | None:
    """The words, in order, of a query made only of bare words ANDed, else None."""
    children = node.children if isinstance(node, q.And) else (node,)
    words: list[str] = []
    for child in children:
        alternatives = child.children if isinstance(child, q.Or) else (child,)
        if not all(isinstance(a, q.Term) and a.boost == 1.0 for a in alternatives):
            return None
        if tuple(a.field for a in alternatives) != defaults:  # type: ignore[union-attr]
            return None
        if len({a.text for a in alternatives}) != 1:  # type: ignore[union-attr]
            return None
        words.append(alternatives[0].text)  # type: ignore[union-attr]
    return words


def _with_phrase_boost(node: q.Node, defaults: tuple[str, ...], typed: int) -> q.Node:
    """Rank messages holding the words as a run above those that merely hold them all.

    Someone pasting a remembered sentence types it without quotes; with AND alone,
    shorter messages that hold the same words scattered win on BM25's length norm.
    The phrase is optional (AndMaybe), so it reorders but never removes hits. Only for
    pasted runs: matching positions tripled the p50 of 1-3 word queries, and short
    queries rank well on BM25 alone.
    """
    words = _bare_words(node, defaults)
    if not words or len(words) < 2 or typed < PHRASE_BOOST_WORDS:
        return node
    fields = [f for f in defaults if f != "subject"]
    # slop 4: stop words are not indexed, so "committee and the High" is committe _ _ high.
    phrases = tuple(q.Phrase(f, " ".join(words), slop=4, boost=2.0) for f in fields)
    return q.AndMaybe(node, phrases[0] if len(phrases) == 1 else q.Or(phrases))


def count_terms(node: q.Node, defaults: tuple[str, ...]) -> int:
    """Terms as the user wrote them: a bare word spread over two or three fields counts once."""
    words: set[str] = set()
    others = 0
    for leaf in q.leaves(node):
        field = getattr(leaf, "field", None)
        if isinstance(leaf, q.Phrase):
            words.update(leaf.text.split())
        elif field in defaults and isinstance(leaf, (q.Term, q.Prefix, q.Wildcard)):
            text = leaf.pattern if isinstance(leaf, q.Wildcard) else leaf.text
            words.add(f"{type(leaf).__name__}:{text}")
        else:
            others += 1
    return len(words) + others


def parse(
    text: str,
    *,
    include_quoted: bool = False,
    max_length: int = 1000,
    max_terms: int = 64,
) -> ParsedQuery:
    """Parse the user's text; empty text means every message. Recent queries are remembered:
    paging and facet clicks repeat the same text."""
    return _parse(text, include_quoted, max_length, max_terms)


@functools.lru_cache(maxsize=1024)
def _parse(text: str, include_quoted: bool, max_length: int, max_terms: int) -> ParsedQuery:
    text = text.strip()
    if len(text) > max_length:
        raise QueryError(f"query too long: {len(text)} characters, at most {max_length}")
    defaults = QUOTED_DEFAULT_FIELDS if include_quoted else DEFAULT_FIELDS
    if not text:
        return ParsedQuery("", q.Every(), defaults)
    _check_balance(text)
    # Four runs a term leaves room for operators, prefixes and split addresses
    # ("from:jane@example.org" is four runs, one term); the exact bound decides the rest.
    if sum(1 for _ in _WORD_RUN.finditer(text)) > 4 * max_terms:
        raise QueryError(f"query has too many terms: at most {max_terms}")
    node = _parse_tokens(_tokens(text, defaults))
    if node is None:
        raise QueryError("the query has no words to search for")
    node = _simplify(node)
    if isinstance(node, q.Not):
        node = q.And((q.Every(), node))
    node = _with_phrase_boost(node, defaults, len(text.split()))
    if count_terms(node, defaults) > max_terms:
        raise QueryError(f"query has too many terms: at most {max_terms}")
    return ParsedQuery(text, node, defaults)
