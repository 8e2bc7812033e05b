"""Set-at-a-time matching: whole posting lists as arrays, combined as masks, scored at once.

Whoosh matches and scores one posting at a time in Python (``next``, ``skip_to``,
``score`` and ``doc_field_length`` per posting: ~85% of a plain query at 100,000
messages, p95 195 ms). For a query tree made of terms and phrases joined by And, Or,
Not, AndNot and AndMaybe -- every bare-word query, fielded terms and the facet filters
-- this module reads each term's whole posting list of a segment into arrays (one
inflate per block in govmail's own postings format, search/codec.py), finds the
matching documents as boolean masks over the segment, and computes Whoosh's own BM25F
score for every posting with numpy, operation for operation as Whoosh does, so pages
rank exactly as Whoosh ranks them. For anything else (ranges, wildcards, dates)
:func:`supported` says no and the engine runs Whoosh's collectors.

Owns the per-segment arrays scoring needs (field lengths, deletions, sort keys of the
date column), cached by segment id like the facet columns. Does not own the query
language (search/query.py), the postings format (search/codec.py) or facet counting
(search/facets.py).
"""

from __future__ import annotations

import bisect
import pickle
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import accumulate, repeat
from typing import Any

import numpy as np
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

from search.codec import NO_POSTINGS, Postings, term_postings
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
    # True for each live document.
    live: np.ndarray
    has_deletions: bool
    lengths: dict[str, np.ndarray] = field(default_factory=dict)
    dates: np.ndarray | None = None

    def field_lengths(self, reader: Any, name: str) -> np.ndarray:
        found = self.lengths.get(name)
        if found is None:
            column = _length_column(reader, name, self.size)
            if column is None:
                # A length is one byte; byte_to_length is what Whoosh's scorer reads.
                column = [reader.doc_field_length(d, name, 1) or 0 for d in range(self.size)]
            found = self.lengths[name] = np.array(column, dtype=np.float64)
        return found

    def date_keys(self, reader: Any) -> np.ndarray:
        """Each document's sort key in the date column, as Whoosh's sorting reads it."""
        if self.dates is None:
            column = reader.column_reader("date", translate=False)
            keys = _numeric_column(column, self.size)
            if keys is None:
                keys = np.array([column.sort_key(n) for n in range(self.size)], dtype=np.uint64)
            self.dates = keys
        return self.dates


def _numeric_column(column: Any, size: int) -> np.ndarray | None:
    """A NumericColumn's values in one read: stored big-endian, the default past the end."""
    if not isinstance(column, NumericColumn.Reader) or column._reverse:
        return None
    count = min(column._count, size)
    dtype = np.dtype(">" + column._typecode)
    data = column._dbfile.get(column._basepos, count * dtype.itemsize)
    keys = np.full(size, column._default, dtype=dtype.newbyteorder("="))
    keys[:count] = np.frombuffer(data, dtype=dtype)
    return keys


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
    size = reader.doc_count_all()
    live = np.ones(size, dtype=bool)
    deleted = reader.has_deletions()
    if deleted:
        live[np.fromiter(reader.deleted_docs_set, dtype=np.int64)] = False
    return SegmentArrays(size, live, deleted)


