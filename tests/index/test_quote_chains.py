"""A reply to a reply names whose words it quotes: golden chains in tests/data/quote-chains.

Each ``<name>.mbox`` is a reply chain written for this test, its ``<name>.json`` the
(author, linked message) of every quote block once the archive is indexed. The chain is
indexed in every order of arrival, one message a commit, and in one batch, and linked as
measurements link it (``link_together``): all must give the expected quotes, since a link or
an author must not depend on the order an archive is read in (index/quote_links.py).
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from core.config import Settings
from core.records import Message, Quote
from index.pipeline import parse_stream
from index.quote_links import Source, link, link_together
from index.writer import IndexWriterSession
from tests.conftest import DATA
from tests.index.test_quote_links import _linked

CHAINS = sorted((DATA / "quote-chains").glob("*.mbox"))
Pairs = dict[str, list[list[str | None]]]


def _records(path: Path) -> list[Message]:
    records = [m for m in parse_stream([path], Settings(), jobs=1) if isinstance(m, Message)]
    assert records, path
    return records


def _expected(path: Path) -> Pairs:
    return json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))["quotes"]


def _indexed(index_dir: Path, records: list[Message], batch_size: int) -> Pairs:
    settings = Settings(index_dir=index_dir, batch_size=batch_size, lock_timeout=1.0)
    with IndexWriterSession(settings, procs=1) as session:
        for record in records:
            session.add(record)
    return {mid: [[q["author"], q["message_id"]] for q in quotes]
            for mid, quotes in _linked(index_dir).items()}


def test_there_are_chains() -> None:
    assert len(CHAINS) >= 2
    assert all(p.with_suffix(".json").is_file() for p in CHAINS)


@pytest.mark.parametrize("path", CHAINS, ids=lambda p: p.stem)
def test_chain_linked_together_gives_the_golden_quotes(path: Path) -> None:
    records = _records(path)
    linked = link_together(records)
    got = {m.message_id: [[q.author, q.message_id] for q in linked.get(m.message_id, m.quotes)]
           for m in records}
    assert got == _expected(path)


@pytest.mark.parametrize("path", CHAINS, ids=lambda p: p.stem)
def test_chain_indexed_in_any_order_gives_the_golden_quotes(path: Path, tmp_path: Path) -> None:
    records = _records(path)
    expected = _expected(path)
    runs = {"one batch": (records, len(records) + 1)}
    for k, order in enumerate(itertools.permutations(records)):
        runs[f"order {k}: " + " ".join(m.message_id.split("@")[0] for m in order)] = (
            list(order), 1)
    wrong = {}
    for k, (name, (order, size)) in enumerate(runs.items()):
        got = _indexed(tmp_path / str(k), order, size)
        if got != expected:
            wrong[name] = got
    assert wrong == {}


# The rules one by one, on sources written here.
ANN = ("The charter should give the working group eighteen months to deliver its final "
       "report, with an interim report to the plenary after the first year.")


def _quoter(mid: str, author: str, blocks: list[tuple[str | None, str | None, str]]) -> Source:
    quotes = [Quote(name, target, 1, text) for name, target, text in blocks]
    return Source.of(mid, author, "Some words of my own about the charter.",
                     "\n".join(q.text for q in quotes), quotes=quotes)


def _pair(quotes: tuple[Quote, ...]) -> tuple[str | None, str | None]:
    return quotes[0].author, quotes[0].message_id


def test_a_quote_found_in_a_quote_block_takes_the_blocks_author_and_target() -> None:
    bob = _quoter("b", "Bob", [("Ann", "a", ANN)])
    assert _pair(link([Quote(None, None, 2, ANN)], [bob])) == ("Ann", "a")


def test_two_names_over_the_same_words_or_a_short_quote_name_nobody() -> None:
    disputed = _quoter("b", "Bob", [("Ann", None, ANN), ("Eve", None, ANN)])
    assert _pair(link([Quote(None, None, 2, ANN)], [disputed])) == (None, "b")
    short = _quoter("b", "Bob", [("Ann", None, "See you in Geneva.")])
    assert _pair(link([Quote(None, None, 2, "See you in Geneva.")], [short])) == (None, "b")


def test_the_replys_own_attribution_outranks_another_messages_block() -> None:
    bob = _quoter("b", "Bob", [("Ann", "a", ANN)])
    # Bob's block is not taken against the reply's own line: linked where found, as before.
    assert _pair(link([Quote("Carol", None, 2, ANN)], [bob])) == ("Carol", "b")
