"""Each prefix of the query language returns exactly the expected set on the hand-built archive.

Expected sets come from the Message records (brute force over what was indexed), and
a few are written out by hand so that a wrong brute force cannot hide a wrong engine.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from core.records import Message
from core.results import SearchRequest
from search.engine import Engine


def found(engine: Engine, query: str, **options: object) -> set[str]:
    results = engine.search(SearchRequest(query=query, page_size=100, **options))  # type: ignore[arg-type]
    ids = {hit.message_id for hit in results.hits}
    assert len(ids) == results.total
    return ids


def expected(messages: list[Message], keep: Callable[[Message], bool]) -> set[str]:
    return {m.message_id for m in messages if keep(m)}


def between(start: datetime, end: datetime) -> Callable[[Message], bool]:
    return lambda m: m.date is not None and start <= m.date < end


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def test_bare_marker_finds_only_its_author_not_the_quoting_reply(engine: Engine) -> None:
    assert found(engine, "marker07") == {"fixture07@govmail.test"}


def test_quoted_prefix_finds_only_the_reply_that_quotes(engine: Engine) -> None:
    assert found(engine, "quoted:marker07") == {"fixture08@govmail.test"}


def test_all_prefix_finds_both(engine: Engine) -> None:
    assert found(engine, "all:marker07") == {"fixture07@govmail.test", "fixture08@govmail.test"}


def test_search_quoted_text_too(engine: Engine) -> None:
    assert found(engine, "marker07", include_quoted=True) == {
        "fixture07@govmail.test",
        "fixture08@govmail.test",
    }


@pytest.mark.parametrize(
    ("query", "author"),
    [
        ("from:parminder", "Parminder Jeet Singh"),
        ("from:Parminder", "Parminder Jeet Singh"),
        ('author:"Bertrand de La Chapelle"', "Bertrand de La Chapelle"),
        ("from:chapelle", "Bertrand de La Chapelle"),
        ("from:mueller@syr.edu", "Milton Mueller"),
        ("author:avri", "Avri Doria"),
    ],
)
def test_from(engine: Engine, messages: list[Message], query: str, author: str) -> None:
    assert found(engine, query) == expected(messages, lambda m: m.author.name == author)


def test_from_by_hand(engine: Engine) -> None:
    assert found(engine, "from:hofmann") == {
        f"fixture{n:02d}@govmail.test" for n in (4, 9, 14, 19, 24, 29)
    }


@pytest.mark.parametrize(
    ("query", "start", "end"),
    [
        ("date:2010", utc(2010, 1, 1), utc(2011, 1, 1)),
        ("date:2010-02", utc(2010, 2, 1), utc(2010, 3, 1)),
        ("date:2009-12-16", utc(2009, 12, 16), utc(2009, 12, 17)),
        ("date:[2010-01 to 2010-06]", utc(2010, 1, 1), utc(2010, 7, 1)),
        ("date:[2010-03-01 TO 2010-03-31]", utc(2010, 3, 1), utc(2010, 4, 1)),
        ("date:[2010-12 to]", utc(2010, 12, 1), utc(2100, 1, 1)),
        ("date:[to 2009]", utc(1900, 1, 1), utc(2010, 1, 1)),
        ("date:>=2011-02", utc(2011, 2, 1), utc(2100, 1, 1)),
        ("date:>2011-02", utc(2011, 3, 1), utc(2100, 1, 1)),
        ("date:<2010", utc(1900, 1, 1), utc(2010, 1, 1)),
        ("date:<=2010-01", utc(1900, 1, 1), utc(2010, 2, 1)),
    ],
)
def test_date(
    engine: Engine, messages: list[Message], query: str, start: datetime, end: datetime
) -> None:
    assert found(engine, query) == expected(messages, between(start, end))


def test_date_range_by_hand(engine: Engine) -> None:
    # Message n is dated 2009-12-01 + 15n days.
    assert found(engine, "date:[2010-02 to 2010-03]") == {
        f"fixture{n:02d}@govmail.test" for n in (5, 6, 7, 8)
    }


@pytest.mark.parametrize("name", ["governance", "igf", "icann-discuss", "ietf", "IGF"])
def test_list(engine: Engine, messages: list[Message], name: str) -> None:
    assert found(engine, f"list:{name}") == expected(messages, lambda m: name.lower() in m.lists)


def test_cross_posted_message_is_in_both_lists(engine: Engine) -> None:
    assert "fixture05@govmail.test" in found(engine, "list:igf")
    assert "fixture05@govmail.test" in found(engine, "list:governance")


@pytest.mark.parametrize(
    "name", ["Parminder Jeet Singh", "Milton Mueller", "Bertrand de La Chapelle"]
)
def test_quotes(engine: Engine, messages: list[Message], name: str) -> None:
    assert found(engine, f'quotes:"{name}"') == expected(
        messages, lambda m: any(q.author == name for q in m.quotes)
    )


def test_quotes_by_hand(engine: Engine) -> None:
    # Replies (n % 3 != 0) quote message n - 1; Avri writes n % 5 == 3.
    assert found(engine, 'quotes:"Avri Doria"') == {
        f"fixture{n:02d}@govmail.test" for n in (4, 14, 19, 29)
    }


@pytest.mark.parametrize("word", ["dnssec", "whois", "neutrality", "Verisign"])
def test_quoted(engine: Engine, messages: list[Message], word: str) -> None:
    assert found(engine, f"quoted:{word}") == expected(
        messages, lambda m: word.lower() in m.quoted_text.lower()
    )


def test_group(engine: Engine, messages: list[Message]) -> None:
    academics = {"Milton Mueller", "Jeanette Hofmann"}
    assert found(engine, "group:academia") == expected(
        messages, lambda m: m.author.name in academics
    )
    assert found(engine, 'group:"civil society"') == expected(
        messages, lambda m: m.author.name == "Parminder Jeet Singh"
    )


def test_id_and_thread(engine: Engine, messages: list[Message]) -> None:
    assert found(engine, "id:<fixture05@govmail.test>") == {"fixture05@govmail.test"}
    assert found(engine, "id:fixture05@govmail.test") == {"fixture05@govmail.test"}
    assert found(engine, "thread:fixture03@govmail.test") == {
        "fixture03@govmail.test",
        "fixture04@govmail.test",
        "fixture05@govmail.test",
    }


def test_subject(engine: Engine, messages: list[Message]) -> None:
    assert found(engine, "subject:privacy") == expected(
        messages, lambda m: "Privacy" in m.subject
    )


def test_boolean_operators(engine: Engine, messages: list[Message]) -> None:
    dnssec = expected(messages, lambda m: "DNSSEC" in m.original_text)
    whois = expected(messages, lambda m: "WHOIS" in m.original_text)
    ietf = expected(messages, lambda m: "ietf" in m.lists)
    assert found(engine, "dnssec OR whois") == dnssec | whois
    assert found(engine, "dnssec list:ietf") == dnssec & ietf
    assert found(engine, "dnssec AND list:ietf") == dnssec & ietf
    assert found(engine, "dnssec NOT list:ietf") == dnssec - ietf
    everything = {m.message_id for m in messages}
    assert found(engine, "NOT dnssec") == everything - dnssec
    assert found(engine, "(dnssec OR whois) AND date:2010") == (dnssec | whois) & expected(
        messages, between(utc(2010, 1, 1), utc(2011, 1, 1))
    )


def test_phrase(engine: Engine, messages: list[Message]) -> None:
    assert found(engine, '"root zone signing"') == expected(
        messages, lambda m: "root zone signing" in m.original_text
    )
    assert found(engine, '"signing root zone"') == set()


def test_wildcard(engine: Engine, messages: list[Message]) -> None:
    assert found(engine, "neutral*") == expected(messages, lambda m: "neutrality" in m.original_text)


def test_stemming_and_accents(engine: Engine, messages: list[Message]) -> None:
    assert found(engine, "government") == found(engine, "governments")
    assert found(engine, "contribution") == expected(
        messages, lambda m: "contributions" in m.original_text
    )


def test_empty_query_is_everything_newest_first(engine: Engine, messages: list[Message]) -> None:
    results = engine.search(SearchRequest(query="", page_size=100))
    newest_first = sorted(messages, key=lambda m: m.date, reverse=True)  # type: ignore[arg-type, return-value]
    assert [h.message_id for h in results.hits] == [m.message_id for m in newest_first]