def _positions(
    reader: Any, fieldname: str, btext: bytes, wanted: list[int]
) -> dict[int, list[int]]:
    """docnum -> positions of one term, for the wanted docnums (sorted) only.

    Only the blocks holding a wanted docnum have their values read (positions are most
    of a block); the others are passed over on their header's last id.
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
                matcher._read_ids()
                matcher._read_values()
                for docnum, value in zip(matcher._ids, matcher._values, strict=True):
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
    """One segment's evaluation of one query, as arrays over the segment's docnums.

    ``docs`` gives a boolean mask of the matching documents (deleted ones not yet
    removed); ``scores`` gives Whoosh's score of every document the node matches and 0.0
    elsewhere, so an Or adds up its children the way Whoosh's union matcher does.
    """

    def __init__(self, searcher: Any, reader: Any, arrays: SegmentArrays) -> None:
        self.searcher = searcher
        self.reader = reader
        self.arrays = arrays
        self.size = arrays.size
        self.schema = searcher.schema
        self._terms: dict[tuple[str, str], Postings] = {}
        self._masks: dict[tuple[str, str], np.ndarray] = {}
        self._term_scores: dict[tuple[str, str], np.ndarray] = {}
        self._phrases: dict[tuple[str, tuple[str, ...], int], np.ndarray] = {}

    def postings(self, q: wq.Term) -> Postings:
        key = (q.fieldname, q.text)
        found = self._terms.get(key)
        if found is None:
            if q.fieldname not in self.schema:
                found = NO_POSTINGS
            else:
                btext = self.schema[q.fieldname].to_bytes(q.text)
                found = term_postings(self.reader, q.fieldname, btext)
            self._terms[key] = found
        return found

    def term_docs(self, q: wq.Term) -> np.ndarray:
        key = (q.fieldname, q.text)
        found = self._masks.get(key)
        if found is None:
            found = np.zeros(self.size, dtype=bool)
            found[self.postings(q)[0]] = True
            self._masks[key] = found
        return found

    def phrase_docs(self, q: wq.Phrase) -> np.ndarray:
        """Documents holding the words in order within q.slop, as Whoosh's Phrase finds them."""
        key = (q.fieldname, tuple(q.words), q.slop)
        found = self._phrases.get(key)
        if found is not None:
            return found
        candidates = self.arrays.live.copy()
        for word in q.words:
            candidates &= self.term_docs(wq.Term(q.fieldname, word))
        if len(q.words) == 1 or not candidates.any():
            found = candidates
        else:
            wanted = np.flatnonzero(candidates).tolist()
            fieldobj = self.schema[q.fieldname]
            words = list(dict.fromkeys(q.words))
            by_word = {
                w: _positions(self.reader, q.fieldname, fieldobj.to_bytes(w), wanted) for w in words
            }
            found = np.zeros(self.size, dtype=bool)
            found[[d for d in wanted if _near([by_word[w][d] for w in q.words], q.slop)]] = True
        self._phrases[key] = found
        return found

    def every(self) -> np.ndarray:
        return np.ones(self.size, dtype=bool)

    def docs(self, q: wq.Query) -> np.ndarray:
        """A mask of the local docnums matching q (deleted ones not yet removed). Read-only."""
        kind = type(q)
        if kind is wq.Term:
            return self.term_docs(q)
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
            found = self.docs(positive[0]) if positive else self.every()
            for other in positive[1:]:
                if not found.any():
                    return found
                found = found & self.docs(other)
            for other in negative:
                if not found.any():
                    return found
                found = found & ~self.docs(other)
            return found
        if kind is wq.Or:
            found = np.zeros(self.size, dtype=bool)
            for child in q.children():
                found |= self.docs(child)
            return found
        if kind is wq.AndNot:
            return self.docs(q.a) & ~self.docs(q.b)
        if kind is wq.AndMaybe:
            return self.docs(q.a)
        if kind is wq.Not:
            return ~self.docs(q.query)
        raise TypeError(kind)

    def scores(self, q: wq.Query) -> np.ndarray:
        """Whoosh's score of each document q matches, 0.0 for the others. Read-only."""
        kind = type(q)
        if kind is wq.Term:
            found = self.term_scores(q)
        elif kind is wq.Every:
            found = np.ones(self.size)
        elif kind is wq.Phrase:
            # Whoosh scores a phrase as the And of its words in that field (SpanNear2).
            found = self._sum(wq.Term(q.fieldname, word) for word in q.words)
            found = np.where(self.phrase_docs(q), found, 0.0)
        elif kind is wq.And:
            # A Not inside an And is Whoosh's InverseMatcher, which scores 1.0.
            found = np.where(self.docs(q), self._sum(q.children()), 0.0)
        elif kind is wq.Or:
            found = self._sum(q.children())
        elif kind is wq.AndNot:
            found = np.where(self.docs(q), self.scores(q.a), 0.0)
        elif kind is wq.AndMaybe:
            found = np.where(self.docs(q.a), self.scores(q.a) + self.scores(q.b), 0.0)
        elif kind is wq.Not:
            found = self.docs(q).astype(np.float64)
        else:
            raise TypeError(kind)
        if q.boost != 1.0 and kind is not wq.Not:  # Not.matcher ignores its boost
            found = found * q.boost
        return found

    def _sum(self, children: Iterable[wq.Query]) -> np.ndarray:
        # Child by child, left to right: the order in which Whoosh adds the scores.
        total = np.zeros(self.size)
        for child in children:
            total += self.scores(child)
        return total

    def term_scores(self, q: wq.Term) -> np.ndarray:
        key = (q.fieldname, q.text)
        found = self._term_scores.get(key)
        if found is None:
            found = self._term_scores[key] = self._score_term(q)
        return found

    def _score_term(self, q: wq.Term) -> np.ndarray:
        ids, weights = self.postings(q)
        found = np.zeros(self.size)
        if not len(ids):
            return found
        if weights is None:
            weights = np.ones(len(ids))
        name = q.fieldname
        weighting = self.searcher.weighting
        if not self.schema[name].scorable or not isinstance(weighting, BM25F):
            # WeightScorer (what Whoosh uses for unscorable fields): the weight itself.
            found[ids] = weights
            return found
        b = weighting._field_B.get(name, weighting.B)
        k1 = weighting.K1
        idf = self.searcher.idf(name, q.text)
        avgfl = avg_field_length(self.searcher, name)
        lengths = self.arrays.field_lengths(self.reader, name)[ids]
        # whoosh.scoring.bm25 over the whole list, operation for operation as Whoosh
        # computes each score, so each is the same double.
        found[ids] = idf * ((weights * (k1 + 1)) / (weights + k1 * ((1 - b) + b * lengths / avgfl)))
        return found


