"""Per-segment data cached by segment identity, shared by matching and facet counting.

A Whoosh segment never changes once written except for its deletions, so what is read
from it once (facet columns, field lengths, date keys) holds until the segment is merged
away or gains deletions; both change the key. Does not own what is cached: each user
gives the function that builds its data from a segment reader.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

T = TypeVar("T")


def segment_key(reader: Any) -> str:
    """Segment id, deletions and size: a new key whenever what the reader sees changes."""
    segment = getattr(reader, "segment", None)
    if callable(segment):
        seg = segment()
        return f"{seg.segment_id()}:{seg.deleted_count()}:{reader.doc_count_all()}"
    return f"{id(reader)}"


class SegmentCache(Generic[T]):
    """``build(reader)`` once per segment; segments gone from the index are dropped. Thread-safe."""

    def __init__(self, build: Callable[[Any], T]) -> None:
        self._build = build
        self._segments: dict[str, T] = {}
        self._lock = threading.Lock()

    def leaves(self, searcher: Any) -> list[tuple[Any, int, T]]:
        """(leaf reader, docnum offset, cached data) for each segment of the searcher."""
        out = []
        seen = set()
        for reader, offset in searcher.reader().leaf_readers():
            key = segment_key(reader)
            seen.add(key)
            with self._lock:
                data = self._segments.get(key)
            if data is None:
                # Built outside the lock: reading a big segment's columns takes seconds,
                # and two searches building the same segment at once both get equal data.
                data = self._build(reader)
                with self._lock:
                    self._segments[key] = data
            out.append((reader, offset, data))
        with self._lock:
            for key in list(self._segments):
                if key not in seen:
                    del self._segments[key]
        return out
