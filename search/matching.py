"""Set-at-a-time matching: whole posting lists in dicts, combined with C set operations.

Whoosh matches and scores one posting at a time in Python (``next``, ``skip_to``,
``score`` and ``doc_field_length`` per posting: ~85% of a plain query at 100,000
messages, p95 195 ms). For a query tree made of terms joined by And, Or, Not, AndNot
and AndMaybe -- every bare-word query, fielded terms and the facet filters -- this
module reads each term's postings block by block into a ``{docnum: weight}`` dict,
finds the matching documents with set operations (which run in C), and computes
Whoosh's own BM25F score only for those documents, so pages rank exactly as Whoosh
ranks them. For anything else (phrases, ranges, wildcards, dates) :func:`supported`
says no and the engine runs Whoosh's collectors.

Owns the per-segment arrays scoring needs (field lengths, deletions, sort keys of the
date column), cached by segment id like the facet columns. Does not own the query
language (search/query.py) or facet counting (search/facets.py).
"""

from __future__ import annotations

import bisect
import heapq
import pickle
import re
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from itertools import accumulate, islice, repeat
from typing import Any

from whoosh import formats
from whoosh import query as wq
from whoosh.codec.whoosh3 import (
    LENGTHS_COLUMN,
    W3LeafMatcher,
    W3PerDocReader,
    _lenfield,
    byte_to_length,
)
from whoosh.columns import NumericColumn
from whoosh.matching import wrappers
from whoosh.query.spans import Span, bisect_spans
from whoosh.reading import TermNotFound
from whoosh.scoring import BM25F

from search.schema import SCHEMA
from search.segments import SegmentCache

# A tree deeper than this is not a typed query; Whoosh handles it (and recursion is safe).
_MAX_DEPTH = 32


def supported(q: wq.Query, depth: int = 0) -> bool:
    """True when every node of the tree is a term, Every() or a compound we evaluate."""
    if depth > _MAX_DEPTH:
        return False
    if type(q) is wq.Term:
        return isinstance(q.text, str)
    if type(q) is wq.Every:
        return not q.fieldname
    if type(q) is wq.Phrase:
        # A field without positions is Whoosh's to refuse, as before.
        fieldobj = SCHEMA[q.fieldname] if q.fieldname in SCHEMA else None
        return (
            fieldobj is not None
            and bool(fieldobj.format and fieldobj.format.supports("positions"))
            and bool(q.words)
            and all(isinstance(w, str) for w in q.words)
        )
    if type(q) in (wq.And, wq.Or):
        return all(supported(c, depth + 1) for c in q.children())
    if type(q) in (wq.AndNot, wq.AndMaybe):
        return supported(q.a, depth + 1) and supported(q.b, depth + 1)
    if type(q) is wq.Not:
        return supported(q.query, depth + 1)
    return False


@dataclass(slots=True)
class SegmentArrays:
    """What scoring and sorting read per document of one segment, loaded once."""

    size: int
    deleted: frozenset[int]
    lengths: dict[str, list[int]] = field(default_factory=dict)
    dates: list[Any] | None = None
    # Docnums by (date key, docnum): a big result set takes its first N from here.
    by_date: list[int] | None = None

    def field_lengths(self, reader: Any, name: str) -> list[int]:
        found = self.lengths.get(name)
        if found is None:
            found = _length_column(reader, name, self.size)
            if found is None:
                found = [0] * self.size
                for docnum in range(self.size):
                    # A length is one byte; byte_to_length is what Whoosh's scorer reads.
                    found[docnum] = reader.doc_field_length(docnum, name, 1) or 0
            self.lengths[name] = found
        return found

    def date_keys(self, reader: Any) -> list[Any]:
        if self.dates is None:
            column = reader.column_reader("date", translate=False)
            self.dates = [column.sort_key(n) for n in range(self.size)]
        return self.dates

    def date_order(self, reader: Any) -> list[int]:
        if self.by_date is None:
            keys = self.date_keys(reader)
            self.by_date = sorted(range(self.size), key=lambda d: (keys[d], d))
        return self.by_date


# byte -> field length, as W3PerDocReader.doc_field_length decodes it (0 for a zero byte).
_BYTE_LENGTHS = [0] + [byte_to_length(b) for b in range(1, 256)]


