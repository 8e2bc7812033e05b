"""backends/whoosh/matching.py finds, counts and ranks exactly what Whoosh's collectors do.

The index is a generated archive written in three segments, with deletions in two of
them, so offsets, deleted documents and per-segment statistics are all exercised.
Each query runs through both paths: the set-at-a-time one and Whoosh's collectors
(``Engine._collect``), and the whole outcome is compared.
"""

from __future__ import annotations

import random
from typing import Any

import pytest
from whoosh import index as windex
from whoosh import query as wq

from backends.whoosh import matching
from backends.whoosh.codec import GovCodec, term_postings
from backends.whoosh.schema import SCHEMA, TEXT_ANALYZER, with_stems
from backends.whoosh.translate import to_whoosh
from core.config import Settings
from core.records import Message
from index.document import to_document
from search.engine import Engine
from search.facets import filter_query as neutral_filters
from search.query import parse as neutral_parse
from tests.search.sampled import identity, sample_messages

ARCHIVE = 900
DELETED = 25


class _Parsed:
    """A parsed query as the Whoosh backend runs it."""

    def __init__(self, text: str) -> None:
        parsed = neutral_parse(text)
        self.text = parsed.text
        self.query = to_whoosh(parsed.query)


def parse(text: str) -> _Parsed:
    return _Parsed(text)


def filter_query(filters: dict[str, tuple[str, ...]]) -> Any:
    found = neutral_filters(filters)
    return None if found is None else to_whoosh(found)


