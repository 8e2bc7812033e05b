"""The seed body (header-less HTML reply) split as issue 3's acceptance bullet demands."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from core.records import Quote
from index.body import split_body

GMAIL_ID = "954259bd1002180526g4fbed642yc22d7f6d4ef5cdf2@mail.gmail.com"


def _split(seed_path: Path):
    # The seed's bytes are UTF-8 under a latin-1 meta label; the charset stage decides that.
    return split_body(seed_path.read_bytes().decode("utf-8"), "text/html")


def test_seed_original_quoted_and_signoff(seed_path: Path) -> None:
    split = _split(seed_path)
    assert "First of all I must apologize" in split.original_text
    assert "Section 74 of TA reads" in split.original_text
    assert "I must correct this" not in split.original_text
    assert "Bertrand de La Chapelle wrote" not in split.original_text
    for words in ("I must correct this", "para 76 of the Tunis Agenda", "In fact the governments who spoke"):
        assert words in split.quoted_text
    assert split.original_text.startswith("Jeanette and Bertrand,\n\nFirst of all I must apologize")
    assert split.original_text.endswith("into the oblivion.\n\nParminder")
    assert split.signoff == "Parminder"
    assert split.signature == ""
    assert split.footer == ""


def test_seed_quotes(seed_path: Path) -> None:
    quotes = _split(seed_path).quotes
    summary = [(q.author, q.message_id, q.depth) for q in quotes]
    assert summary == [
        # The inline ">para 76" quotes inside Parminder's part reappear in Bertrand's message.
        ("Bertrand de La Chapelle", GMAIL_ID, 1),
        ("Bertrand de La Chapelle", GMAIL_ID, 1),
        ("Parminder", None, 2),
        ("Bertrand de La Chapelle", GMAIL_ID, 1),
    ]
    inline = quotes[0].text
    assert inline.startswith('para 76 of the Tunis Agenda mentions "the desirability of the continuation"')
    # The stray mid-line ">" of the re-wrapped quote belong to it and are dropped.
    assert "around the question : continuation Yes or No ?" in inline
    assert inline.endswith("to discuss more than the Yes or No question.")
    assert replace(quotes[1], at=-1) == Quote("Bertrand de La Chapelle", GMAIL_ID, 1, "Dear all,")
    assert quotes[2].text.startswith("In fact the governments who spoke were not thinking of")
    assert quotes[2].text.endswith("through CSTD, that is all.")
    last = quotes[3].text
    assert last.startswith("I must correct this : preserving")
    # Bertrand's signature is quoted text, never the author's signature.
    assert "Délégué Spécial pour la Société de l'Information" in last
    assert last.endswith('("there is no greater mission for humans than uniting humans")')


def test_seed_never_leaks_css(seed_path: Path) -> None:
    split = _split(seed_path)
    for value in (split.original_text, split.quoted_text, split.signature, split.footer):
        assert "@page" not in value
        assert "margin-bottom" not in value
        assert "Ã" not in value