def _length_column(reader: Any, name: str, size: int) -> list[int] | None:
    """A segment's field lengths from one read of its length column, or None to go per document.

    Per document, Whoosh's path is five calls and one file read each: 15 of the 65 s of
    50 queries on a fresh 1M-message index, 200 segments each filled once per field. The
    column is one byte a document, written up to the last non-zero length.
    """
    perdoc = getattr(reader, "_perdoc", None)
    if not isinstance(perdoc, W3PerDocReader) or not perdoc.has_column(_lenfield(name)):
        return None
    column = perdoc._cached_reader(_lenfield(name), LENGTHS_COLUMN)
    if not isinstance(column, NumericColumn.Reader) or column._typecode != "B":
        return None
    count = min(column._count, size)
    data = column._dbfile.get(column._basepos, count)
    found = [_BYTE_LENGTHS[b] for b in data]
    found.extend([0] * (size - count))
    return found


def avg_field_length(searcher: Any, name: str) -> float:
    """``searcher.avg_field_length(name) or 1``, once per searcher.

    Whoosh sums the field's length over every segment at each call, and scoring asks once
    per term and segment: 200 x 200 sums a term on a 1M-message index of 200 segments.
    """
    cache = searcher.__dict__.setdefault("_govmail_avgfl", {})
    found = cache.get(name)
    if found is None:
        found = cache[name] = searcher.avg_field_length(name) or 1
    return found


def segment_cache() -> SegmentCache[SegmentArrays]:
    """The engine's cache of SegmentArrays, one per segment."""
    return SegmentCache(_segment_arrays)


def _segment_arrays(reader: Any) -> SegmentArrays:
    deleted = frozenset(reader.deleted_docs_set if reader.has_deletions() else ())
    return SegmentArrays(reader.doc_count_all(), deleted)


# The head of a whoosh3 posting block, a protocol-2 pickle of (ids, weights, values):
# the delta-coded ids as a tuple of small ints, then the weights as None, one float or a
# tuple of floats. The values after it (encoded positions, one nested pickle per posting)
# are ~3/4 of the bytes and most of the unpickling time, and matching never needs them.
_BLOCK_HEAD = re.compile(
    rb"\x80\x02\((?:K.|M..|J....)*t(?:q.|r....)?(?:N|G.{8}|\((?:G.{8})*t(?:q.|r....)?)", re.S
)
# Closes the truncated pickle: values None, build the 3-tuple, stop.
_BLOCK_TAIL = b"N\x87."


def _block(matcher: W3LeafMatcher) -> tuple[Any, Any]:
    """(delta-coded ids, weights) of the matcher's current block, without its positions.

    Reads and inflates only the head of the block (about a fifth of a full read: 20 vs
    90 us per block of 128 postings); a block whose head does not have the expected
    shape (tuples of 3 or fewer postings pickle differently) is read whole, as Whoosh does.
    """
    data = matcher._postfile.get(matcher._dataoffset, matcher._nextoffset - matcher._dataoffset)
    head = data
    if matcher._compression:
        head = zlib.decompressobj().decompress(data, 32 + 14 * matcher._blocklength)
    found = _BLOCK_HEAD.match(head)
    if found is None:
        whole = zlib.decompress(data) if matcher._compression else data
        ids, weights, _ = pickle.loads(whole)
    else:
        ids, weights, _ = pickle.loads(head[: found.end()] + _BLOCK_TAIL)
    return ids, weights


def _postings(reader: Any, fieldname: str, btext: bytes) -> dict[int, float]:
    """docnum -> weight of one term in one segment (deleted documents included)."""
    terms = getattr(reader, "_terms", None)
    try:
        if terms is not None:
            # Not reader.postings(): on a segment with deletions it wraps the matcher in a
            # FilterMatcher, which unpickles the whole first block to find a live posting.
            matcher = terms.matcher(fieldname, btext, reader.schema[fieldname].format)
        else:
            matcher = reader.postings(fieldname, btext)
    except TermNotFound:
        return {}
    if isinstance(matcher, wrappers.FilterMatcher):
        matcher = matcher.child  # deletions are removed from the final set instead
    found: dict[int, float] = {}
    if isinstance(matcher, W3LeafMatcher) and not matcher._byteids:
        while matcher.is_active():
            ids, weights = _block(matcher)
            if weights is None:
                weights = repeat(1.0)
            elif isinstance(weights, float):
                weights = repeat(weights)
            found.update(zip(accumulate(ids), weights, strict=False))
            matcher._next_block()
        return found
    while matcher.is_active():
        found[matcher.id()] = matcher.weight()
        matcher.next()
    return found


