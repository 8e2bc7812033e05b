"""backends/whoosh/codec.py stores exactly what whoosh3 stores, and Whoosh reads it back unchanged.

The same documents go into two indexes, one per codec; every posting of every term
(id, weight, value), every block statistic the matcher reports, skip_to, and Whoosh's
own searches (phrases, prefixes, ranges, sorting) must come out the same.
"""

from __future__ import annotations

import random
from itertools import accumulate
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from whoosh import fields, formats
from whoosh import index as windex
from whoosh import query as wq
from whoosh.codec.whoosh3 import W3LeafMatcher
from whoosh.writing import SegmentWriter

from backends.whoosh.codec import (
    GovCodec,
    GovLeafMatcher,
    decode_positions,
    read_postings,
    term_postings,
)
from backends.whoosh.schema import EXACT_ANALYZER, SCHEMA, with_stems
from index.document import to_document
from tests.search.sampled import identity, sample_messages

MESSAGES = sample_messages(500, seed=41)


def _postings(reader: Any, fieldname: str, btext: bytes) -> list[tuple[int, float, Any]]:
    matcher = reader.postings(fieldname, btext)
    found = []
    while matcher.is_active():
        found.append((matcher.id(), matcher.weight(), matcher.value()))
        matcher.next()
    return found


def _both(tmp_path: Path, schema: fields.Schema, documents: list[dict[str, Any]], **codec: Any):
    readers = []
    for name, kind in (("whoosh3", None), ("govmail", GovCodec(**codec))):
        directory = tmp_path / name
        directory.mkdir()
        ix = windex.create_in(str(directory), schema)
        writer = ix.writer(codec=kind) if kind else ix.writer()
        for document in documents:
            writer.add_document(**with_stems(document))
        writer.commit()
        readers.append(ix.reader())
    return readers


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Any]:
    documents = [to_document(m, identity(m)) for m in MESSAGES]
    return _both(tmp_path_factory.mktemp("codec"), SCHEMA, documents)


def test_every_posting_of_every_term_is_the_same(archive: tuple[Any, Any]) -> None:
    whoosh3, govmail = archive
    assert isinstance(govmail.segment().codec(), GovCodec)
    terms = 0
    for fieldname in whoosh3.indexed_field_names():
        assert list(govmail.lexicon(fieldname)) == list(whoosh3.lexicon(fieldname))
        for btext in whoosh3.lexicon(fieldname):
            expected = _postings(whoosh3, fieldname, btext)
            assert _postings(govmail, fieldname, btext) == expected, (fieldname, btext)
            ids, weights = term_postings(govmail, fieldname, btext)
            assert ids.tolist() == [p[0] for p in expected]
            if weights is None:
                assert {p[1] for p in expected} == {1.0}
            else:
                assert weights.tolist() == [p[1] for p in expected]
            terms += 1
    assert terms > 5000


def test_block_statistics_and_skipping_agree(archive: tuple[Any, Any]) -> None:
    whoosh3, govmail = archive
    rng = random.Random(3)
    long_lists = 0
    for fieldname in ("original", "quoted", "subject", "list", "author", "date"):
        for btext in whoosh3.lexicon(fieldname):
            theirs = whoosh3.postings(fieldname, btext)
            ours = govmail.postings(fieldname, btext)
            assert type(ours) is GovLeafMatcher and type(theirs) is W3LeafMatcher
            ids = [p[0] for p in _postings(whoosh3, fieldname, btext)]
            long_lists += len(ids) > 128
            for target in sorted(rng.sample(ids, min(5, len(ids)))) + [ids[-1] + 1]:
                if not theirs.is_active():
                    break
                theirs.skip_to(target)
                ours.skip_to(target)
                assert ours.is_active() == theirs.is_active()
                if theirs.is_active():
                    assert (ours.id(), ours.weight(), ours.value()) == (
                        theirs.id(),
                        theirs.weight(),
                        theirs.value(),
                    )
                    assert ours.block_max_id() == theirs.block_max_id()
                    assert ours.block_min_id() == theirs.block_min_id()
                    assert ours.block_max_weight() == theirs.block_max_weight()
                    assert ours.block_min_length() == theirs.block_min_length()
                    assert ours.block_max_length() == theirs.block_max_length()
    assert long_lists > 20


