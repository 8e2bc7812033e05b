"""govmail's postings format: Whoosh's whoosh3 codec with each block laid out as flat arrays.

whoosh3 writes a block of up to 128 postings as one zlib-compressed pickle of (ids,
weights, values) and its reader unpickles the whole block, positions included, to learn
one id. backends/whoosh/matching.py reads every posting of a query's terms, and on a 1M-message
index inflating and unpickling those blocks was more than half of a plain query
(cProfile of 60 queries). This codec keeps whoosh3's files, term index, block statistics
and matcher interface, so every Whoosh query, collector and merge works on it unchanged;
only the inside of a block differs::

    int32   size of the rest of the block, negative on the last one (as in whoosh3)
    struct  count, last id, max weight, min and max length bytes, weight kind, flags
    uint32  size of the postings part
    bytes   postings part, zlib'd: count id deltas as uint32 LE, each block's first one
            from the previous block's last id; then the weights as float32 LE: none when
            all are 1.0, one when all are equal, else count of them
    bytes   values part, zlib'd: uint32 number of values, their uint32 sizes, the values;
            or, flag POSITIONS_ARRAYS (a field of Whoosh's Positions format in a segment of
            layout 2), the block's positions as two arrays: uint8 item size of the counts
            and uint8 item size of the gaps (1, 2 or 4, the smallest that holds the
            block's largest), count uint counts (positions a posting), then the gaps
            concatenated: each posting's positions as Whoosh's Positions.encode deltas
            them (the first from 0), all as unsigned LE

A term's ids across all its blocks are then one cumulative sum over the concatenated
deltas (:func:`read_postings`). Vector postings (byte ids) keep whoosh3's format, and
segments written by whoosh3 stay readable: each segment records the codec that wrote it,
and :func:`term_postings` reads a term's postings as arrays from a segment of either.

Positions: up to layout 1 each posting's value was Whoosh's own, a 4-byte count and a
small pickle of its position gaps, and a phrase decoded them one posting at a time. A
segment of layout 2 (``GovCodec.layout``, pickled with the segment) stores a block's
positions as the arrays above, which :func:`term_positions` decodes with numpy for every
wanted posting at once. Segments of layout 1 and whoosh3's stay readable (the values are
read as before), so an index of older segments needs no rebuild; a merge rewrites them in
the layout of the writing codec. Whoosh's own matcher still hands out each posting's
value as Positions.encode bytes (rebuilt from the arrays), so its collectors, merges and
highlighting see what they always saw. An index whose segments carry a layout this
govmail does not know (written by a newer one) is refused with IndexFormatError.
"""

from __future__ import annotations

import bisect
import pickle
import re
import struct
import sys
import zlib
from array import array
from collections.abc import Iterator
from itertools import accumulate, repeat
from typing import Any

import numpy as np
from whoosh import formats
from whoosh.codec.whoosh3 import (
    WHOOSH3_HEADER_MAGIC,
    W3Codec,
    W3LeafMatcher,
    W3PostingsWriter,
    W3TermInfo,
    byte_to_length,
    length_to_byte,
)
from whoosh.filedb.filetables import OrderedHashReader
from whoosh.matching import wrappers
from whoosh.reading import TermNotFound
from whoosh.system import pack_uint

from core.errors import IndexFormatError

_BLOCK_SIZE = struct.Struct("!i")  # whoosh3's postfile.write_int
# count, last id, max weight, min length byte, max length byte, weight kind, flags,
# size of the postings part
_INFO = struct.Struct("<IIfBBBBI")
_UINT = struct.Struct("<I")
_HEAD = _BLOCK_SIZE.size + _INFO.size

WEIGHTS_ONE, WEIGHTS_SAME, WEIGHTS_EACH = 0, 1, 2
POSTINGS_ZLIB, VALUES_ZLIB, POSITIONS_ARRAYS = 1, 2, 4
# Layouts of a segment's blocks: 1 per-posting values as Whoosh encodes them; 2 the
# positions of a block as arrays (module docstring).
LAYOUT_VALUES, LAYOUT_ARRAYS = 1, 2
KNOWN_LAYOUTS = (LAYOUT_VALUES, LAYOUT_ARRAYS)
_WIDTHS = struct.Struct("<BB")
_K = ord("K")
# whoosh3 leaves pickles shorter than this uncompressed; so do we.
_MIN_COMPRESS = 20
_LITTLE = sys.byteorder == "little"