def _positions(
    reader: Any, fieldname: str, btext: bytes, wanted: list[int]
) -> dict[int, list[int]]:
    """docnum -> positions of one term, for the wanted docnums (sorted) only.

    Only the blocks holding a wanted docnum are read whole (positions are most of a
    block); the others are passed over on their header's last id.
    """
    terms = getattr(reader, "_terms", None)
    fieldobj = reader.schema[fieldname]
    decode = fieldobj.format.decoder("positions")
    if type(fieldobj.format) is formats.Positions:
        # formats.Positions.decode_positions inlined: a pickled list of position deltas
        # after a 4-byte count, written with its trailing STOP.
        def decode(value: bytes) -> list[int]:
            codes = value[4:] if value.endswith(b".") else value[4:] + b"."
            return list(accumulate(pickle.loads(codes)))
    try:
        matcher = terms.matcher(fieldname, btext, fieldobj.format)  # type: ignore[union-attr]
    except TermNotFound:
        return {}
    if isinstance(matcher, wrappers.FilterMatcher):
        matcher = matcher.child
    found: dict[int, list[int]] = {}
    wanted_set = set(wanted)
    at = 0
    if isinstance(matcher, W3LeafMatcher) and not matcher._byteids:
        while matcher.is_active() and at < len(wanted):
            last = matcher._maxid
            if wanted[at] <= last:
                data = matcher._postfile.get(
                    matcher._dataoffset, matcher._nextoffset - matcher._dataoffset
                )
                if matcher._compression:
                    data = zlib.decompress(data)
                ids, _, values = pickle.loads(data)
                for docnum, value in zip(accumulate(ids), values, strict=True):
                    if docnum in wanted_set:
                        found[docnum] = decode(value)
                at = bisect.bisect_right(wanted, last, at)
            matcher._next_block()
        return found
    while matcher.is_active():
        if matcher.id() in wanted_set:
            found[matcher.id()] = list(matcher.value_as("positions"))
        matcher.next()
    return found


def _near(positions: list[list[int]], slop: int) -> bool:
    """Whoosh's SpanNear2(ordered=True, mindist=1) test on one document's positions."""
    if slop == 1:
        # A typed phrase: word i at p + i for some p. Same answer, set speed.
        starts = set(positions[0])
        for offset, plist in enumerate(positions[1:], 1):
            starts.intersection_update([p - offset for p in plist])
            if not starts:
                return False
        return True
    aspans = [Span(p) for p in positions[0]]
    for plist in positions[1:]:
        if not aspans:
            return False
        bspans = [Span(p) for p in plist]
        spans = set()
        for aspan in aspans:
            j = bisect_spans(bspans, aspan.start)
            while j < len(bspans):
                bspan = bspans[j]
                j += 1
                if bspan.end < aspan.start - slop or aspan.start > bspan.start:
                    continue
                if bspan.start > aspan.end + slop:
                    break
                if 1 <= aspan.distance_to(bspan) <= slop:
                    spans.add(aspan.to(bspan))
        aspans = sorted(spans)
    return bool(aspans)


