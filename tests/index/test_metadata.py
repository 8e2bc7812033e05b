"""Metadata from headers: the date, address and subject case tables, Gmail ids, ids, lists."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from core.records import iso_utc
from index.metadata import (
    clean_id,
    gmail_id_time,
    id_list,
    normalize_subject,
    pacific_to_utc,
    parse_author,
    parse_date,
)
from index.mime import decode_header_value
from tests.conftest import DATA

HEADERS = DATA / "headers"


def _table(name: str) -> list[dict]:
    return json.loads((HEADERS / f"{name}.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("case", _table("date"), ids=lambda c: c["input"] or "(empty)")
def test_date_table(case: dict) -> None:
    assert iso_utc(parse_date(case["input"])) == case["expected"]


@pytest.mark.parametrize("case", _table("address"), ids=lambda c: c["input"] or "(empty)")
def test_address_table(case: dict) -> None:
    author = parse_author(decode_header_value(case["input"].encode("utf-8")))
    assert author.to_json() == case["expected"]


@pytest.mark.parametrize("case", _table("subject"), ids=lambda c: c["input"] or "(empty)")
def test_subject_table(case: dict) -> None:
    assert normalize_subject(case["input"]) == case["expected"]


def test_tables_are_not_empty() -> None:
    assert [len(_table(n)) >= 10 for n in ("date", "address", "subject")] == [True] * 3


def test_date_notes_say_what_was_assumed() -> None:
    notes: list[str] = []
    parse_date("Sat, 27 Sep 1997 10:02:32", notes)
    assert notes == ["date has no zone; UTC assumed"]
    notes = []
    parse_date("Mon, 15 Feb 2010 17:26:00 XYZ", notes)
    assert notes == ["unknown zone 'XYZ'; UTC assumed"]


@pytest.mark.parametrize(
    ("message_id", "expected"),
    [
        ("954259bd1002180526g4fbed642yc22d7f6d4ef5cdf2@mail.gmail.com", "2010-02-18T13:26:00Z"),
        ("<f6a363400703050910y7d591d42raf015fcef16f95ea@mail.gmail.com>", "2007-03-05T17:10:00Z"),
        ("21d7e9970504050021419911b0@mail.gmail.com", "2005-04-05T07:21:00Z"),
        ("615cd8d10606272220w1cfe0000@mail.gmail.com", "2006-06-28T05:20:00Z"),
        ("829197381002151350xa46c0000@mail.gmail.com", "2010-02-15T21:50:00Z"),
        ("CAEUhbmXiYNF0000@mail.gmail.com", None),
        ("954259bd1002180526g4fbed642@example.org", None),
        (None, None),
    ],
)
def test_gmail_message_id_times(message_id: str | None, expected: str | None) -> None:
    assert iso_utc(gmail_id_time(message_id)) == expected


def test_pacific_dst_rules_before_and_after_2007() -> None:
    # 2006: DST began on the first Sunday of April; 2007: on the second Sunday of March.
    assert pacific_to_utc(datetime(2006, 3, 20, 5, 36)) == datetime(2006, 3, 20, 13, 36, tzinfo=UTC)
    assert pacific_to_utc(datetime(2007, 3, 20, 5, 36)) == datetime(2007, 3, 20, 12, 36, tzinfo=UTC)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("<id@x.org>", "id@x.org"),
        ("<id@x.org> (added by postmaster@x.org)", "id@x.org"),
        ("<>", None),
        ("", None),
        ("<[83c48d=@microsoft.com]>", "[83c48d=@microsoft.com]"),
        ("bare@id.org", "bare@id.org"),
        ("< spaced@id.org >", "spaced@id.org"),
    ],
)
def test_message_id_cleanup(raw: str, expected: str | None) -> None:
    assert clean_id(raw) == expected


def test_references_keep_order_and_drop_duplicates() -> None:
    assert id_list("<a@x> <b@x>\n <a@x> <c@x>") == ("a@x", "b@x", "c@x")
    assert id_list("") == ()