@pytest.fixture(scope="module", params=["govmail", "whoosh3"])
def built(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[list[Message], Engine]:
    """The archive in govmail's postings format (backends/whoosh/codec.py) and in whoosh3's own,
    which indexes written before that format still have."""
    messages = sample_messages(ARCHIVE, seed=23)
    index_dir = tmp_path_factory.mktemp("matching") / "index"
    index_dir.mkdir(parents=True)
    ix = windex.create_in(str(index_dir), SCHEMA)
    thirds = [messages[:300], messages[300:600], messages[600:]]
    for number, part in enumerate(thirds):
        writer = ix.writer(codec=GovCodec() if request.param == "govmail" else None)
        if number:
            # Deletions in earlier segments: their postings still list the documents.
            for message in messages[(number - 1) * 300 : (number - 1) * 300 + DELETED]:
                writer.delete_by_term("message_id", message.message_id)
        for message in part:
            writer.add_document(**with_stems(to_document(message, identity(message))))
        writer.commit(merge=False)
    engine = Engine(Settings(index_dir=index_dir))
    assert len(engine.reader._searcher.reader().leaf_readers()) == 3
    return messages, engine


def words_of(text: str) -> list[str]:
    return [
        w
        for w in text.split()
        if w.isalpha() and len(w) > 3 and len([t for t in TEXT_ANALYZER(w)]) == 1
    ]


def queries(messages: list[Message]) -> list[str]:
    rng = random.Random(5)
    found = ["", "*", "list:" + messages[0].lists[0], "from:" + (messages[3].author.name or "x")]
    found += [f'from:"{m.author.name}"' for m in messages[:40] if m.author.name][:5]
    for _ in range(60):
        words = words_of(rng.choice(messages).original_text)
        if len(words) < 3:
            continue
        found.append(" ".join(rng.sample(words, rng.randint(1, 3))))
        start = rng.randrange(len(words) - 2)
        found.append('"' + " ".join(words[start : start + 3]) + '"')
        found.append(" ".join(words[start : start + 8]))  # the phrase-boosted AndMaybe
        found.append(f"{words[0]} OR {words[1]}")
        found.append(f"{words[0]} NOT {words[1]}")
        found.append(f"subject:{words[2]} OR quoted:{words[0]}")
    return found


def both(engine: Engine, text: str, sort: str, filters: Any = None) -> tuple[Any, Any]:
    parsed = parse(text)
    if not parsed.text and sort == "relevance":
        sort = "-date"
    searcher = engine.reader._searcher
    total, top, docs = engine.reader._collect(searcher, parsed.query, sort, 20, filters)
    fast = matching.run(searcher, matching.match_cache(), parsed.query, filters, sort, 20)
    whoosh = (total, docs, [d for d, _ in top], [s for _, s in top])
    ours = (fast.total, fast.docnums(), [d for d, _ in fast.top], [s for _, s in fast.top])
    return whoosh, ours


@pytest.mark.parametrize("sort", ["relevance", "-date", "date"])
def test_same_matches_order_and_scores_as_whoosh(
    built: tuple[list[Message], Engine], sort: str
) -> None:
    messages, engine = built
    texts = queries(messages)
    supported = [t for t in texts if matching.supported(parse(t).query)]
    # Everything but the lone star (a fielded Every) is evaluated set-at-a-time.
    assert len(supported) >= len(texts) - 1
    matched = 0
    for text in supported:
        (total, docs, order, scores), (f_total, f_docs, f_order, f_scores) = both(
            engine, text, sort
        )
        assert (f_total, f_docs, f_order) == (total, docs, order), text
        if sort == "relevance" and parse(text).text:
            assert f_scores == pytest.approx(scores, rel=1e-12), text
        matched += total > 0
    assert matched >= len(supported) * 0.8


def test_filters_and_deletions(built: tuple[list[Message], Engine]) -> None:
    messages, engine = built
    deleted = {m.message_id for m in messages[:DELETED]}
    lists = sorted({name.lower() for m in messages for name in m.lists})
    filters = filter_query({"list": tuple(lists[:2])})
    assert filters is not None and matching.supported(filters)
    for text in queries(messages)[:80]:
        if not matching.supported(parse(text).query):
            continue
        whoosh, ours = both(engine, text, "relevance", filters)
        assert ours[:3] == whoosh[:3], text
    everything = matching.run(
        engine.reader._searcher, matching.match_cache(), parse("").query, None, "-date", 0
    )
    assert everything.total == ARCHIVE - 2 * DELETED
    stored = {engine.reader._searcher.stored_fields(d)["message_id"] for d in everything.docnums()}
    assert stored & deleted == set()


def test_postings_read_as_arrays_equal_what_whooshs_matcher_reads(
    built: tuple[list[Message], Engine],
) -> None:
    _, engine = built
    checked = 0
    for reader, _ in engine.reader._searcher.reader().leaf_readers():
        for fieldname in ("original", "subject", "list", "author"):
            for btext in list(reader.lexicon(fieldname))[::7]:
                matcher = reader._terms.matcher(fieldname, btext, reader.schema[fieldname].format)
                ids, weights = [], []
                while matcher.is_active():
                    ids.append(matcher.id())
                    weights.append(matcher.weight())
                    matcher.next()
                found_ids, found_weights = term_postings(reader, fieldname, btext)
                assert found_ids.tolist() == ids, btext
                if found_weights is None:
                    assert set(weights) == {1.0}, btext
                else:
                    assert found_weights.tolist() == weights, btext
                checked += 1
    assert checked > 500


@pytest.mark.parametrize(
    "text", ["date:2010", "governan*", "subject:[a to c]", "quoted:*", "governan?e"]
)
def test_other_queries_go_to_whoosh(text: str) -> None:
    assert matching.supported(parse(text).query) is False


def test_a_phrase_on_a_field_without_positions_goes_to_whoosh() -> None:
    from whoosh import query as wq

    assert matching.supported(wq.Phrase("author", ["jane", "doe"])) is False
    assert matching.supported(wq.Phrase("author_text", ["jane", "doe"])) is True


def test_engine_pages_match_whoosh_pages(built: tuple[list[Message], Engine]) -> None:
    from core.results import SearchRequest

    messages, engine = built
    text = " ".join(words_of(messages[10].original_text)[:1])
    first = engine.search(SearchRequest(text, page=1, page_size=5, with_facets=False))
    second = engine.search(SearchRequest(text, page=2, page_size=5, with_facets=False))
    parsed = parse(text)
    _, top, _ = engine.reader._collect(engine.reader._searcher, parsed.query, "relevance", 10, None)
    ids = [engine.reader._searcher.stored_fields(d)["message_id"] for d, _ in top]
    assert [h.message_id for h in first.hits + second.hits] == ids


def test_highlighting_analysis_takes_the_fused_loop_and_yields_the_chains_tokens(
    built: tuple[list[Message], Engine],
) -> None:
    from whoosh.analysis import CompositeAnalyzer

    chain = CompositeAnalyzer(*TEXT_ANALYZER.items)
    messages, _ = built
    texts = [m.original_text for m in messages[:300]] + [
        "Délégué à l'ICANN: governments' Über-Test, I'm a DNSSEC-signed zone.",
        "",
        "The the THE 12 3 ab",
    ]

    def tokens(analyzer: Any, text: str) -> list[tuple[str, bool, int, int]]:
        return [
            (t.text, t.stopped, t.startchar, t.endchar)
            for t in analyzer(text, chars=True, mode="query", removestops=False)
        ]

    # How whoosh.highlight calls it: the one-loop path, not the generator chain.
    called = TEXT_ANALYZER(texts[0], chars=True, mode="query", removestops=False)
    assert called.gi_code.co_name == "_fused"
    for text in texts:
        assert tokens(TEXT_ANALYZER, text) == tokens(chain, text), text
    assert tokens(TEXT_ANALYZER, texts[-3])[:3] == [
        ("delegu", False, 0, 7),
        ("a", True, 8, 9),
        ("l", True, 10, 11),
    ]


@pytest.mark.parametrize(
    ("text", "lead"),
    [
        ("word " * 2000, (("word " * 47 + "word …", False),)),
        (" \n" * 1000 + "late start", (("late start", False),)),
        ("x" * 5000, (("x" * 240 + " …", False),)),
        ("", ()),
    ],
)
def test_lead_reads_only_the_head_but_cuts_as_before(text: str, lead: Any) -> None:
    from backends.whoosh.reader import lead as _lead

    assert _lead(text) == lead


def test_length_column_read_whole_equals_whoosh_per_document(
    built: tuple[list[Message], Engine],
) -> None:
    _messages, engine = built
    searcher = engine.reader._searcher
    names = [n for n in SCHEMA.names() if SCHEMA[n].scorable] + ["message_id"]
    checked = 0
    for reader, _offset in searcher.reader().leaf_readers():
        size = reader.doc_count_all()
        for name in names:
            per_document = [reader.doc_field_length(d, name, 1) or 0 for d in range(size)]
            whole = matching._length_column(reader, name, size)
            if whole is None:  # no length column (unscorable field): the per-document path
                assert not SCHEMA[name].scorable
                continue
            assert whole.tolist() == per_document
            checked += 1
    # Every scorable field, the stem sub-fields among them, in each of the three segments.
    assert checked == 3 * (len(names) - 1)
    for name in ("original", "subject", "quoted"):
        assert matching.avg_field_length(searcher, name) == searcher.avg_field_length(name)


def test_facet_counts_over_segments_with_deletions_equal_whooshs_term_counts(
    built: tuple[list[Message], Engine],
) -> None:
    """The facet columns joined over three segments (two with deletions) count what each
    facet term's own postings say, for the matches of real queries."""
    from backends.whoosh.columns import COLUMNS, FacetCounter

    messages, engine = built
    searcher = engine.reader._searcher
    counter = FacetCounter()
    texts = ["", *queries(messages)[:40:4]]
    for text in texts:
        matched = matching.run(
            searcher, matching.match_cache(), parse(text).query, None, "-date", 0
        )
        counts = counter.count(searcher, matched.matches, tuple(COLUMNS))
        matches = matched.docnums()
        for name, fieldname in COLUMNS.items():
            expected = {}
            for btext in searcher.lexicon(fieldname):
                docs = set(searcher.docs_for_query(wq.Term(fieldname, btext.decode())))
                if docs & matches:
                    expected[btext.decode()] = len(docs & matches)
            assert dict(counts[name]) == expected, (text, name)
    assert counter.count(searcher, [], ("author",)) == {"author": {}}