class _Segment:
    """One segment's evaluation of one query: match sets first, then scores for a subset."""

    def __init__(self, searcher: Any, reader: Any, arrays: SegmentArrays) -> None:
        self.searcher = searcher
        self.reader = reader
        self.arrays = arrays
        self.schema = searcher.schema
        self._terms: dict[tuple[str, str], dict[int, float]] = {}
        self._phrases: dict[tuple[str, tuple[str, ...], int], set[int]] = {}
        self._every: set[int] | None = None

    def postings(self, q: wq.Term) -> dict[int, float]:
        key = (q.fieldname, q.text)
        found = self._terms.get(key)
        if found is None:
            if q.fieldname not in self.schema:
                found = {}
            else:
                btext = self.schema[q.fieldname].to_bytes(q.text)
                found = _postings(self.reader, q.fieldname, btext)
            self._terms[key] = found
        return found

    def phrase_docs(self, q: wq.Phrase) -> set[int]:
        """Documents holding the words in order within q.slop, as Whoosh's Phrase finds them."""
        key = (q.fieldname, tuple(q.words), q.slop)
        found = self._phrases.get(key)
        if found is not None:
            return found
        terms = [wq.Term(q.fieldname, word) for word in q.words]
        lists = [self.postings(t) for t in terms]
        found = set()
        if all(lists):
            candidates = set(min(lists, key=len))
            for other in lists:
                candidates.intersection_update(other.keys())
            candidates -= self.arrays.deleted
            if candidates and len(terms) == 1:
                found = candidates
            elif candidates:
                wanted = sorted(candidates)
                fieldobj = self.schema[q.fieldname]
                positions = [
                    _positions(self.reader, q.fieldname, fieldobj.to_bytes(w), wanted)
                    for w in dict.fromkeys(q.words)
                ]
                by_word = dict(zip(dict.fromkeys(q.words), positions, strict=True))
                found = {
                    d for d in wanted if _near([by_word[w][d] for w in q.words], q.slop)
                }
        self._phrases[key] = found
        return found

    def every(self) -> set[int]:
        if self._every is None:
            self._every = set(range(self.arrays.size))
        return self._every

    def docs(self, q: wq.Query) -> set[int] | Any:
        """The set of local docnums matching q (deleted ones not yet removed)."""
        kind = type(q)
        if kind is wq.Term:
            return self.postings(q).keys()
        if kind is wq.Every:
            return self.every()
        if kind is wq.Phrase:
            return self.phrase_docs(q)
        if kind is wq.And:
            positive = [c for c in q.children() if type(c) is not wq.Not]
            negative = [c.query for c in q.children() if type(c) is wq.Not]
            # Smallest first (document frequencies, no postings read), and stop at an
            # empty set: a misspelled word then costs no other word's postings.
            positive.sort(key=lambda c: c.estimate_size(self.reader))
            found = set(self.docs(positive[0])) if positive else set(self.every())
            for other in positive[1:]:
                if not found:
                    break
                found &= self.docs(other)
            for other in negative:
                if not found:
                    break
                found -= self.docs(other)
            return found
        if kind is wq.Or:
            found = set()
            for child in q.children():
                found |= self.docs(child)
            return found
        if kind is wq.AndNot:
            return set(self.docs(q.a)) - self.docs(q.b)
        if kind is wq.AndMaybe:
            return self.docs(q.a)
        if kind is wq.Not:
            return self.every() - self.docs(q.query)
        raise TypeError(kind)

    def scores(self, q: wq.Query, wanted: Iterable[int]) -> dict[int, float]:
        """Whoosh's score of each wanted docnum, every one of which matches q."""
        kind = type(q)
        boost = q.boost
        if kind is wq.Term:
            found = self._term_scores(q, wanted)
        elif kind is wq.Every:
            found = dict.fromkeys(wanted, 1.0)
        elif kind is wq.Phrase:
            # Whoosh scores a phrase as the And of its words in that field (SpanNear2).
            found = {}
            for word in q.words:
                _add(found, self._term_scores(wq.Term(q.fieldname, word), wanted))
        elif kind is wq.And:
            found = {}
            for child in q.children():
                # A Not inside an And is Whoosh's InverseMatcher, which scores 1.0.
                _add(found, self.scores(child, wanted))
        elif kind is wq.Or:
            found = {}
            wanted_set = wanted if isinstance(wanted, set) else set(wanted)
            for child in q.children():
                subset = wanted_set & self.docs(child)
                if subset:
                    _add(found, self.scores(child, subset))
        elif kind in (wq.AndNot,):
            found = self.scores(q.a, wanted)
        elif kind is wq.AndMaybe:
            found = self.scores(q.a, wanted)
            wanted_set = wanted if isinstance(wanted, set) else set(wanted)
            extra = wanted_set & self.docs(q.b)
            if extra:
                _add(found, self.scores(q.b, extra))
        elif kind is wq.Not:
            found = dict.fromkeys(wanted, 1.0)
        else:
            raise TypeError(kind)
        if boost != 1.0 and kind is not wq.Not:  # Not.matcher ignores its boost
            found = {d: s * boost for d, s in found.items()}
        return found

    def _term_scores(self, q: wq.Term, wanted: Iterable[int]) -> dict[int, float]:
        weights = self.postings(q)
        name = q.fieldname
        weighting = self.searcher.weighting
        fieldobj = self.schema[name]
        if not fieldobj.scorable or not isinstance(weighting, BM25F):
            # WeightScorer (what Whoosh uses for unscorable fields): the weight itself.
            return {d: weights[d] for d in wanted}
        b = weighting._field_B.get(name, weighting.B)
        k1 = weighting.K1
        idf = self.searcher.idf(name, q.text)
        avgfl = avg_field_length(self.searcher, name)
        lengths = self.arrays.field_lengths(self.reader, name)
        k1p1 = k1 + 1
        one_minus_b = 1 - b
        # whoosh.scoring.bm25, written out so each score is the same float Whoosh computes.
        return {
            d: idf * ((weights[d] * k1p1) / (weights[d] + k1 * (one_minus_b + b * lengths[d] / avgfl)))
            for d in wanted
        }


