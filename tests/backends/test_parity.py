"""Whoosh and OpenSearch answer the same 100 queries with the same totals and facet counts.

The same generated archive (``sample.generator``'s ground truth, 2,000 messages with their
threads and identities) is written through each backend's Store, and a seeded set of the
benchmark's queries (words, pairs, phrases, authors, lists, dates, quoted text) runs on
both. Totals and every facet count must be equal; the top hits of the rankings may differ
(BM25 statistics are per shard in a cluster), so only the sets of ids on a date-sorted page
are compared.

Needs a cluster (``GOVMAIL_OPENSEARCH_URLS``); skipped with the reason without one.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest

from core.results import SearchRequest
from search.engine import Engine
from tests.backends.conftest import Built, settings_for
from tests.search.sampled import identity, sample_messages

MESSAGES = 2000
QUERIES = 100


def queries(seed: int = 11) -> list[str]:
    rng = random.Random(seed)
    words = ["governance", "internet", "multistakeholder", "icann", "igf", "tunis", "agenda",
             "cooperation", "enhanced", "privacy", "whois", "dns", "council", "review",
             "proposal", "accountability", "transition", "iana", "human", "rights",
             "cybersecurity", "development", "civil", "society", "government", "capacity"]
    found: list[str] = []
    while len(found) < QUERIES:
        kind = rng.randrange(8)
        a, b = rng.sample(words, 2)
        if kind == 0:
            found.append(a)
        elif kind == 1:
            found.append(f"{a} {b}")
        elif kind == 2:
            found.append(f"{a} OR {b}")
        elif kind == 3:
            found.append(f'"{a} {b}"')
        elif kind == 4:
            found.append(f"quoted:{a}")
        elif kind == 5:
            found.append(f"{a} date:{rng.randrange(2005, 2016)}")
        elif kind == 6:
            found.append(f"{a} NOT {b}")
        else:
            found.append(f"all:{a} list:governance")
    return found


@pytest.fixture(scope="module")
def engines(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Engine, Engine]]:
    records = [(m, identity(m)) for m in sample_messages(MESSAGES, seed=11)]
    unique = list({m.message_id: (m, i) for m, i in records}.values())
    pair = []
    built = []
    for name in ("whoosh", "opensearch"):
        one = Built(settings_for(name, tmp_path_factory.mktemp(f"parity-{name}")))
        built.append(one)
        pair.append(one.engine(unique))
    yield pair[0], pair[1]
    for one in built:
        one.close()


@pytest.mark.opensearch
@pytest.mark.parametrize("query", queries())
def test_same_totals_and_facets(engines: tuple[Engine, Engine], query: str) -> None:
    whoosh, opensearch = engines
    request = SearchRequest(query=query, sort="-date", page_size=20)
    left, right = whoosh.search(request), opensearch.search(request)
    assert left.total == right.total, query
    assert {h.message_id for h in left.hits} == {h.message_id for h in right.hits}
    for name, values in left.facets.items():
        assert {(v.value, v.count) for v in values} == {
            (v.value, v.count) for v in right.facets[name]}, (query, name)
