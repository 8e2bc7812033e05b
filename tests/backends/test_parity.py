"""Whoosh and OpenSearch answer the same 100 queries with the same totals and facet counts.

The same generated archive (``sample.generator``'s ground truth, 2,000 messages with their
threads and identities) is written through each backend's Store, and a seeded set of the
benchmark's queries (words, pairs, phrases, authors, lists, dates, quoted text) runs on
both. Totals and every facet count must be equal; the top hits of the rankings may differ
(BM25 statistics are per shard in a cluster), so only the sets of ids on a date-sorted page
are compared.

A second set (``ANALYSIS``) checks what the text analysis added, on the same archive plus a
few French messages: exact forms and stems (governance is not government), a quoted word,
a wildcard over the exact forms, CJK bigrams, a URL's parts, quotes: in any case, lang:;
there the snippets of the page must be the same too.

Needs a cluster (``GOVMAIL_OPENSEARCH_URLS``); skipped with the reason without one.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Iterator

import pytest

from core.results import SearchRequest
from search.engine import Engine
from tests.backends.conftest import Built, settings_for
from tests.search.sampled import identity, sample_messages

MESSAGES = 2000
QUERIES = 100
# What the new analysis changed, each against both engines (the sample holds these words,
# the French messages below the French ones).
ANALYSIS = [
    "governance", "government", "governments", '"governance"', "governanc*",
    '"governance" government', "各位", "民间社会", "社会", "example.net", "example",
    "address-transfers", '"address-transfers.example.net/7134"', "https",
    'quotes:"léa délégué"', "quotes:zanele", "quotes:jose", "lang:fr", "lang:en governance",
    "gouvernance", "gouvernements", "gouvernement lang:fr", '"la gouvernance"',
]
FRENCH = [
    "La gouvernance de l'internet demande que les gouvernements et la société civile "
    "travaillent ensemble sur les noms de domaine et la sécurité du réseau.",
    "Le gouvernement français propose une coopération renforcée entre les acteurs de la "
    "gouvernance, avec un rapport public avant la prochaine réunion du forum.",
    "Nous remercions les délégués pour leurs contributions sur la transition et sur les "
    "droits de l'homme dans la gouvernance numérique mondiale.",
]


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
    sampled = sample_messages(MESSAGES, seed=11)
    french = [dataclasses.replace(sampled[n], message_id=f"<french-{n}@parity.example>",
                                  original_text=text, thread_id=None)
              for n, text in enumerate(FRENCH)]
    records = [(m, identity(m)) for m in [*sampled, *french]]
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


@pytest.mark.opensearch
@pytest.mark.parametrize("query", ANALYSIS)
def test_same_answers_under_the_text_analysis(engines: tuple[Engine, Engine], query: str) -> None:
    whoosh, opensearch = engines
    request = SearchRequest(query=query, sort="-date", page_size=20)
    left, right = whoosh.search(request), opensearch.search(request)
    assert left.total, f"{query}: the sample must hold it, or the test shows nothing"
    assert left.total == right.total, query
    assert {h.message_id for h in left.hits} == {h.message_id for h in right.hits}
    # Both mark the same words of the same fragments (the OpenSearch backend marks the
    # stored text with the same analysis, cut as Whoosh's fragmenter cuts it).
    snippets = {h.message_id: (h.snippet_field, h.snippet_parts) for h in right.hits}
    for hit in left.hits:
        assert (hit.snippet_field, hit.snippet_parts) == snippets[hit.message_id], (
            query, hit.message_id)
    for name, values in left.facets.items():
        assert {(v.value, v.count) for v in values} == {
            (v.value, v.count) for v in right.facets[name]}, (query, name)
