"""Facet counts equal a brute-force count over the records, for 50 random queries.

The archive is 600 generated messages (Zipf authors, cross-posts, quotes). Each
query is one or two words drawn from the archive plus up to two random facet filters;
the expected result set is computed from the records with the same analyzer the index
uses, then every facet of every query is compared whole.
"""

from __future__ import annotations

import random
from collections import Counter

import pytest

from analysis.lang import detect
from analysis.stem import stemmable, stemmers
from analysis.text import tokenize
from backends.whoosh.columns import FACET_NAMES
from core.config import Settings
from core.records import Message
from core.results import SearchRequest
from search.engine import Engine
from tests.search.sampled import identity, sample_messages, write_index

ARCHIVE = 600
QUERIES = 50


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Message], Engine]:
    messages = sample_messages(ARCHIVE, seed=11)
    index_dir = tmp_path_factory.mktemp("facets") / "index"
    write_index(index_dir, messages)
    return messages, Engine(Settings(index_dir=index_dir))


def facet_values(message: Message) -> dict[str, set[str]]:
    who = identity(message)
    date = message.date
    return {
        "author": {who.name},
        "list": {name.lower() for name in message.lists},
        "year": {f"{date.year:04d}"} if date else set(),
        "month": {f"{date.year:04d}-{date.month:02d}"} if date else set(),
        "quoted_author": {q.author.replace(",", " ") for q in message.quotes if q.author},
        "group": {who.group} if who.group else set(),
        "cites": {v for c in message.cites if c.where == "original"
                  for v in (c.document, f"{c.document}/{c.part}" if c.part else c.document)},
        "mentions": set(message.mentions),
        "lang": {detect(f"{message.subject or ''}\n{message.original_text or ''}")},
    }


def words_of(text: str, lang: str | None = None) -> set[str]:
    """A text's exact forms and, given its language, its tagged stems (what a word can hit)."""
    found = set()
    for token in tokenize(text):
        found.add(token.text)
        if lang is not None and stemmable(token.text, token.kind):
            found.add(stemmers().stem(token.text, lang))
    return found


def word_matches(word: str, text: set[str], languages: tuple[str, ...]) -> bool:
    exact = next(iter(words_of(word)))
    return exact in text or any(s in text for s in stemmers().stems(exact, languages))


def random_query(
    rng: random.Random, messages: list[Message], values: list[dict[str, set[str]]]
) -> tuple[list[str], dict[str, tuple[str, ...]]]:
    source = rng.choice(messages)
    plain = [w for w in source.original_text.split() if w.isalpha() and len(w) > 3]
    plain = [w for w in plain if len(words_of(w)) == 1]
    words = rng.sample(plain, min(len(plain), rng.choice((1, 1, 2))))
    filters: dict[str, tuple[str, ...]] = {}
    own = values[messages.index(source)]
    names = [n for n in ("author", "list", "year", "quoted_author", "group") if own[n]]
    for name in rng.sample(names, min(len(names), rng.choice((0, 1, 2)))):
        # The source's own value (so most queries find mail), sometimes OR another.
        seen = sorted({v for vals in values for v in vals[name]})
        chosen = {rng.choice(sorted(own[name]))}
        if rng.random() < 0.5:
            chosen.add(rng.choice(seen))
        filters[name] = tuple(sorted(chosen))
    return words, filters


def test_facet_counts_equal_brute_force(generated: tuple[list[Message], Engine]) -> None:
    messages, engine = generated
    values = [facet_values(m) for m in messages]
    languages = tuple(sorted({v for vals in values for v in vals["lang"]}))
    texts = [words_of(m.original_text, next(iter(v["lang"])))
             | words_of(m.subject, next(iter(v["lang"]))) for m, v in zip(messages, values, strict=True)]
    rng = random.Random(3)
    nonempty = 0
    for _ in range(QUERIES):
        words, filters = random_query(rng, messages, values)
        matched = [
            i for i in range(len(messages))
            if all(word_matches(w, texts[i], languages) for w in words)
            and all(values[i][name] & set(chosen) for name, chosen in filters.items())
        ]
        expected: dict[str, Counter[str]] = {name: Counter() for name in FACET_NAMES}
        for i in matched:
            for name in FACET_NAMES:
                expected[name].update(values[i][name])
        results = engine.search(SearchRequest(query=" ".join(words), filters=filters,
                                              page_size=5))
        got = {name: Counter({v.value: v.count for v in vs if v.count})
               for name, vs in results.facets.items()}
        assert (results.total, got) == (len(matched), expected), (words, filters)
        nonempty += bool(matched)
    # The comparison means something only if most queries find mail.
    assert nonempty >= QUERIES * 0.6


def test_every_message_counts_once_per_facet_value(
    generated: tuple[list[Message], Engine]
) -> None:
    messages, engine = generated
    results = engine.search(SearchRequest(query="", page_size=1))
    assert results.total == ARCHIVE
    years = {v.value: v.count for v in results.facets["year"]}
    assert years == dict(Counter(f"{m.date.year:04d}" for m in messages if m.date))
    assert [v.value for v in results.facets["month"]] == sorted(
        {f"{m.date.year:04d}-{m.date.month:02d}" for m in messages if m.date}
    )
