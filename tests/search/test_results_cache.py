"""The engine answers a repeated request from its cache, and never past a commit."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from core.config import Settings
from core.results import SearchRequest
from search.engine import Engine
from tests.indexing import write_messages
from tests.search.archive import build_messages, identity, write_index


class CountingReader:
    """The real reader, counting the matches it is asked for."""

    def __init__(self, reader: Any) -> None:
        self._reader = reader
        self.matches = 0

    def match(self, *args: Any, **kwargs: Any) -> Any:
        self.matches += 1
        return self._reader.match(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._reader, name)


def test_a_repeated_request_is_served_from_the_cache_until_a_commit(tmp_path: Path) -> None:
    index_dir = tmp_path / "ix"
    messages = build_messages(60)
    write_index(index_dir, messages[:50])
    from backends import open_reader

    reader = CountingReader(open_reader(Settings(index_dir=index_dir)))
    engine = Engine(Settings(index_dir=index_dir), reader=reader)
    request = SearchRequest("")
    first = engine.search(request)
    again = engine.search(SearchRequest("", filters={}))
    assert reader.matches == 1
    assert (again.total, again.hits, again.facets) == (first.total, first.hits, first.facets)
    assert first.total == 50
    # A commit: the next search sees it, whatever the cache held.
    write_messages(index_dir, [(m, identity(m)) for m in messages[50:]])
    after = engine.search(request)
    assert after.total == len(messages) and reader.matches == 2
    engine.close()


def test_the_cache_is_bounded(tmp_path: Path) -> None:
    index_dir = tmp_path / "ix"
    write_index(index_dir, build_messages(20))
    engine = Engine(Settings(index_dir=index_dir), results_cached=3)
    for page in range(1, 6):
        engine.search(replace(SearchRequest(""), page=page, page_size=2))
    assert len(engine._results) == 3
    engine.close()


def test_no_cache_keeps_nothing(tmp_path: Path) -> None:
    """What the benchmarks ask for: every search is done, none looked up."""
    index_dir = tmp_path / "ix"
    write_index(index_dir, build_messages(5))
    engine = Engine(Settings(index_dir=index_dir), results_cached=0)
    first = engine.search(SearchRequest("governance"))
    again = engine.search(SearchRequest("governance"))
    assert len(engine._results) == 0
    assert again is not first and again.total == first.total
    engine.close()
