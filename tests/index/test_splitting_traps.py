"""Splitting traps real archives set: console lines, stubs, footers learned per list, offsets.

The golden fixtures (tests/data/messages, named after each trap) pin single messages; these
tests cover what one message cannot show: footers learned across a list at index time,
quote offsets, and the real pipermail archives under ../shared/corpora.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest

from backends import open_store
from core.config import Settings
from core.records import RawMessage
from index import footers
from index import quote_markers as qm
from index.body import split_body
from index.catalog import Catalog
from index.pipeline import parse_one
from index.sources import iter_raw
from index.writer import FOOTERS_META, IndexWriterSession
from tests.index.test_writer import make_message

FOOTER = "IGC list. Read the charter at http://igc.example.org/charter before posting."


def _messages(count: int, authors: int, tail: str, list_name: str = "igc") -> list:
    return [
        replace(make_message(n, lists=(list_name,), email=f"a{n % authors}@example.org"),
                original_text=f"Point number {n} on enhanced cooperation.\n\n{tail}")
        for n in range(count)
    ]


def test_a_closing_paragraph_many_authors_share_is_learned_as_the_lists_footer() -> None:
    messages = _messages(10, 4, FOOTER)
    learned = footers.learn(messages)
    assert learned == {"igc": {" ".join(FOOTER.split())}}
    stripped = footers.strip(messages[0], learned["igc"])
    assert stripped.original_text == "Point number 0 on enhanced cooperation."
    assert stripped.footer == FOOTER


def test_one_prolific_authors_sign_off_is_not_a_footer() -> None:
    sign_off = "Best wishes from the Diplo team in Geneva"
    assert footers.learn(_messages(10, 1, sign_off)) == {}
    # Nor a paragraph few of the list's messages end with.
    mixed = _messages(4, 4, FOOTER) + _messages(40, 40, "", "igc")
    assert footers.learn(mixed) == {}


def _stored(index_dir: Path) -> dict[str, dict]:
    store = open_store(Settings(index_dir=index_dir))
    try:
        return {d["message_id"]: d for d in store.documents()}
    finally:
        store.close()


def test_writer_strips_learned_footers_and_keeps_them_for_the_next_batch(tmp_path: Path) -> None:
    settings = Settings(index_dir=tmp_path / "ix", lock_timeout=1.0)
    with IndexWriterSession(settings) as session:
        for message in _messages(8, 4, FOOTER):
            session.add(message)
    later = replace(_messages(20, 4, FOOTER)[15], message_id="<late@example.org>")
    with IndexWriterSession(settings) as session:
        session.add(later)
    docs = _stored(settings.index_dir)
    assert len(docs) == 9
    assert all(FOOTER not in d["original"] and d["footer"] == FOOTER for d in docs.values())
    catalog = Catalog(settings.index_dir)
    try:
        assert json.loads(catalog.get_meta(FOOTERS_META) or "{}") == {
            "igc": [" ".join(FOOTER.split())]}
    finally:
        catalog.close()


def test_quote_offsets_put_each_passage_back_where_it_stood() -> None:
    text = ("Hi all,\n\nOn Mon, 4 Mar 2019, Anja <anja@example.org> wrote:\n> First point.\n\n"
            "Agreed.\n\n> Second point.\n>> Her source.\n\nNo.\n")
    split = split_body(text, "text/plain")
    assert split.original_text == "Hi all,\n\nAgreed.\n\nNo."
    placed = [(q.depth, q.text, split.original_text[:q.at]) for q in split.quotes]
    assert placed == [
        (1, "First point.", "Hi all,"),
        (1, "Second point.", "Hi all,\n\nAgreed."),
        (2, "Her source.", "Hi all,\n\nAgreed."),
    ]
    assert all(q.to_json()["at"] == q.at for q in split.quotes)


@pytest.mark.parametrize(
    ("body", "literal"),
    [
        ("Try this:\n\n> x <- c(1, 2)\n> mean(x)\n[1] 1.5\n", "> mean(x)"),
        ("In Python:\n\n>>> import json\n>>> json.dumps(1)\n'1'\n", ">>> import json"),
        ("Run:\n\n$ ./configure \\\n> --prefix=/opt\n", "> --prefix=/opt"),
        ("Banner:\n\n>>>>>>>>>>>>>>>>>>>>>>>>>>>\n\nNews.\n", ">>>>>>>>>>>>>>>>>>>>>>>>>>>"),
    ],
)
def test_console_lines_are_the_authors_words(body: str, literal: str) -> None:
    split = split_body(body, "text/plain")
    assert literal in split.original_text
    assert split.quotes == ()


def test_prose_quoted_without_an_attribution_stays_a_quote() -> None:
    split = split_body("> We should publish the draft before Geneva, not after it.\n\n"
                       "Agreed.\n", "text/plain")
    assert split.original_text == "Agreed."
    assert [q.text for q in split.quotes] == [
        "We should publish the draft before Geneva, not after it."]


PIPERMAIL = (
    "r-package-devel-pipermail/2019q1.txt",
    "r-package-devel-pipermail/r-sig-mac-2019-March.txt",
    "twisted-pipermail/twisted-web/2005-May.txt",
    "twisted-pipermail/twisted-python/2009-April.txt.gz",
    "twisted-pipermail/twisted-python/2010-March.txt.gz",
)


@pytest.mark.corpora
def test_no_stub_or_footer_left_in_the_authors_words(shared_corpora: Path) -> None:
    settings = Settings()
    rows = []
    for name in PIPERMAIL:
        messages = [parse_one(raw, settings) for raw in iter_raw(shared_corpora / name)
                    if isinstance(raw, RawMessage)]
        learned = footers.learn(messages)
        counts: Counter[str] = Counter(messages=len(messages))
        for message in messages:
            message = footers.strip(message, learned.get(footers.list_of(message), set()))
            counts["stub attachments"] += len(message.attachments)
            for line in message.original_text.split("\n"):
                t = line.strip()
                counts["stub lines"] += bool(qm.SCRUB_SEPARATOR.match(t) or qm.SCRUB_NOTICE.match(t))
                counts["footer lines"] += bool(qm.FOOTER_START.match(t))
            ends = message.original_text.rstrip().rsplit("\n\n", 1)[-1]
            counts["learned footers"] += " ".join(ends.split()) in learned.get(
                footers.list_of(message), set())
        rows.append((name, counts))
    print()
    for name, counts in rows:
        print(f"{name:55} {dict(counts)}")
    assert all(c["stub lines"] == 0 and c["footer lines"] == 0 and c["learned footers"] == 0
               for _, c in rows)
    assert sum(c["stub attachments"] for _, c in rows) > 100