def _le(values: array) -> bytes:
    if not _LITTLE:
        values = array(values.typecode, values)
        values.byteswap()
    return values.tobytes()


def _from_le(typecode: str, data: bytes) -> array:
    values = array(typecode)
    values.frombytes(data)
    if not _LITTLE:
        values.byteswap()
    return values


_ONE = _le(array("f", [1.0]))


def _head(buf: bytes, at: int) -> tuple[int, bool, tuple[Any, ...]]:
    """(where the next block starts, whether this is the last, its _INFO fields) of the
    block at ``at``."""
    (size,) = _BLOCK_SIZE.unpack_from(buf, at)
    return (
        at + _BLOCK_SIZE.size + abs(size),
        size < 0,
        _INFO.unpack_from(buf, at + _BLOCK_SIZE.size),
    )


def _weight_bytes(postings: bytes, count: int, kind: int) -> bytes:
    """A block's ``count`` weights as float32 LE, from its inflated postings part."""
    if kind == WEIGHTS_ONE:
        return _ONE * count
    start = 4 * count
    if kind == WEIGHTS_SAME:
        return postings[start : start + 4] * count
    return postings[start : start + 4 * count]


class GovCodec(W3Codec):
    """W3Codec writing :class:`GovPostingsWriter` blocks and reading them back.

    ``layout`` is pickled with each segment: a codec unpickled from a segment written
    before layouts existed has none of its own and reads as layout 1 (the class's).
    """

    layout = LAYOUT_VALUES

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.layout = LAYOUT_ARRAYS

    def __setstate__(self, state: dict[str, Any]) -> None:
        layout = state.get("layout", LAYOUT_VALUES)
        if layout not in KNOWN_LAYOUTS:
            # Reading its blocks as another layout would give wrong phrases, not an error.
            raise IndexFormatError(
                f"the index has segments in postings layout {layout} and this govmail reads "
                f"layouts {', '.join(map(str, KNOWN_LAYOUTS))}: it was written by a newer "
                "govmail; use that one, or run `govmail rebuild` with this one"
            )
        self.__dict__.update(state)

    def postings_writer(self, dbfile: Any, byteids: bool = False) -> Any:
        if byteids:
            # Vectors: W3PerDocReader reads them with W3LeafMatcher directly.
            return super().postings_writer(dbfile, byteids=True)
        return GovPostingsWriter(
            dbfile,
            blocklimit=self._blocklimit,
            compression=self._compression,
            inlinelimit=self._inlinelimit,
            arrays=self.layout >= LAYOUT_ARRAYS,
        )

    def postings_reader(
        self, dbfile: Any, terminfo: Any, format_: Any, term: Any = None, scorer: Any = None
    ) -> Any:
        if terminfo.is_inlined():
            return super().postings_reader(dbfile, terminfo, format_, term=term, scorer=scorer)
        offset, length = terminfo.extent()
        return GovLeafMatcher(dbfile, offset, length, format_, term=term, scorer=scorer)


