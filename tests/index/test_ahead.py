"""Parsing ahead of the writer: same records, errors raised in the caller, early exit stops it."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from backends.whoosh.store import BULK_THRESHOLD, bulk_procs
from core.config import Settings
from index.indexer import index_paths
from index.pipeline import ahead, parse_stream, pooled
from tests.conftest import DATA
from tests.index.test_writer import stored

PATHS = [DATA / "sources", DATA / "messages"]


def test_ahead_yields_every_item_in_order() -> None:
    assert list(ahead(iter(range(1000)), limit=64)) == list(range(1000))
    assert list(ahead(iter([]), limit=64)) == []


def test_ahead_raises_the_producers_error_after_its_items() -> None:
    def produce():
        yield from range(40)
        raise ValueError("broken source")

    got: list[int] = []
    with pytest.raises(ValueError, match="broken source"):
        for item in ahead(produce(), limit=8):
            got.append(item)
    assert got == list(range(40))


def test_leaving_early_stops_and_closes_the_producer() -> None:
    closed = threading.Event()

    def produce():
        try:
            n = 0
            while True:
                yield n
                n += 1
        finally:
            closed.set()

    stream = ahead(produce(), limit=32)
    assert [next(stream) for _ in range(5)] == [0, 1, 2, 3, 4]
    stream.close()
    assert closed.is_set()
    assert not any(t.name == "govmail-parse-ahead" for t in threading.enumerate())


def test_pooled_matches_jobs() -> None:
    assert pooled(1) is False
    assert pooled(2) is True


def test_parsing_ahead_gives_the_records_of_plain_parsing() -> None:
    plain = [r.to_json() for r in parse_stream(PATHS, Settings(), jobs=1)]
    early = [r.to_json() for r in ahead(parse_stream(PATHS, Settings(), jobs=2), limit=32)]
    assert len(plain) > 60
    assert early == plain


def test_index_paths_with_worker_pool_indexes_like_in_process(tmp_path: Path) -> None:
    paths = PATHS
    one = index_paths(paths, Settings(index_dir=tmp_path / "one", jobs=1), progress=False)
    two = index_paths(paths, Settings(index_dir=tmp_path / "two", jobs=2, batch_size=7),
                      progress=False)
    assert (two.read, two.indexed, two.duplicates, two.reported) == (
        one.read, one.indexed, one.duplicates, one.reported)
    docs_one, docs_two = stored(tmp_path / "one"), stored(tmp_path / "two")
    assert docs_two.keys() == docs_one.keys()
    strip = ("source_json",)
    assert {k: {f: v for f, v in d.items() if f not in strip} for k, d in docs_two.items()} == {
        k: {f: v for f, v in d.items() if f not in strip} for k, d in docs_one.items()}


def test_bulk_procs_counts_rewrites_too() -> None:
    assert bulk_procs(BULK_THRESHOLD - 1) == 1
    assert bulk_procs(BULK_THRESHOLD) == min(2, os.cpu_count() or 1)
