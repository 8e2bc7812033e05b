"""plain_blocks: ">" depth at any spacing, flowed lines, interleaving kept in order."""

from __future__ import annotations

import time

from core.records import Block
from index.plain import plain_blocks, quote_prefix


def test_quote_prefix_spacing() -> None:
    assert quote_prefix("> a") == (1, "a")
    assert quote_prefix(">> a") == (2, "a")
    assert quote_prefix("> > > a") == (3, "a")
    assert quote_prefix(">> > a") == (3, "a")
    assert quote_prefix(">a") == (1, "a")
    assert quote_prefix("  > indented") == (1, "indented")
    assert quote_prefix("a > b") == (0, "a > b")
    assert quote_prefix(">") == (1, "")


def test_depths_and_paragraphs_in_order() -> None:
    text = "Mine\n\n> q1\n> q1b\n>\n> > q2\n>>> q3\n\nBack\n> again\n"
    assert plain_blocks(text) == [
        Block("Mine"),
        Block("q1\nq1b", depth=1),
        Block("q2", depth=2),
        Block("q3", depth=3),
        Block("Back"),
        Block("again", depth=1),
    ]


def test_flowed_soft_breaks_join_but_signature_delimiter_does_not() -> None:
    text = "This line is \nflowed on.\n-- \nSig"
    assert plain_blocks(text, flowed=True) == [Block("This line is flowed on.\n--\nSig")]
    # Not declared flowed: a trailing space is not a soft break (code, tables, R output).
    assert plain_blocks(text) == [Block("This line is\nflowed on.\n--\nSig")]
    assert plain_blocks("Split in the midd \nle.", flowed=True, delsp=True) == [
        Block("Split in the middle.")]


def test_false_quote_markers() -> None:
    text = "See <http://example.com/a\n> and more\n>>> http://example.com <<<\n"
    assert plain_blocks(text) == [Block("See <http://example.com/a\n> and more\n>>> http://example.com <<<")]


def test_crlf_nbsp_and_bom() -> None:
    assert plain_blocks("\ufeffHi\xa0there\r\n\r\n> q\r\n") == [Block("Hi there"), Block("q", depth=1)]


def test_32kb_of_markers_is_linear() -> None:
    start = time.perf_counter()
    blocks = plain_blocks(">" * 33000 + " x\n" + ("> > line\n" * 4000))
    assert time.perf_counter() - start < 2
    assert blocks[-1].depth == 2
    assert len(blocks[-1].text.split("\n")) == 4000