class GovPostingsWriter(W3PostingsWriter):
    """Writes the blocks described in the module docstring; everything else is whoosh3's."""

    def __init__(self, *args: Any, arrays: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._arrays = arrays

    def start_postings(self, format_: Any, terminfo: Any) -> None:
        super().start_postings(format_, terminfo)
        self._previous_last = 0

    def _write_block(self, last: bool = False) -> None:
        if not self._blockcount:
            self._postfile.write(WHOOSH3_HEADER_MAGIC)
        self._terminfo.add_block(self)

        ids = self._ids
        count = len(ids)
        deltas = array("I", [b - a for a, b in zip([self._previous_last, *ids], ids, strict=False)])
        weights = self._weights
        if weights.count(1.0) == count:
            kind, weight_bytes = WEIGHTS_ONE, b""
        elif weights.count(weights[0]) == count:
            kind, weight_bytes = WEIGHTS_SAME, _le(weights[:1])
        else:
            kind, weight_bytes = WEIGHTS_EACH, _le(weights)
        postings = _le(deltas) + weight_bytes

        fixedsize = self._format.fixed_value_size()
        values = self._values
        flags = 0
        arrays = None
        if self._arrays and type(self._format) is formats.Positions and len(values) == count:
            arrays = _small_gaps(values)
        if arrays is not None:
            value_bytes = _positions_block(*arrays)
            flags |= POSITIONS_ARRAYS
        elif fixedsize == 0:
            value_bytes = b""
        elif fixedsize is not None and fixedsize > 0:
            value_bytes = b"".join(values)
        else:
            value_bytes = _le(array("I", [len(values), *map(len, values)])) + b"".join(values)

        if self._compression and len(postings) >= _MIN_COMPRESS:
            postings = zlib.compress(postings, self._compression)
            flags |= POSTINGS_ZLIB
        if self._compression and len(value_bytes) >= _MIN_COMPRESS:
            value_bytes = zlib.compress(value_bytes, self._compression)
            flags |= VALUES_ZLIB

        info = _INFO.pack(
            count,
            ids[-1],
            self._maxweight,
            length_to_byte(self._minlength),
            length_to_byte(self._maxlength),
            kind,
            flags,
            len(postings),
        )
        size = len(info) + len(postings) + len(value_bytes)
        self._postfile.write_int(-size if last else size)
        self._postfile.write(info + postings + value_bytes)

        self._previous_last = ids[-1]
        self._blockcount += 1
        self._new_block()


class GovLeafMatcher(W3LeafMatcher):
    """W3LeafMatcher over :class:`GovPostingsWriter` blocks."""

    def reset(self) -> None:
        self._previous_last = 0
        super().reset()

    def _next_block(self) -> None:
        if not self._atend and not self._lastblock:
            self._previous_last = self._maxid
        super()._next_block()

    def _goto(self, position: int) -> None:
        self._data = None
        self._ids = None
        self._weights = None
        self._values = None
        self._i = 0
        end, last_block, info = _head(self._postfile.get(position, _HEAD), 0)
        if last_block:
            self._lastblock = True
        self._nextoffset = position + end
        (count, last, maxweight, minlen, maxlen, kind, flags, self._postings_size) = info
        self._dataoffset = position + _HEAD
        self._blocklength = count
        self._maxid = last
        self._maxweight = maxweight
        self._compression = flags
        self._weight_kind = kind
        self._minlength = byte_to_length(minlen)
        self._maxlength = byte_to_length(maxlen)

    def _read_data(self) -> None:
        data = self._postfile.get(self._dataoffset, self._postings_size)
        if self._compression & POSTINGS_ZLIB:
            data = zlib.decompress(data)
        self._data = data

    def _read_ids(self) -> None:
        if self._data is None:
            self._read_data()
        deltas = _from_le("I", self._data[: 4 * self._blocklength])
        ids = accumulate(deltas, initial=self._previous_last)
        next(ids)
        self._ids = tuple(ids)

    def _read_weights(self) -> None:
        if self._data is None:
            self._read_data()
        weights = _weight_bytes(self._data, self._blocklength, self._weight_kind)
        self._weights = _from_le("f", weights)

    def _values_part(self) -> bytes:
        start = self._dataoffset + self._postings_size
        data = self._postfile.get(start, self._nextoffset - start)
        if self._compression & VALUES_ZLIB:
            data = zlib.decompress(data)
        return data

    def _read_values(self) -> None:
        count = self._blocklength
        fixedsize = self._fixedsize
        if fixedsize == 0:
            self._values = (None,) * count
            return
        data = self._values_part()
        if self._compression & POSITIONS_ARRAYS:
            self._values = tuple(_encode_gaps(*_positions_lists(data, count)))
            return
        if fixedsize is not None and fixedsize > 0:
            self._values = tuple(data[i : i + fixedsize] for i in range(0, len(data), fixedsize))
            return
        (number,) = _UINT.unpack_from(data)
        sizes = _from_le("I", data[4 : 4 + 4 * number])
        values = []
        at = 4 + 4 * number
        for size in sizes:
            values.append(data[at : at + size])
            at += size
        self._values = tuple(values)


def read_postings(
    postfile: Any, offset: int, length: int | tuple[int]
) -> tuple[np.ndarray, np.ndarray | None]:
    """(ids as int64, weights as float64 or None when all are 1.0) of one term's blocks.

    The whole extent is read at once and each block costs one header unpack and one
    inflate; ids come from one cumulative sum, weights from one conversion.
    """
    if isinstance(length, tuple):
        # W3TermInfo.from_bytes keeps the length as unpack_int's 1-tuple.
        (length,) = length
    data = postfile.get(offset, length)
    if data[:4] != WHOOSH3_HEADER_MAGIC:
        raise ValueError(f"postings at {offset} do not start with a block header")
    id_parts: list[bytes] = []
    weight_parts: list[bytes] = []
    every_one = True
    at = 4
    end = len(data)
    while at < end:
        next_at, last_block, (count, _, _, _, _, kind, flags, postings_size) = _head(data, at)
        start = at + _HEAD
        postings = data[start : start + postings_size]
        if flags & POSTINGS_ZLIB:
            postings = zlib.decompress(postings)
        id_parts.append(postings[: 4 * count])
        weight_parts.append(_weight_bytes(postings, count, kind))
        every_one = every_one and kind == WEIGHTS_ONE
        at = next_at
        if last_block:
            break
    ids = np.frombuffer(b"".join(id_parts), dtype="<u4").cumsum(dtype=np.int64)
    if every_one:
        return ids, None
    return ids, np.frombuffer(b"".join(weight_parts), dtype="<f4").astype(np.float64)


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
    """(delta-coded ids, weights) of a whoosh3 matcher's current block, without its positions.

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


# (docnums, weights or None when all are 1.0)
Postings = tuple[np.ndarray, np.ndarray | None]
NO_POSTINGS: Postings = (np.zeros(0, dtype=np.int64), None)


class _ViaReader:
    """A term of a reader without a whoosh3 terms reader: read through reader.postings()."""

    def __init__(self, frequency: int) -> None:
        self.frequency = frequency

    def doc_frequency(self) -> int:
        return self.frequency


def term_info(reader: Any, fieldname: str, btext: bytes) -> Any | None:
    """The term's TermInfo in one segment (its doc frequency and where its postings are), or None.

    One look-up in the segment's term index; :func:`read_term` then reads the postings
    without a second one.
    """
    terms = getattr(reader, "_terms", None)
    if terms is None:
        frequency = reader.doc_frequency(fieldname, btext) if fieldname in reader.schema else 0
        return _ViaReader(frequency) if frequency else None
    try:
        return terms.term_info(fieldname, btext)
    except TermNotFound:
        return None


def field_terms(reader: Any, fieldname: str) -> Iterator[tuple[bytes, Any]]:
    """(term bytes, TermInfo) of every term of a field in one segment, in order.

    One walk of the term index: no hash look-up a term, as reader.lexicon() and then
    :func:`term_info` would cost (half of reading a segment's facet columns).
    """
    terms = getattr(reader, "_terms", None)
    if terms is None:
        for btext in reader.lexicon(fieldname):
            info = term_info(reader, fieldname, btext)
            if info is not None:
                yield btext, info
        return
    if fieldname not in terms.indexed_field_names():
        return
    for (name, btext), info in terms.items_from(fieldname, b""):
        if name != fieldname:
            return
        yield btext, info


def prefix_terms(reader: Any, fieldname: str, prefix: bytes, limit: int) -> dict[bytes, Any] | None:
    """term bytes -> TermInfo of every term of a field that starts with ``prefix`` in one
    segment, when there are at most ``limit`` of them; None when there are more, or when the
    segment's term index is not whoosh3's ordered one.

    The term index is sorted, so the prefix's terms are one run of it: two binary searches
    count them and one walk reads them, where a look-up a term hashes and probes the table
    (~15 us). A query word is given a stem in every language of the index, and most of
    those stems are in no segment: read as runs, they cut plain-query CPU at 100,000
    messages by 12-20% (p95).
    """
    terms = getattr(reader, "_terms", None)
    index = getattr(terms, "_tindex", None)
    if not isinstance(index, OrderedHashReader):
        return None
    if fieldname not in terms._fieldmap:
        return {}
    start = terms._keycoder(fieldname, prefix)
    past = _past_prefix(start)
    first = _key_rank(index, start)
    end = index.indexlen if past is None else _key_rank(index, past)
    if end - first > limit:
        return None
    found: dict[bytes, Any] = {}
    skip = len(start) - len(prefix)
    for rank in range(first, end):
        key, datapos, datalen = index.key_and_range_at(
            index._get_pos(index.indexbase + rank * index.indexsize))
        found[key[skip:]] = W3TermInfo.from_bytes(index.dbfile.get(datapos, datalen))
    return found


def _key_rank(index: OrderedHashReader, key: bytes) -> int:
    """How many keys of the ordered term index sort before ``key``."""
    low, high = 0, index.indexlen
    while low < high:
        middle = (low + high) // 2
        if index.key_at(index._get_pos(index.indexbase + middle * index.indexsize)) < key:
            low = middle + 1
        else:
            high = middle
    return low


def _past_prefix(key: bytes) -> bytes | None:
    """The least key above every key that starts with ``key`` (None: there is none)."""
    stripped = key.rstrip(b"\xff")
    if not stripped:
        return None
    return stripped[:-1] + bytes([stripped[-1] + 1])


def term_matcher(reader: Any, fieldname: str, btext: bytes, info: Any) -> Any:
    """Whoosh's matcher over one term's postings in one segment, from its :func:`term_info`
    (no second look-up). Deleted documents are included; the caller removes them."""
    if isinstance(info, _ViaReader):
        matcher = reader.postings(fieldname, btext)
    else:
        # Not reader.postings(): on a segment with deletions it wraps the matcher in a
        # FilterMatcher, which reads the whole first block to find a live posting.
        terms = reader._terms
        matcher = terms._codec.postings_reader(
            terms._postfile, info, reader.schema[fieldname].format, term=(fieldname, btext)
        )
    return matcher.child if isinstance(matcher, wrappers.FilterMatcher) else matcher


def read_term(reader: Any, fieldname: str, btext: bytes, info: Any) -> Postings:
    """(docnums, weights or None when all are 1.0) of one term in one segment, any codec.

    Deleted documents are included; the caller removes them from the final set.
    """
    if (
        not isinstance(info, _ViaReader)
        and isinstance(reader._terms._codec, GovCodec)
        and not info.is_inlined()
    ):
        return read_postings(reader._terms._postfile, *info.extent())
    matcher = term_matcher(reader, fieldname, btext, info)
    ids: list[int] = []
    weights: list[float] = []
    if type(matcher) is W3LeafMatcher and not matcher._byteids:
        # A segment written by whoosh3's own codec (an index from before backends/whoosh/codec.py).
        while matcher.is_active():
            deltas, block_weights = _block(matcher)
            ids.extend(accumulate(deltas))
            if block_weights is None or isinstance(block_weights, float):
                same = 1.0 if block_weights is None else block_weights
                weights.extend(repeat(same, len(deltas)))
            else:
                weights.extend(block_weights)
            matcher._next_block()
    else:
        while matcher.is_active():
            ids.append(matcher.id())
            weights.append(matcher.weight())
            matcher.next()
    return np.array(ids, dtype=np.int64), np.array(weights, dtype=np.float64)


def term_postings(reader: Any, fieldname: str, btext: bytes) -> Postings:
    """:func:`read_term` after :func:`term_info`; no postings for a term the segment lacks."""
    info = term_info(reader, fieldname, btext)
    return NO_POSTINGS if info is None else read_term(reader, fieldname, btext, info)


def decode_positions(value: bytes) -> list[int]:
    """formats.Positions.decode_positions, without the unpickling when it can be read off.

    A value is a 4-byte count and a protocol-2 pickle of the position deltas. When every
    delta is below 256 (nearly always: they are word gaps), the pickle is the count's
    ``K``-coded bytes between a fixed head and tail, and slicing reads them.
    """
    count = int.from_bytes(value[:4], "big")
    start = 10 if count > 1 else 9  # count, PROTO 2, EMPTY_LIST, BINPUT 0[, MARK]
    end = start + 2 * count
    if count and len(value) == end + 2 and value[start:end:2] == b"K" * count:
        return list(accumulate(value[start + 1 : end : 2]))
    codes = value[4:] if value.endswith(b".") else value[4:] + b"."
    return list(accumulate(pickle.loads(codes)))


# ---- positions as arrays (layout 2) ---------------------------------------------------

_DTYPES = {1: np.dtype("<u1"), 2: np.dtype("<u2"), 4: np.dtype("<u4")}
_BIG_ENDIAN = np.array([1 << 24, 1 << 16, 1 << 8, 1], dtype=np.int64)


def _width(largest: int) -> int:
    return 1 if largest < 1 << 8 else 2 if largest < 1 << 16 else 4


def _exclusive_cumsum(counts: np.ndarray) -> np.ndarray:
    """Where each posting's first position is in the concatenation."""
    found = np.zeros(len(counts), dtype=np.int64)
    np.cumsum(counts[:-1], out=found[1:])
    return found


def pickled_gaps(values: list[bytes]) -> tuple[np.ndarray, np.ndarray] | None:
    """(positions a posting, their gaps concatenated) of Positions.encode values, or None
    when a gap is negative (positions out of order: kept as Whoosh's values).

    Each value is a 4-byte big-endian count and a protocol-2 pickle of the gaps; when every
    gap is below 256 (nearly always) the pickle is fixed bytes around one ``K`` and the
    gap for each, so the whole block is read with a few numpy operations instead of a
    loop over postings (phrases reading a layout-1 segment).
    """
    number = len(values)
    buf = np.frombuffer(b"".join(values), dtype=np.uint8)
    sizes = np.fromiter(map(len, values), dtype=np.int64, count=number)
    if number and sizes.min() >= 4:
        starts = _exclusive_cumsum(sizes)
        counts = buf[starts[:, None] + np.arange(4)].astype(np.int64) @ _BIG_ENDIAN
        # count 1: head(5) K g a . ; more: head(5) ( K g ... e .
        if counts.min() >= 1 and (sizes == np.where(counts == 1, 13, 12 + 2 * counts)).all():
            first = starts + np.where(counts == 1, 9, 10)
            total = int(counts.sum())
            at = np.repeat(first - 2 * _exclusive_cumsum(counts), counts) + 2 * np.arange(total)
            if (buf[at] == _K).all():
                return counts.astype(np.uint32), buf[at + 1].astype(np.uint32)
    small = _small_gaps(values)
    if small is None:
        return None
    return np.array(small[0], dtype=np.uint32), np.array(small[1], dtype=np.uint32)


_TYPECODES = {1: "B", 2: "H", 4: "I"}


def _small_gaps(values: list[bytes]) -> tuple[list[int], list[int]] | None:
    """:func:`pickled_gaps` as lists, in plain Python: what the writer uses. Most blocks
    hold one or two postings, where a dozen numpy calls cost more than this loop (17 against
    92 us for 8 values; 118 against 197 us for a full block whose gaps pass 255)."""
    counts: list[int] = []
    gaps: list[int] = []
    loads = pickle.loads
    for value in values:
        # The pickle is the list of gaps itself: one C call, whatever their sizes.
        found = loads(value[4:] if value.endswith(b".") else value[4:] + b".")
        counts.append(len(found))
        gaps.extend(found)
    if gaps and min(gaps) < 0:
        return None
    return counts, gaps


def _positions_block(counts: Any, gaps: Any) -> bytes:
    """A block's values part in layout 2 (module docstring), uncompressed; from numpy
    arrays or lists."""
    count_width = _width(int(max(counts)) if len(counts) else 0)
    gap_width = _width(int(max(gaps)) if len(gaps) else 0)
    if isinstance(counts, np.ndarray):
        return (
            _WIDTHS.pack(count_width, gap_width)
            + counts.astype(_DTYPES[count_width]).tobytes()
            + gaps.astype(_DTYPES[gap_width]).tobytes()
        )
    return (
        _WIDTHS.pack(count_width, gap_width)
        + _le(array(_TYPECODES[count_width], counts))
        + _le(array(_TYPECODES[gap_width], gaps))
    )


def _positions_lists(data: bytes, count: int) -> tuple[list[int], list[int]]:
    """:func:`read_positions_block` as lists, without numpy (Whoosh's matcher, merges)."""
    count_width, gap_width = _WIDTHS.unpack_from(data)
    at = _WIDTHS.size
    counts = _from_le(_TYPECODES[count_width], data[at : at + count_width * count]).tolist()
    at += count_width * count
    total = sum(counts)
    gaps = _from_le(_TYPECODES[gap_width], data[at : at + gap_width * total]).tolist()
    return counts, gaps


def read_positions_block(data: bytes, count: int) -> tuple[np.ndarray, np.ndarray]:
    """(positions a posting as int64, gaps as int64) of an inflated layout-2 values part."""
    count_width, gap_width = _WIDTHS.unpack_from(data)
    at = _WIDTHS.size
    counts = np.frombuffer(data, _DTYPES[count_width], count, at).astype(np.int64)
    at += count_width * count
    gaps = np.frombuffer(data, _DTYPES[gap_width], int(counts.sum()), at).astype(np.int64)
    return counts, gaps


def _encode_gaps(counts: Any, gaps: Any) -> Iterator[bytes]:
    """Positions.encode's bytes for each posting, from its gaps (what Whoosh's matcher and a
    merge ask for: the same bytes the posting was written from)."""
    flat = gaps.tolist() if isinstance(gaps, np.ndarray) else gaps
    at = 0
    for number in counts.tolist() if isinstance(counts, np.ndarray) else counts:
        yield pack_uint(number) + pickle.dumps(flat[at : at + number], 2)
        at += number


def _absolute(counts: np.ndarray, gaps: np.ndarray) -> np.ndarray:
    """Each posting's gaps summed into its positions, all postings at once."""
    if not len(gaps):
        return gaps
    total = np.cumsum(gaps)
    starts = _exclusive_cumsum(counts)
    before = np.where(starts > 0, total[np.maximum(starts - 1, 0)], 0)
    return total - np.repeat(before, counts)


def _blocks_positions(
    data: bytes, wanted: np.ndarray
) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]]:
    """(ids, counts, gaps) per block of one GovCodec extent holding a wanted id."""
    heads = []
    at, end = 4, len(data)
    while at < end:
        next_at, last_block, info = _head(data, at)
        heads.append((at, next_at, info))
        at = next_at
        if last_block:
            break
    lasts = np.array([info[1] for _, _, info in heads], dtype=np.int64)
    previous = np.concatenate(([0], lasts[:-1]))
    # A block holds ids in (previous block's last, its last]; the first block also id 0.
    below = np.searchsorted(wanted, previous, side="right")
    below[0] = 0
    needed = np.flatnonzero(np.searchsorted(wanted, lasts, side="right") > below)
    ids_parts, count_parts, gap_parts = [], [], []
    for number in needed.tolist():
        at, next_at, (count, _, _, _, _, _, flags, postings_size) = heads[number]
        start = at + _HEAD
        postings = data[start : start + postings_size]
        if flags & POSTINGS_ZLIB:
            postings = zlib.decompress(postings)
        deltas = np.frombuffer(postings, "<u4", count).astype(np.int64)
        deltas[0] += previous[number]
        ids_parts.append(np.cumsum(deltas))
        values = data[start + postings_size : next_at]
        if flags & VALUES_ZLIB:
            values = zlib.decompress(values)
        if flags & POSITIONS_ARRAYS:
            counts, gaps = read_positions_block(values, count)
        else:
            (number_of_values,) = _UINT.unpack_from(values)
            sizes = _from_le("I", values[4 : 4 + 4 * number_of_values])
            bounds = list(accumulate(sizes, initial=4 + 4 * number_of_values))
            found = pickled_gaps([values[a:b] for a, b in zip(bounds, bounds[1:], strict=False)])
            if found is None:
                raise _OutOfOrder
            counts, gaps = found[0].astype(np.int64), found[1].astype(np.int64)
        count_parts.append(counts)
        gap_parts.append(gaps)
    return ids_parts, count_parts, gap_parts


