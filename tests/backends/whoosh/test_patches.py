"""The writer's two Whoosh speed patches give Whoosh's own answers, with fewer lookups."""

from __future__ import annotations

from pathlib import Path

from whoosh import index as whoosh_index

import backends.whoosh.patches as writer
import backends.whoosh.store as store
from backends.whoosh.schema import SCHEMA
from core.config import Settings
from index.writer import IndexWriterSession
from tests.index.test_writer import make_message, stored


def _index(tmp_path: Path, count: int) -> Path:
    settings = Settings(index_dir=tmp_path / "ix", batch_size=1000)
    with IndexWriterSession(settings, procs=1) as session:
        for n in range(count):
            session.add(make_message(n, text=" ".join(["governance"] * (n % 9)) or None))
    return settings.index_dir


def test_missing_length_columns_are_remembered(tmp_path: Path) -> None:
    """The writer's Whoosh patch: a field without lengths is looked up once, not per posting."""
    index_dir = _index(tmp_path, 30)
    ix = whoosh_index.open_dir(str(index_dir))
    with ix.reader() as reader:
        perdoc = reader._perdoc
        asked: list[str] = []
        original = perdoc.has_column
        perdoc.has_column = lambda name: asked.append(name) or original(name)
        assert perdoc.doc_field_length(3, "message_id") == 0
        assert perdoc.doc_field_length(4, "message_id") == 0
        assert perdoc.doc_field_length(3, "original") == 3
        assert perdoc.doc_field_length(4, "original") == 4
    ix.close()
    assert asked == ["_message_id_len", "_original_len"]
    assert len(stored(index_dir)) == 30


def test_field_lengths_equal_whooshs_for_every_document_and_field(tmp_path: Path) -> None:
    ix = whoosh_index.open_dir(str(_index(tmp_path, 40)))
    with ix.reader() as reader:
        perdoc = reader._perdoc
        got = {(d, f): perdoc.doc_field_length(d, f, 0)
               for d in range(41) for f in SCHEMA.names()}
        fresh = reader._perdoc.__class__(perdoc._storage, perdoc._segment)
        want = {(d, f): writer._whoosh_doc_field_length(fresh, d, f, 0)
                for d in range(41) for f in SCHEMA.names()}
    ix.close()
    assert got == want
    assert got[(0, "original")] == 6 and got[(2, "original")] == 2
    assert got[(0, "message_id")] == 0


def test_commits_merge_only_small_segments(tmp_path: Path) -> None:
    """MERGE_COUNT small segments fold into one; a big one is never part of a commit's merge."""
    big = store.SMALL_SEGMENT + 10
    settings = Settings(index_dir=tmp_path / "ix", batch_size=big)
    with IndexWriterSession(settings, procs=1) as session:
        for n in range(big):
            session.add(make_message(n))

    def sizes() -> list[int]:
        ix = whoosh_index.open_dir(str(settings.index_dir))
        found = sorted(s.doc_count_all() for s in ix._segments())
        ix.close()
        return found

    def add(count: int, first: int) -> None:
        with IndexWriterSession(settings, procs=1) as session:
            for k in range(first, first + count):
                session.add(make_message(k))

    n = big
    for _ in range(store.MERGE_COUNT):
        add(5, n)
        n += 5
    # Whoosh's own policy would have merged everything into one segment long before.
    assert sizes() == [5] * store.MERGE_COUNT + [big]
    add(1, n)
    assert sizes() == [5 * store.MERGE_COUNT + 1, big]
    assert len(stored(settings.index_dir)) == big + 5 * store.MERGE_COUNT + 1
