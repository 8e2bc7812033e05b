"""Positions stored as arrays in the postings block (layout 2) and phrases read from them.

A block of a positions field holds its postings' positions as two arrays (counts and
gaps), not one pickle a posting; segments of layout 1 and of whoosh3 stay readable, an
index mixing all three answers phrases as Whoosh does, and a merge rewrites them in
layout 2 with the same answers. A layout this govmail does not know is refused.
"""

from __future__ import annotations

import pickle
import random
from itertools import accumulate
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from whoosh import formats
from whoosh import index as windex
from whoosh import query as wq
from whoosh.writing import SegmentWriter

from backends.whoosh import codec as govcodec
from backends.whoosh import matching
from backends.whoosh.codec import (
    LAYOUT_ARRAYS,
    LAYOUT_VALUES,
    POSITIONS_ARRAYS,
    VALUES_ZLIB,
    GovCodec,
    pickled_gaps,
    read_positions_block,
    term_info,
    term_positions,
)
from backends.whoosh.schema import SCHEMA, with_stems
from core.config import Settings
from core.errors import IndexFormatError
from index.document import to_document
from search.engine import Engine
from tests.backends.whoosh.test_matching import parse, words_of
from tests.search.sampled import identity, sample_messages


def _codec(layout: int | None) -> GovCodec | None:
    if layout is None:
        return None  # whoosh3's own codec
    found = GovCodec()
    found.layout = layout
    return found


def _write(ix: Any, documents: list[dict[str, Any]], layout: int | None, **commit: Any) -> None:
    codec = _codec(layout)
    writer = ix.writer(codec=codec) if codec else ix.writer()
    for document in documents:
        writer.add_document(**with_stems(document))
    writer.commit(**commit)


def _blocks(reader: Any, fieldname: str, btext: bytes) -> list[tuple[int, int, bytes]]:
    """(count, flags, inflated values part) of each block of a term in a GovCodec segment."""
    info = term_info(reader, fieldname, btext)
    offset, length = info.extent()
    data = reader._terms._postfile.get(offset, length[0] if isinstance(length, tuple) else length)
    found = []
    at = 4
    while at < len(data):
        next_at, last, (count, *_, flags, postings_size) = govcodec._head(data, at)
        values = data[at + govcodec._HEAD + postings_size : next_at]
        if flags & VALUES_ZLIB:
            import zlib

            values = zlib.decompress(values)
        found.append((count, flags, values))
        at = next_at
        if last:
            break
    return found


def test_positions_are_stored_as_arrays_in_the_block(tmp_path: Path) -> None:
    messages = sample_messages(400, seed=3)
    ix = windex.create_in(str(tmp_path), SCHEMA)
    _write(ix, [to_document(m, identity(m)) for m in messages], LAYOUT_ARRAYS)
    reader = ix.reader()
    assert reader.segment().codec().layout == LAYOUT_ARRAYS
    assert type(SCHEMA["original"].format) is formats.Positions
    # The most frequent terms: several blocks each, so block boundaries are crossed.
    terms = sorted(
        ((info.doc_frequency(), btext) for btext, info in govcodec.field_terms(reader, "original")),
        reverse=True,
    )[:20]
    decode = formats.Positions().decode_positions
    blocks = 0
    for _, btext in terms:
        expected: list[list[int]] = []
        matcher = reader.postings("original", btext)
        while matcher.is_active():
            expected.append(decode(matcher.value()))
            matcher.next()
        got: list[list[int]] = []
        for count, flags, values in _blocks(reader, "original", btext):
            assert flags & POSITIONS_ARRAYS
            # No per-posting pickle left in the block.
            assert b"\x80\x02" not in values
            counts, gaps = read_positions_block(values, count)
            assert len(counts) == count and counts.sum() == len(gaps)
            for plist in np.split(gaps, np.cumsum(counts)[:-1]):
                got.append(list(accumulate(plist.tolist())))
            blocks += 1
        assert got == expected, btext
    assert blocks > len(terms)
    # A field without positions keeps its values as before.
    author = next(iter(reader.lexicon("author")))
    assert not any(flags & POSITIONS_ARRAYS for _, flags, _ in _blocks(reader, "author", author))


def _phrases(messages: list[Any], count: int) -> list[Any]:
    rng = random.Random(17)
    found = []
    while len(found) < count:
        words = words_of(rng.choice(messages).original_text)
        if len(words) < 4:
            continue
        start = rng.randrange(len(words) - 3)
        found.append('"' + " ".join(words[start : start + rng.randint(2, 4)]) + '"')
    queries: list[Any] = [parse(text).query for text in found]
    # Slop (Whoosh's SpanNear path; the query language has none), and a word repeated.
    queries += [wq.Phrase("original", t.strip('"').split(), slop=3) for t in found[:5]]
    words = found[0].strip('"').split()
    queries.append(wq.Phrase("original", [words[0], words[1], words[0]]))
    return queries