def _queries(reader: Any) -> list[wq.Query]:
    """Phrases, prefixes, wildcards, ranges and compounds over terms the archive has."""
    common = [t.decode() for _, t in reader.most_frequent_terms("original", number=40)]
    subject = [t.decode() for _, t in reader.most_frequent_terms("subject", number=5)]
    first, second = common[10], common[25]
    words = [t.text for t in EXACT_ANALYZER(MESSAGES[7].original_text, mode="query")]
    return [
        wq.Phrase("original", words[3:6]),
        wq.Phrase("original", [words[3], words[6]], slop=4),
        wq.Prefix("original", first[:3]),
        wq.Wildcard("subject", f"*{subject[0][1:3]}*"),
        wq.DateRange("date", None, None),
        wq.And([wq.Term("original", first), wq.Not(wq.Term("original", second))]),
        wq.Or([wq.Term("subject", subject[1]), wq.Term("original", common[30])]),
    ]


def test_whooshs_own_searches_find_and_score_the_same(archive: tuple[Any, Any]) -> None:
    from whoosh.searching import Searcher

    whoosh3, govmail = archive
    matched = 0
    for n, query in enumerate(_queries(whoosh3)):
        found = []
        for reader in (whoosh3, govmail):
            searcher = Searcher(reader)
            results = searcher.search(query, limit=None)
            dated = searcher.search(query, limit=30, sortedby="date", reverse=True)
            found.append(
                ([(hit.docnum, hit.score) for hit in results], [hit.docnum for hit in dated])
            )
        assert found[0] == found[1], query
        matched += bool(found[0][0])
        assert n != 0 or found[0][0], "a phrase from a message should match"
    assert matched >= 5


@pytest.mark.parametrize("compression", [0, 3])
@pytest.mark.parametrize("count", [1, 2, 3, 127, 128, 129, 256, 300])
def test_block_edges_weights_and_compression(tmp_path: Path, count: int, compression: int) -> None:
    schema = fields.Schema(
        key=fields.ID(stored=True), body=fields.TEXT(phrase=True), tag=fields.KEYWORD
    )
    documents = []
    for n in range(400):
        words = ["filler"] * (1 + n % 3)
        if (
            n % max(1, 400 // count) == 0
            and sum(1 for d in documents if "every" in d["body"]) < count
        ):
            words += ["every"] + ["twice", "twice"] + ["varied"] * (1 + n % 4)
        documents.append({"key": str(n), "body": " ".join(words), "tag": f"t{n % 7}"})
    whoosh3, govmail = _both(tmp_path, schema, documents, compression=compression)
    for fieldname in ("key", "body", "tag"):
        for btext in whoosh3.lexicon(fieldname):
            expected = _postings(whoosh3, fieldname, btext)
            assert _postings(govmail, fieldname, btext) == expected, btext
            terminfo = govmail._terms.term_info(fieldname, btext)
            ids, weights = read_postings(govmail._terms._postfile, *terminfo.extent())
            assert ids.tolist() == [p[0] for p in expected]
            assert (weights.tolist() if weights is not None else [1.0] * len(ids)) == [
                p[1] for p in expected
            ]


def test_a_merge_of_whoosh3_and_govmail_segments_reads_the_same(tmp_path: Path) -> None:
    messages = sample_messages(300, seed=8)
    documents = [to_document(m, identity(m)) for m in messages]
    directory = tmp_path / "mixed"
    directory.mkdir()
    ix = windex.create_in(str(directory), SCHEMA)
    for part, codec in ((documents[:150], None), (documents[150:], GovCodec())):
        writer = ix.writer(codec=codec) if codec else ix.writer()
        for document in part:
            writer.add_document(**with_stems(document))
        writer.commit(merge=False)
    before = ix.reader()
    assert len(before.leaf_readers()) == 2
    expected = {
        (fieldname, btext): [(d, w) for d, w, _ in _postings(before, fieldname, btext)]
        for fieldname in ("original", "subject", "author")
        for btext in before.lexicon(fieldname)
    }
    writer = SegmentWriter(ix, codec=GovCodec())
    writer.commit(optimize=True)
    after = ix.reader()
    assert isinstance(after.segment().codec(), GovCodec)
    for (fieldname, btext), postings in expected.items():
        assert [(d, w) for d, w, _ in _postings(after, fieldname, btext)] == postings


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(0, 70_000), max_size=60))
def test_positions_decode_as_whoosh_decodes_them(gaps: list[int]) -> None:
    positions = list(accumulate(gaps))
    encoded = formats.Positions().encode(positions)
    assert decode_positions(encoded) == formats.Positions().decode_positions(encoded)
    assert decode_positions(encoded) == positions
