"""The fused text analyzer yields exactly the tokens of the Whoosh chain it replaces."""

from __future__ import annotations

import pickle

from hypothesis import given, settings
from hypothesis import strategies as st
from whoosh.analysis import CompositeAnalyzer

from backends.whoosh.schema import TEXT_ANALYZER, TextAnalyzer

# The chain itself, run generator by generator (CompositeAnalyzer.__call__).
CHAIN = CompositeAnalyzer(*TEXT_ANALYZER.items)

WORDS = st.sampled_from(
    ["the", "of", "a", "I", "Délégué", "delegue", "governments", "Governance", "ICANN's",
     "multi-stakeholder", "3.141", "e-mail", "x", "Über", "naïve", "running", "RUNS", "to",
     "and", "über", "ﬁle", "İstanbul", "ß", "under_score", "wsis.org", "be", "", "  "]
)
TEXTS = st.lists(WORDS, max_size=30).map(" ".join) | st.text(max_size=80)


def tokens(analyzer, text, **kwargs):
    return [
        (t.text, t.stopped, getattr(t, "pos", None), getattr(t, "startchar", None),
         getattr(t, "endchar", None), t.boost)
        for t in analyzer(text, **kwargs)
    ]


@settings(max_examples=300, deadline=None)
@given(TEXTS, st.sampled_from([
    {},
    {"positions": True},
    {"positions": True, "chars": True, "start_pos": 5, "start_char": 7},
    {"chars": True, "mode": "query"},
    {"positions": True, "boosts": True, "mode": "index"},
    {"removestops": False, "positions": True},
    {"removestops": False, "chars": True, "mode": "query"},
    {"removestops": False, "chars": True, "start_char": 3},
    {"no_morph": True},
    {"tokenize": False},
]))
def test_fused_equals_chain(text, kwargs):
    assert tokens(TEXT_ANALYZER, text, **kwargs) == tokens(CHAIN, text, **kwargs)


def test_known_sentence():
    got = [(t.text, t.pos) for t in TEXT_ANALYZER(
        "The Délégués of the governments discussed Internet governance", positions=True)]
    assert got == [("delegu", 1), ("govern", 2), ("discuss", 3), ("internet", 4),
                   ("govern", 5)]


def test_pickles_without_its_cache():
    analyzer = TextAnalyzer()
    list(analyzer("stemming caches words"))
    assert analyzer._stems == {"stemming": "stemm", "caches": "cach", "words": "word"}
    copy = pickle.loads(pickle.dumps(analyzer))
    assert copy._stems == {}
    assert "_stems" not in pickle.dumps(analyzer).decode("latin-1")
    assert [t.text for t in copy("stemming caches words")] == ["stemm", "cach", "word"]
