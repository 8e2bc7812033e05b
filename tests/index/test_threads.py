"""Threading: parent before child, child before parent, subject fallback, cycles."""

from __future__ import annotations

import itertools
from pathlib import Path

from core.config import Settings
from index.threads import SUBJECT_WINDOW, Node, roots, thread_ids
from index.writer import IndexWriterSession
from search.engine import Engine
from tests.index.test_writer import make_message
from tests.indexing import stored_documents

DAY = 86400.0


def node(mid: str, irt: str | None = None, refs: tuple[str, ...] = (), subject: str = "s",
         reply: bool = False, date: float | None = 0.0, lst: str | None = "igc") -> Node:
    return Node(mid, irt, refs, subject, reply or bool(irt or refs), date, lst)


def test_references_pick_the_nearest_known_ancestor() -> None:
    nodes = [
        node("a"),
        node("b", irt="a", refs=("a",)),
        # c's In-Reply-To is missing from the archive; References still lead to a.
        node("c", irt="gone", refs=("a", "gone")),
        node("d", refs=("a", "b")),
    ]
    assert thread_ids(nodes) == {"a": "a", "b": "a", "c": "a", "d": "a"}


def test_subject_fallback_within_the_window_and_list() -> None:
    nodes = [
        node("root", subject="wsis+20 review", date=0.0),
        node("r1", subject="wsis+20 review", reply=True, date=2 * DAY),
        node("late", subject="wsis+20 review", reply=True, date=3 * DAY + SUBJECT_WINDOW + 1),
        node("other-list", subject="wsis+20 review", reply=True, date=DAY, lst="bestbits"),
        # Not a reply: a new message with a recurring subject starts its own thread.
        node("fresh", subject="wsis+20 review", date=3 * DAY),
    ]
    assert thread_ids(nodes) == {
        "root": "root",
        "r1": "root",
        "late": "late",
        "other-list": "other-list",
        "fresh": "fresh",
    }


def test_cycles_end_without_recursion() -> None:
    parent = {"a": "b", "b": "c", "c": "a", "d": "c"}
    # The loop's smallest id is the root, whatever node the walk starts from.
    for order in itertools.permutations(["a", "b", "c", "d"]):
        assert roots(order, parent) == {"a": "a", "b": "a", "c": "a", "d": "a"}
    # A chain deeper than Python's recursion limit.
    chain = {f"n{i}": f"n{i - 1}" for i in range(1, 50_000)}
    found = roots(list(chain) + ["n0"], chain)
    assert set(found.values()) == {"n0"}


def _threads(index_dir: Path) -> dict[str, str]:
    return {mid: d["thread_id"] for mid, d in stored_documents(index_dir).items()}


def _thread_query(index_dir: Path, thread: str) -> list[str]:
    view = Engine(Settings(index_dir=index_dir)).thread(thread)
    return sorted(node.message_id for node in view.nodes) if view else []


def test_parent_after_child_rethreads_in_the_index(tmp_path: Path) -> None:
    settings = Settings(index_dir=tmp_path / "ix")
    grandchild = make_message(3, subject="Re: Re: IANA", in_reply_to="<m2@example.org>",
                              references=("<m1@example.org>", "<m2@example.org>"))
    child = make_message(2, subject="Re: IANA", in_reply_to="<m1@example.org>",
                         references=("<m1@example.org>",))
    with IndexWriterSession(settings) as session:
        session.add(grandchild)
    with IndexWriterSession(settings) as session:
        session.add(child)
    assert _threads(settings.index_dir) == {"<m2@example.org>": "<m2@example.org>",
                                            "<m3@example.org>": "<m2@example.org>"}
    with IndexWriterSession(settings) as session:
        session.add(make_message(1, subject="IANA"))
    assert _threads(settings.index_dir) == {f"<m{n}@example.org>": "<m1@example.org>"
                                            for n in (1, 2, 3)}
    # The old thread id is gone from the index, not just from stored fields.
    assert _thread_query(settings.index_dir, "<m2@example.org>") == []
    assert _thread_query(settings.index_dir, "<m1@example.org>") == [
        "<m1@example.org>", "<m2@example.org>", "<m3@example.org>"]


def test_child_after_parent_and_subject_fallback_in_the_index(tmp_path: Path) -> None:
    settings = Settings(index_dir=tmp_path / "ix")
    with IndexWriterSession(settings) as session:
        session.add(make_message(1, subject="Enhanced cooperation", days=0))
    with IndexWriterSession(settings) as session:
        session.add(make_message(2, subject="Re: Enhanced cooperation", days=1,
                                 in_reply_to="<m1@example.org>"))
        # A reply whose client dropped In-Reply-To and References.
        session.add(make_message(3, subject="Re: Enhanced cooperation", days=3))
        session.add(make_message(4, subject="Re: Enhanced cooperation", days=90))
    assert _threads(settings.index_dir) == {
        "<m1@example.org>": "<m1@example.org>",
        "<m2@example.org>": "<m1@example.org>",
        "<m3@example.org>": "<m1@example.org>",
        "<m4@example.org>": "<m4@example.org>",
    }