def _answers(engine: Engine, texts: list[Any]) -> dict[str, tuple[list[str], list[str]]]:
    """query -> (message ids the fast path finds, message ids Whoosh's collectors find)."""
    searcher = engine.reader._searcher
    found = {}
    for q in texts:
        text = repr(q)
        assert matching.supported(q), text
        fast = matching.run(searcher, matching.match_cache(), q, None, "relevance", 1000)
        _, top, _ = engine.reader._collect(searcher, q, "relevance", 1000, None)
        found[text] = tuple(
            sorted(searcher.stored_fields(d)["message_id"] for d, _ in hits)
            for hits in (fast.top, top)
        )
    return found


def test_a_mixed_index_answers_phrases_the_same_before_and_after_a_merge(tmp_path: Path) -> None:
    messages = sample_messages(600, seed=29)
    documents = [to_document(m, identity(m)) for m in messages]
    ix = windex.create_in(str(tmp_path), SCHEMA)
    for number, layout in enumerate((None, LAYOUT_VALUES, LAYOUT_ARRAYS)):
        _write(ix, documents[number * 200 : (number + 1) * 200], layout, merge=False)
    writer = ix.writer(codec=_codec(LAYOUT_ARRAYS))
    for message in messages[190:210]:  # deletions across the first two segments
        writer.delete_by_term("message_id", message.message_id)
    writer.commit(merge=False)
    codecs = [type(r.segment().codec()) for r, _ in ix.reader().leaf_readers()]
    assert len(codecs) == 3 and codecs[1] is codecs[2] is GovCodec and codecs[0] is not GovCodec
    texts = _phrases(messages, 40)

    before = _answers(Engine(Settings(index_dir=tmp_path)), texts)
    for text, (fast, whoosh) in before.items():
        assert fast == whoosh, text
    # words_of drops short words, so not every phrase is adjacent in its message.
    assert sum(1 for fast, _ in before.values() if fast) >= len(texts) * 0.5

    SegmentWriter(ix, codec=GovCodec()).commit(optimize=True)
    (merged,) = [r for r, _ in ix.reader().leaf_readers()]
    assert merged.segment().codec().layout == LAYOUT_ARRAYS
    btext = next(iter(merged.lexicon("original")))
    assert all(flags & POSITIONS_ARRAYS for _, flags, _ in _blocks(merged, "original", btext))
    after = _answers(Engine(Settings(index_dir=tmp_path)), texts)
    assert after == before


def test_term_positions_reads_only_the_wanted_documents(tmp_path: Path) -> None:
    messages = sample_messages(300, seed=5)
    ix = windex.create_in(str(tmp_path), SCHEMA)
    _write(ix, [to_document(m, identity(m)) for m in messages], LAYOUT_ARRAYS)
    reader = ix.reader()
    btext, info = max(govcodec.field_terms(reader, "original"), key=lambda t: t[1].doc_frequency())
    every = {}
    matcher = reader.postings("original", btext)
    while matcher.is_active():
        every[matcher.id()] = list(matcher.value_as("positions"))
        matcher.next()
    wanted = np.array(sorted(random.Random(2).sample(sorted(every), 30)) + [299_999])
    docs, positions = term_positions(reader, "original", btext, info, wanted)
    expected = [(d, p) for d in wanted.tolist() if d in every for p in every[d]]
    assert list(zip(docs.tolist(), positions.tolist(), strict=True)) == expected


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.integers(0, 70_000), min_size=1, max_size=12), min_size=1,
                max_size=40))
def test_gaps_round_trip_through_the_block(postings: list[list[int]]) -> None:
    encode = formats.Positions().encode
    values = [encode(list(accumulate(gaps))) for gaps in postings]
    counts, gaps = pickled_gaps(values)
    assert counts.tolist() == [len(p) for p in postings]
    assert gaps.tolist() == [g for p in postings for g in p]
    block = govcodec._positions_block(counts, gaps)
    read_counts, read_gaps = read_positions_block(block, len(values))
    assert read_counts.tolist() == counts.tolist() and read_gaps.tolist() == gaps.tolist()
    # What Whoosh's matcher and a merge get back: the very bytes written.
    assert list(govcodec._encode_gaps(read_counts, read_gaps)) == values
    # Small blocks go through plain Python, to the same bytes.
    small = govcodec._small_gaps(values)
    assert small == (counts.tolist(), gaps.tolist())
    assert govcodec._positions_block(*small) == block
    assert govcodec._positions_lists(block, len(values)) == small


def test_positions_out_of_order_keep_whooshs_values() -> None:
    assert pickled_gaps([formats.Positions().encode([5, 2])]) is None
    assert govcodec._small_gaps([formats.Positions().encode([5, 2])]) is None


def test_an_unknown_layout_is_refused() -> None:
    codec = GovCodec()
    assert GovCodec().layout == LAYOUT_ARRAYS
    # A segment written before layouts existed pickled no layout: it reads as layout 1.
    old = pickle.loads(pickle.dumps(codec).replace(b"layout", b"layouX"))
    assert old.layout == LAYOUT_VALUES
    codec.layout = 99
    with pytest.raises(IndexFormatError, match="layout 99.*govmail rebuild"):
        pickle.loads(pickle.dumps(codec))