def _add(total: dict[int, float], more: dict[int, float]) -> None:
    if not total:
        total.update(more)
        return
    get = total.get
    for docnum, score in more.items():
        total[docnum] = get(docnum, 0.0) + score


@dataclass(slots=True)
class Matched:
    """The outcome of one search: every match (global docnums) and the page's top docs."""

    total: int
    # (global docnum, score or None), best first, at most `limit` of them.
    top: list[tuple[int, float | None]]
    # Local docnum sets per segment, with each segment's offset (for facet counting).
    per_segment: list[tuple[Any, int, set[int]]]

    def docnums(self) -> set[int]:
        found: set[int] = set()
        for _, offset, local in self.per_segment:
            found.update(d + offset for d in local) if offset else found.update(local)
        return found


def run(
    searcher: Any,
    cache: SegmentCache[SegmentArrays],
    q: wq.Query,
    filters: wq.Query | None,
    sort: str,
    limit: int,
    memo: dict[int, Any] | None = None,
) -> Matched:
    """Match q (and the filters) in every segment; the top `limit` by score or by date.

    ``memo`` (a dict the caller keeps for one request) shares the postings read between
    calls: "did you mean" re-runs the query with one word changed.
    """
    per_segment: list[tuple[Any, int, set[int]]] = []
    candidates: list[tuple[float, int]] = []
    dated: list[tuple[Any, int]] = []
    total = 0
    for number, (reader, offset, arrays) in enumerate(cache.leaves(searcher)):
        seg = memo.get(number) if memo is not None else None
        if seg is None or seg.reader is not reader:
            seg = _Segment(searcher, reader, arrays)
            if memo is not None:
                memo[number] = seg
        found = seg.docs(q)
        found = set(found) if not isinstance(found, set) else found
        if filters is not None and found:
            found &= seg.docs(filters)
        if arrays.deleted and found:
            found -= arrays.deleted
        per_segment.append((reader, offset, found))
        total += len(found)
        if not found or not limit:
            continue
        if sort == "relevance":
            scores = seg.scores(q, found)
            # nlargest is stable: among equal scores the lower docnum (sorted first) wins,
            # as in Whoosh's collector.
            best = heapq.nlargest(limit, sorted(scores), key=scores.__getitem__)
            candidates.extend((scores[d], d + offset) for d in best)
        elif sort in ("date", "-date"):
            keys = arrays.date_keys(reader)
            if len(found) * 8 > arrays.size:
                # Most of the segment (the empty query, a year): walk the date order.
                order = arrays.date_order(reader)
                walk = reversed(order) if sort == "-date" else iter(order)
                best = list(islice((d for d in walk if d in found), limit))
            else:
                pick: Callable[..., list[int]] = (
                    heapq.nlargest if sort == "-date" else heapq.nsmallest
                )
                best = pick(limit, found, key=lambda d, k=keys: (k[d], d))
            dated.extend((keys[d], d + offset) for d in best)
        else:
            dated.extend((0, d + offset) for d in sorted(found)[:limit])
    top: list[tuple[int, float | None]]
    if sort == "relevance":
        ranked = heapq.nlargest(limit, candidates, key=lambda item: (item[0], -item[1]))
        top = [(docnum, score) for score, docnum in ranked]
    elif sort == "-date":
        top = [(d, None) for _, d in heapq.nlargest(limit, dated)]
    else:
        top = [(d, None) for _, d in heapq.nsmallest(limit, dated)]
    return Matched(total, top, per_segment)
