"""The benchmark's phrases are runs of truly adjacent words, so each one matches its source."""

from __future__ import annotations

import random

from bench.queries import make_queries


def test_phrases_are_adjacent_words_of_a_message() -> None:
    rng = random.Random(3)
    vocabulary = ["".join(rng.choice("bcdfghklmnprstvz") for _ in range(6)) for _ in range(300)]
    # Short words between long ones are where a 3+-letter filter used to glue a phrase
    # together out of words that were never next to each other.
    short = ["is", "of", "a", "to", "42"]
    docs = [
        {"original": " ".join(rng.choice(vocabulary + short * 30) for _ in range(60))}
        for _ in range(150)
    ]
    phrases = make_queries(docs, count=10, phrases=40).phrases
    assert len(phrases) == 40
    texts = [doc["original"] for doc in docs]
    for phrase in phrases:
        assert any(f" {' '.join(phrase)} " in f" {text} " for text in texts), phrase
