"""The OpenSearch backend's snippets are Whoosh's: the same fragments, the same marks.

``backends/opensearch/highlight.py`` writes Whoosh's ContextFragmenter and fragment scoring
out over ``analysis/``'s tokens (that backend must not import Whoosh); here, where Whoosh
may be imported, its output is compared with ``whoosh.highlight`` itself, as the Whoosh
backend calls it. No cluster needed.
"""

from __future__ import annotations

from whoosh import highlight as wh

from backends.opensearch.highlight import marked
from backends.whoosh.reader import _PartsFormatter
from backends.whoosh.schema import EXACT_ANALYZER as WHOOSH_EXACT
from tests.search.sampled import sample_messages


def test_snippets_are_cut_as_whooshs_fragmenter_cuts_them() -> None:
    fragmenter = wh.ContextFragmenter(maxchars=240, surround=70)
    compared = 0
    for message in sample_messages(200, seed=5):
        text = message.original_text
        for words in ({"governance"}, {"icann", "iana"}, {"the", "internet", "example"}):
            want = wh.highlight(text, words, WHOOSH_EXACT, fragmenter, _PartsFormatter(),
                                top=2, mode="index")
            got = marked(text, words, set(), None)
            if got is None:
                assert not any(hit for _, hit in want), (text, words)
                continue
            compared += 1
            assert got == want, (text, words)
    assert compared > 50
