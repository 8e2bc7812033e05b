"""Undated mail is never "the newest": both date sorts end with it, on every backend,
on the engine's own path (plain words) and on the collector path (a wildcard)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from core.results import SearchRequest
from search.engine import Engine
from tests.backends.conftest import Built
from tests.backends.test_contract import RECORDS

# Every seventh message of the contract corpus loses its date.
UNDATED = {m.message_id for n, (m, _) in enumerate(RECORDS) if n % 7 == 3 or n in (41, 45)}
# unique04* reaches m040..m049: 41 and 45 make sure a wildcard meets undated mail.
WITH_UNDATED = [
    (replace(m, date=None, date_source=None) if m.message_id in UNDATED else m, identity)
    for m, identity in RECORDS
]


@pytest.fixture(scope="module")
def engine(built: Built) -> Engine:
    return built.engine(WITH_UNDATED)


@pytest.mark.parametrize("query", ["common", "unique04*", ""])
@pytest.mark.parametrize("sort", ["-date", "date"])
def test_undated_messages_come_after_every_dated_one(engine: Engine, query: str,
                                                     sort: str) -> None:
    found = engine.search(SearchRequest(query=query, sort=sort, page_size=100,
                                        with_facets=False, highlight=False))
    dates = [h.date for h in found.hits]
    dated = [d for d in dates if d is not None]
    assert dated and None in dates, "the query must reach dated and undated messages"
    first_undated = dates.index(None)
    assert all(d is None for d in dates[first_undated:])
    assert dated == sorted(dated, reverse=sort == "-date")
