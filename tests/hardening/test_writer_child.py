"""Issue 18, item 1: a Whoosh writer child that dies never takes documents with it.

Real forked writer processes (``procs=2``) killed by SIGKILL, as the OOM killer would,
at each point of their work (the hook in ``backends/whoosh/store.py``), or failing with
an exception. The store refuses the commit (the index is unchanged); the session
retries the batch in its own process, so the run ends with every message exactly once
and the catalog agrees.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from backends.whoosh.store import CHILD_HOOK, WhooshStore
from core.config import Settings
from core.errors import WriterFailed
from index.catalog import Catalog
from index.document import to_document
from index.writer import IndexWriterSession
from tests.hardening import corpus
from tests.indexing import document_count, stored_documents

POINTS = ["start", "job", "finalize", "raise"]
BATCH = 450  # more than one 100-document job file for each of the two children


def _messages(count: int, offset: int = 0) -> list:
    rng = random.Random(5)
    words = corpus.vocabulary(400)
    return [corpus.message(offset + i, words, rng) for i in range(count)]


@pytest.mark.parametrize("point", POINTS)
def test_store_refuses_a_batch_a_child_lost(
    point: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = WhooshStore(tmp_path / "ix", procs=2)
    first = store.writer(50)
    for message in _messages(50):
        first.add(to_document(message))
    before = first.commit()
    monkeypatch.setenv(CHILD_HOOK, point)
    writer = store.writer(BATCH)
    for message in _messages(BATCH, offset=1000):
        writer.add(to_document(message))
    with pytest.raises(WriterFailed):
        writer.commit()
    writer.cancel()
    assert store.generation() == before
    assert store.procs == 1  # the rest of the session writes in-process
    store.close()
    assert document_count(tmp_path / "ix") == 50


@pytest.mark.parametrize("point", POINTS)
def test_session_retries_and_counts_are_exact(
    point: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(index_dir=tmp_path / "ix", batch_size=BATCH)
    messages = _messages(2 * BATCH + 17)
    monkeypatch.setenv(CHILD_HOOK, point)
    with IndexWriterSession(settings, procs=2) as session:
        for message in messages:
            assert session.add(message)
    monkeypatch.delenv(CHILD_HOOK)
    docs = stored_documents(settings.index_dir)
    assert sorted(docs) == sorted(m.message_id for m in messages)
    assert document_count(settings.index_dir) == len(messages)
    catalog = Catalog(settings.index_dir)
    assert catalog.count() == len(messages)
    catalog.close()
    # The next run finds every message already there: nothing lost, nothing twice.
    with IndexWriterSession(settings, procs=2) as session:
        assert not any(session.add(m) for m in messages)
    assert document_count(settings.index_dir) == len(messages)


def test_healthy_children_still_write_in_parallel(tmp_path: Path) -> None:
    store = WhooshStore(tmp_path / "ix", procs=2)
    writer = store.writer(BATCH)
    for message in _messages(BATCH):
        writer.add(to_document(message))
    writer.commit()
    assert store.procs == 2
    assert store.doc_count() == BATCH
    store.close()


def test_a_retried_batch_keeps_the_lists_a_cross_post_added(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dataclasses import replace

    settings = Settings(index_dir=tmp_path / "ix", batch_size=BATCH)
    first = _messages(5)
    with IndexWriterSession(settings, procs=1) as session:
        for message in first:
            session.add(message)
    monkeypatch.setenv(CHILD_HOOK, "job")
    with IndexWriterSession(settings, procs=2) as session:
        # The same message from another list: one record, both lists.
        assert not session.add(replace(first[0], lists=("elsewhere",)))
        for message in _messages(BATCH, offset=1000):
            session.add(message)
    monkeypatch.delenv(CHILD_HOOK)
    docs = stored_documents(settings.index_dir)
    assert len(docs) == 5 + BATCH
    assert docs[first[0].message_id]["list"].split(",") == [*first[0].lists, "elsewhere"]
    catalog = Catalog(settings.index_dir)
    assert catalog.get(first[0].message_id).lists == (*first[0].lists, "elsewhere")
    catalog.close()


def _stall_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, hook: str) -> tuple:
    import backends.whoosh.store as store_module

    monkeypatch.setattr(store_module, "CHILD_STALL", 2.0)
    store = WhooshStore(tmp_path / "ix", procs=2)
    monkeypatch.setenv(CHILD_HOOK, hook)
    writer = store.writer(BATCH)
    for message in _messages(BATCH):
        writer.add(to_document(message))
    return store, writer


def test_children_that_work_longer_than_the_stall_bound_are_waited_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A loaded machine: the children compute for three times the bound before their
    # result. Their CPU time moving on is progress, so the batch commits whole.
    store, writer = _stall_store(tmp_path, monkeypatch, "busy:6")
    writer.commit()
    store.close()
    assert document_count(tmp_path / "ix") == BATCH


def test_children_that_hang_end_the_batch_after_the_stall_bound(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    store, writer = _stall_store(tmp_path, monkeypatch, "stop")
    started = time.monotonic()
    with pytest.raises(WriterFailed, match="used no CPU"):
        writer.commit()
    waited = time.monotonic() - started
    writer.cancel()
    store.close()
    assert waited < 30
    assert document_count(tmp_path / "ix") == 0