def _smallest(keys: np.ndarray, docnums: np.ndarray, limit: int) -> np.ndarray:
    """Indexes of the ``limit`` smallest (key, docnum) pairs, in that order."""
    chosen = np.arange(len(keys))
    if len(keys) > limit:
        kth = np.partition(keys, limit - 1)[limit - 1]
        chosen = np.flatnonzero(keys <= kth)
    order = np.lexsort((docnums[chosen], keys[chosen]))[:limit]
    return chosen[order]


def _largest(keys: np.ndarray, docnums: np.ndarray, limit: int) -> np.ndarray:
    """Indexes of the ``limit`` largest (key, docnum) pairs, largest first."""
    chosen = np.arange(len(keys))
    if len(keys) > limit:
        kth = np.partition(keys, len(keys) - limit)[len(keys) - limit]
        chosen = np.flatnonzero(keys >= kth)
    order = np.lexsort((docnums[chosen], keys[chosen]))[::-1][:limit]
    return chosen[order]


def _pick(sort: str, keys: np.ndarray, docnums: np.ndarray, limit: int) -> np.ndarray:
    """The page order: score down then docnum up; date up or down (docnum with it)."""
    if sort == "relevance":
        return _smallest(-keys, docnums, limit)
    if sort == "-date":
        return _largest(keys, docnums, limit)
    return _smallest(keys, docnums, limit)


@dataclass(slots=True)
class Matched:
    """The outcome of one search: every match (global docnums) and the page's top docs."""

    total: int
    # (global docnum, score or None), best first, at most `limit` of them.
    top: list[tuple[int, float | None]]
    # Local docnums (sorted arrays) per segment, with each segment's offset (for facets).
    per_segment: list[tuple[Any, int, np.ndarray]]

    def docnums(self) -> set[int]:
        found: set[int] = set()
        for _, offset, local in self.per_segment:
            found.update((local + offset).tolist())
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
    per_segment: list[tuple[Any, int, np.ndarray]] = []
    keys: list[np.ndarray] = []
    docnums: list[np.ndarray] = []
    total = 0
    for number, (reader, offset, arrays) in enumerate(cache.leaves(searcher)):
        seg = memo.get(number) if memo is not None else None
        if seg is None or seg.reader is not reader:
            seg = _Segment(searcher, reader, arrays)
            if memo is not None:
                memo[number] = seg
        found = seg.docs(q)
        if filters is not None and found.any():
            found = found & seg.docs(filters)
        if arrays.has_deletions:
            found = found & arrays.live
        local = np.flatnonzero(found)
        per_segment.append((reader, offset, local))
        total += len(local)
        if not len(local) or not limit:
            continue
        if sort == "relevance":
            segment_keys = seg.scores(q)[local]
        elif sort in ("date", "-date"):
            segment_keys = arrays.date_keys(reader)[local]
        else:
            segment_keys = np.zeros(len(local), dtype=np.int64)
        best = _pick(sort, segment_keys, local, limit)
        keys.append(segment_keys[best])
        docnums.append(local[best] + offset)
    top: list[tuple[int, float | None]] = []
    if keys:
        all_keys, all_docnums = np.concatenate(keys), np.concatenate(docnums)
        best = _pick(sort, all_keys, all_docnums, limit)
        scores = all_keys[best].tolist() if sort == "relevance" else repeat(None)
        top = list(zip(all_docnums[best].tolist(), scores, strict=False))
    return Matched(total, top, per_segment)
