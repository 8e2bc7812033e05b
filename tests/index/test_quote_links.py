"""Quote links: each quote names the indexed message it quotes (index/quote_links.py, writer).

The demo test reads the generator's ground truth (who replied to whom), so a link counts as
right only when it names the message the quoted words were written in.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest

from backends import open_store
from core.config import Settings
from core.records import Quote, RawMessage, SourceRef
from index.pipeline import parse_one
from index.quote_links import Source, candidates, link, probes
from index.writer import IndexWriterSession
from tests.conftest import REPO
from tests.index.test_writer import make_message

PARENT = ("The Working Group should publish its draft report before the Geneva consultation, "
          "so that every stakeholder group can comment on the text in time.")
GRANDPARENT = ("Enhanced cooperation was never defined in Tunis and every government reads "
               "it in its own way, which is why the CSTD working group exists at all.")


def _source(mid: str, own: str, quoted: str = "", author: str = "A") -> Source:
    return Source.of(mid, author, own, quoted)


def test_quote_links_to_the_message_that_wrote_it_not_the_one_that_quoted_it() -> None:
    parent = _source("p", PARENT, GRANDPARENT, author="Parminder")
    grandparent = _source("g", GRANDPARENT, author="Bertrand")
    quotes = (Quote(None, None, 1, PARENT.replace(" the ", "\nthe ", 2)),
              Quote(None, None, 2, GRANDPARENT))
    linked = link(quotes, [parent, grandparent])
    assert [(q.message_id, q.author) for q in linked] == [("p", "Parminder"), ("g", "Bertrand")]


def test_quote_found_nowhere_stays_unlinked_and_a_markup_link_is_kept() -> None:
    parent = _source("p", PARENT)
    quotes = (Quote("X", None, 1, "Words that nobody in this thread ever wrote down here."),
              Quote("Y", "cited@example.org", 1, PARENT))
    assert link(quotes, [parent]) == quotes


def test_a_trimmed_long_quote_still_matches_by_its_end() -> None:
    long_text = " ".join(f"word{k}" for k in range(60))
    trimmed = "[snip] " + " ".join(f"word{k}" for k in range(40, 60))
    assert len(probes(long_text)) == 3
    assert link((Quote(None, None, 1, trimmed),), [_source("p", long_text)])[0].message_id == "p"


def test_candidates_parent_then_references_nearest_first_then_thread() -> None:
    message = replace(make_message(5, in_reply_to="<m4@example.org>"),
                      references=("<m1@example.org>", "<m3@example.org>", "<m4@example.org>"))
    assert candidates(message, ["<m2@example.org>", "<m4@example.org>", message.message_id]) == [
        "<m4@example.org>", "<m3@example.org>", "<m1@example.org>", "<m2@example.org>"]


def _eml(mid: str, body: str, reply_to: str | None = None, day: int = 1) -> RawMessage:
    head = (f"From: Person {mid} <p{mid}@example.org>\nSubject: Re: Draft report\n"
            f"Message-ID: <{mid}@example.org>\nDate: Mon, {day} Feb 2010 10:00:00 +0000\n")
    if reply_to:
        head += f"In-Reply-To: <{reply_to}@example.org>\nReferences: <{reply_to}@example.org>\n"
    data = (head + "Content-Type: text/plain; charset=utf-8\n\n" + body).encode()
    return RawMessage(SourceRef(f"/x/{mid}.eml"), data, "eml")


def _linked(index_dir: Path) -> dict[str, list[dict]]:
    store = open_store(Settings(index_dir=index_dir))
    try:
        return {d["message_id"]: json.loads(d["quotes_json"]) for d in store.documents()}
    finally:
        store.close()


def test_writer_links_quotes_within_a_batch_and_to_an_earlier_batch(tmp_path: Path) -> None:
    settings = Settings(index_dir=tmp_path / "ix", lock_timeout=1.0)
    first = _eml("a", PARENT + "\n")
    second = _eml("b", f"Person a wrote:\n> {PARENT}\n\nAgreed, and soon.\n", "a", 2)
    # c answers b but quotes a's words, which b only quoted: the link names a.
    third = _eml("c", f"> {PARENT}\n\nWho drafts it?\n", "b", 3)
    with IndexWriterSession(settings) as session:
        session.add(parse_one(first, settings))
        session.add(parse_one(second, settings))
    with IndexWriterSession(settings) as session:
        session.add(parse_one(third, settings))
    quotes = _linked(settings.index_dir)
    assert [(q["message_id"], q["author"]) for q in quotes["b@example.org"]] == [
        ("a@example.org", "Person a")]
    assert [(q["message_id"], q["author"]) for q in quotes["c@example.org"]] == [
        ("a@example.org", "Person a")]


def _ancestor(truth: dict, mid: str, depth: int) -> str | None:
    node = truth.get(mid)
    for _ in range(depth):
        parent = node.in_reply_to.strip("<>") if node and node.in_reply_to else None
        node = truth.get(parent) if parent else None
    return node.message_id.strip("<>") if node else None


@pytest.mark.slow
def test_demo_archive_links_nine_in_ten_quotes_whose_source_is_indexed(tmp_path: Path) -> None:
    from sample.generator import generate

    govmail = [sys.executable, "-c", "from govmail.cli import cli; cli()"]
    env_run = {"cwd": REPO, "check": True, "capture_output": True, "timeout": 600}
    subprocess.run([*govmail, "sample", str(tmp_path / "demo"), "--messages", "3000",
                    "--seed", "1"], **env_run)
    subprocess.run([*govmail, "index", "--index", str(tmp_path / "ix"), "-q",
                    str(tmp_path / "demo")], **env_run)
    truth = {s.message_id.strip("<>"): s for s in generate(3000, 1) if s.message_id}
    quotes = _linked(tmp_path / "ix")
    counts: Counter[str] = Counter()
    for mid, blocks in quotes.items():
        for quote in blocks:
            counts["quote blocks"] += 1
            source = _ancestor(truth, mid, quote["depth"]) if mid in truth else None
            if source is None or source not in quotes:
                continue
            counts["source indexed"] += 1
            counts["linked to it"] += quote["message_id"] == source
    share = counts["linked to it"] / counts["source indexed"]
    print(f"\ndemo archive quote links: {dict(counts)}; linked {share:.1%} of quote blocks "
          "whose source is indexed")
    assert counts["source indexed"] > 2000
    assert share >= 0.90
