"""Issue 3's acceptance test on the seed: a header-less HTML body, declared ISO-8859-1, UTF-8 bytes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from core.config import Settings
from core.records import Message
from index.pipeline import parse_stream
from tests.conftest import SEED

TEXT_FIELDS = ("original_text", "quoted_text", "signature", "footer", "subject")


@pytest.fixture(scope="module")
def seed() -> Message:
    # Module scope: parsed once; the function-scoped seed_path fixture cannot be used here.
    if not SEED.is_file():
        pytest.skip(f"{SEED} is absent")
    records = list(parse_stream([SEED], Settings(), jobs=1))
    assert len(records) == 1
    assert isinstance(records[0], Message)
    return records[0]


def test_one_record_by_parminder_from_the_signoff(seed: Message) -> None:
    assert seed.author.to_json() == {"name": "Parminder", "email": None, "source": "signoff"}


def test_original_text(seed: Message) -> None:
    assert "First of all I must apologize" in seed.original_text
    assert "Section 74 of TA reads" in seed.original_text
    assert "I must correct this" not in seed.original_text


def test_quoted_text(seed: Message) -> None:
    for words in ("I must correct this", "para 76 of the Tunis Agenda",
                  "In fact the governments who spoke"):
        assert words in seed.quoted_text


def test_quotes_by_depth_author_and_id(seed: Message) -> None:
    depth1 = [(q.author, q.message_id) for q in seed.quotes if q.depth == 1]
    depth2 = [q.author for q in seed.quotes if q.depth == 2]
    assert ("Bertrand de La Chapelle",
            "954259bd1002180526g4fbed642yc22d7f6d4ef5cdf2@mail.gmail.com") in depth1
    assert "Parminder" in depth2


def test_no_mojibake_and_no_css(seed: Message) -> None:
    record = seed.to_json()
    everything = " ".join([*(record[f] for f in TEXT_FIELDS), *(q.text for q in seed.quotes)])
    assert "Délégué Spécial" in everything
    assert "Ã" not in everything
    assert "@page" not in everything


def test_date_is_after_the_quoted_gmail_message_and_not_from_a_header(seed: Message) -> None:
    assert seed.date is not None
    assert seed.date >= datetime(2010, 2, 18, 13, 26, tzinfo=UTC)
    assert seed.date.year == 2010
    assert seed.date_source not in (None, "header")


def test_charset_report(seed: Message) -> None:
    assert (seed.charset.declared, seed.charset.used) == ("ISO-8859-1", "UTF-8")
    assert seed.charset.repairs == (
        "declared ISO-8859-1 but the bytes are valid multi-byte UTF-8: decoded as UTF-8",)