class _OutOfOrder(Exception):
    """A posting's positions are not in order: read them through Whoosh's decoder."""


def term_positions(
    reader: Any, fieldname: str, btext: bytes, info: Any, wanted: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(docnum of each position, position) of one term in one segment, for the wanted
    docnums (sorted, int64) only, in docnum then position order; any codec.

    In a GovCodec segment only the blocks holding a wanted docnum are inflated (their
    headers say their last id), and their positions are decoded as arrays: layout 2's
    directly, layout 1's Whoosh values with :func:`pickled_gaps`.
    """
    empty = np.zeros(0, dtype=np.int64)
    if info is None or not len(wanted):
        return empty, empty
    fieldobj = reader.schema[fieldname]
    if (
        not isinstance(info, _ViaReader)
        and isinstance(reader._terms._codec, GovCodec)
        and not info.is_inlined()
        and type(fieldobj.format) is formats.Positions
    ):
        offset, length = info.extent()
        if isinstance(length, tuple):
            (length,) = length
        data = reader._terms._postfile.get(offset, length)
        try:
            ids_parts, count_parts, gap_parts = _blocks_positions(data, wanted)
        except _OutOfOrder:
            pass
        else:
            if not ids_parts:
                return empty, empty
            ids = np.concatenate(ids_parts)
            counts = np.concatenate(count_parts)
            positions = _absolute(counts, np.concatenate(gap_parts))
            at = np.minimum(np.searchsorted(wanted, ids), len(wanted) - 1)
            keep = np.repeat(wanted[at] == ids, counts)
            return np.repeat(ids, counts)[keep], positions[keep]
    return _matcher_positions(reader, fieldname, btext, info, wanted)


def _matcher_positions(
    reader: Any, fieldname: str, btext: bytes, info: Any, wanted: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`term_positions` through Whoosh's matcher: whoosh3 segments, inlined terms,
    other formats. Blocks without a wanted docnum are passed over on their last id."""
    fieldobj = reader.schema[fieldname]
    decode = fieldobj.format.decoder("positions")
    if type(fieldobj.format) is formats.Positions:
        decode = decode_positions
    matcher = term_matcher(reader, fieldname, btext, info)
    wanted_list = wanted.tolist()
    wanted_set = set(wanted_list)
    docs: list[int] = []
    positions: list[int] = []

    def add(docnum: int, found: list[int]) -> None:
        docs.extend(repeat(docnum, len(found)))
        positions.extend(sorted(found))

    if isinstance(matcher, W3LeafMatcher) and not matcher._byteids:
        at = 0
        while matcher.is_active() and at < len(wanted_list):
            last = matcher._maxid
            if wanted_list[at] <= last:
                matcher._read_ids()
                matcher._read_values()
                for docnum, value in zip(matcher._ids, matcher._values, strict=True):
                    if docnum in wanted_set:
                        add(docnum, decode(value))
                at = bisect.bisect_right(wanted_list, last, at)
            matcher._next_block()
    else:
        while matcher.is_active():
            if matcher.id() in wanted_set:
                add(matcher.id(), list(matcher.value_as("positions")))
            matcher.next()
    return np.array(docs, dtype=np.int64), np.array(positions, dtype=np.int64)
