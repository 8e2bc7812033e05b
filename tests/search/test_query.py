"""The query language: what each piece of syntax becomes, and every bad query's one-line reason."""

from __future__ import annotations

import pytest

from backends.whoosh.schema import build_schema
from backends.whoosh.translate import to_whoosh
from core.errors import QueryError
from search.query import parse

# The syntax is checked through the first analyzer's translation, whose strings are short
# (one term a word); tests/analysis checks what the current analysis makes of words.
LEGACY = build_schema(legacy=True)


def whoosh(text: str, **options: object) -> object:
    """What the Whoosh backend runs for the text: the neutral tree, translated and analysed."""
    return to_whoosh(parse(text, **options).query, LEGACY)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "query"),
    [
        ("icann whois",
         "((original:icann OR subject:icann) AND (original:whoi OR subject:whoi))"),
        (
            "icann whois root zones",
            "(((original:icann OR subject:icann) AND (original:whoi OR subject:whoi)"
            " AND (original:root OR subject:root) AND (original:zone OR subject:zone))"
            ' ANDMAYBE original:"icann whoi root zone")',
        ),
        ("icann OR whois",
         "(original:icann OR subject:icann OR original:whoi OR subject:whoi)"),
        ("quoted:icann", "quoted:icann"),
        ("all:icann", "(original:icann OR quoted:icann OR subject:icann)"),
        ("from:parminder", "author_text:parmind"),
        ("author:parminder", "author_text:parmind"),
        ("subject:igf", "subject:igf"),
        ("list:Governance", "list:governance"),
        ("thread:<a@b.c>", "thread_id:a@b.c"),
        ("id:<a@b.c>", "message_id:a@b.c"),
        ('id:"a@b.c"', "message_id:a@b.c"),
        ('quotes:"Milton Mueller"', "quoted_author:Milton Mueller"),
        ("group:academia", "group:academia"),
        ('"root zone"', '(original:"root zone" OR subject:"root zone")'),
        ("Délégué", "(original:delegu OR subject:delegu)"),
        ("icann NOT whois",
         "((original:icann OR subject:icann) AND NOT (original:whoi OR subject:whoi))"),
        ("NOT whois", "(None:* ANDNOT (original:whoi OR subject:whoi))"),
        ("gov*", "(original:gov* OR subject:gov*)"),
        # An unknown prefix ("Re:", "http:") is read as words, as people type them.
        ("Re: icann",
         "((original:re OR subject:re) AND (original:icann OR subject:icann))"),
    ],
)
def test_parse(text: str, query: str) -> None:
    assert str(whoosh(text)) == query


def test_include_quoted_adds_quoted_text_to_bare_words() -> None:
    assert str(whoosh("icann", include_quoted=True)) == (
        "(original:icann OR subject:icann OR quoted:icann)"
    )


def test_empty_query_is_everything() -> None:
    parsed = parse("   ")
    assert (parsed.text, repr(whoosh("   "))) == ("", "Every(None, boost=1.0)")


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("date:2010", "2010-01-01 00:00:00", "2010-12-31 23:59:59.999999"),
        ("date:2010-02", "2010-02-01 00:00:00", "2010-02-28 23:59:59.999999"),
        ("date:2012-02", "2012-02-01 00:00:00", "2012-02-29 23:59:59.999999"),
        ("date:2010-12", "2010-12-01 00:00:00", "2010-12-31 23:59:59.999999"),
        ("date:2010-02-18", "2010-02-18 00:00:00", "2010-02-18 23:59:59.999999"),
        ("date:[2010-01 to 2010-06]", "2010-01-01 00:00:00", "2010-06-30 23:59:59.999999"),
        ("date:[2010 TO 2011-03-04]", "2010-01-01 00:00:00", "2011-03-04 23:59:59.999999"),
        ("date:[2010 to]", "2010-01-01 00:00:00", "None"),
        ("date:[to 2010]", "None", "2010-12-31 23:59:59.999999"),
        ("date:>=2010", "2010-01-01 00:00:00", "None"),
        ("date:>2010", "2011-01-01 00:00:00", "None"),
        ("date:<2010", "None", "2009-12-31 23:59:59.999999"),
        ("date:<=2010-06", "None", "2010-06-30 23:59:59.999999"),
    ],
)
def test_dates(text: str, start: str, end: str) -> None:
    q = parse(text).query
    assert (q.field, str(q.start), str(q.end)) == ("date", start, end)


@pytest.mark.parametrize(
    ("text", "message", "position"),
    [
        ("date:zzz", "cannot read the date 'zzz' at position 6 (use YYYY, YYYY-MM or YYYY-MM-DD)",
         5),
        ("icann date:[zzz to 2010]",
         "cannot read the date 'zzz' at position 12 (use YYYY, YYYY-MM or YYYY-MM-DD)", 11),
        ("date:2010-13", "no such date '2010-13' at position 6", 5),
        ("date:2010-02-30", "no such date '2010-02-30' at position 6", 5),
        ("date:[2011 to 2010]", "the date range '[2011 to 2010]' ends before it starts", 5),
        ("date:[to]", "a date range needs at least one end at position 6", 5),
        ("hello (unbalanced", "unclosed '(' at position 7", 6),
        ("hello) world", "unmatched ')' at position 6", 5),
        ('say "hello', "unclosed quote at position 5", 4),
        ("date:[2010 to 2011", "unclosed '[' at position 6", 5),
        ('id:""', "id: needs a message id at position 4", 3),
        ("the and of", "the query has no words to search for (only stop words?)", None),
    ],
)
def test_bad_queries(text: str, message: str, position: int | None) -> None:
    with pytest.raises(QueryError) as raised:
        whoosh(text)
    assert (str(raised.value), raised.value.position) == (message, position)


def test_too_long() -> None:
    with pytest.raises(QueryError, match="^query too long: 1001 characters, at most 1000$"):
        parse("a" * 1001)


def test_too_many_terms() -> None:
    text = " OR ".join(f"word{n}" for n in range(70))
    with pytest.raises(QueryError, match="^query has too many terms: at most 64$"):
        parse(text, max_terms=64)
