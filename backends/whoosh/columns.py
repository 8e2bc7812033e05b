"""Facet counts from per-document values cached in memory (the Whoosh backend's columns).

Whoosh's ``groupedby`` runs a Python categoriser per matching document per facet
(p95 307 ms at 100k messages, performance-baseline.md §3). Instead each segment's
facet fields are read once from the postings into arrays indexed by document number;
joined over the searcher's global document numbers, and counting a result set is one
``bincount`` per facet. Segments are cached by id, so after a commit only the new
segments are read, and only the join is redone.

A segment's columns are also written beside it (``<segment id>.columns-v1.npz``), by the
writer after a commit or by the first reader that needs them, so a new process (every
``govmail search``) loads arrays instead of walking postings: at a million messages that
walk is most of the 5 s of the first faceted query. Whoosh deletes the file with its
segment (the name matches its segment-file pattern); a file of another layout version,
of other columns or of another size is ignored and rewritten.

Multi-valued fields (list, quoted_author) keep a tuple of values per document, so a
cross-posted message counts once under each list (STYLE.md §10's allow_overlap).
Documents without a value count in no bucket: there is no ``None`` bucket.
"""

from __future__ import annotations

import json
import os
import threading
import weakref
import zipfile
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from pathlib import Path
from typing import Any

import numpy as np

from backends.whoosh.codec import field_terms, read_term
from backends.whoosh.segments import SegmentCache
from core.fields import COLUMNS, FACETS, MULTI_VALUED

FACET_NAMES: tuple[str, ...] = tuple(FACETS)


@dataclass(slots=True)
class Columns:
    """Facet values per docnum and the id -> value table: of one segment (read once, cached
    by segment), or of a searcher's segments joined over its global docnums."""

    values: dict[str, list[str]]
    # Value id of each docnum, -1 for none.
    single: dict[str, np.ndarray]
    # Value ids of docnum d at values[offsets[d]:offsets[d + 1]].
    multi: dict[str, tuple[np.ndarray, np.ndarray]]
    # Live documents, and value-id counts over all of them (the empty query's facets:
    # 40-60 ms to count at 100,000 messages, asked for by every visit to the front page).
    live: int = 0
    whole: dict[str, Counter[int]] = dataclass_field(default_factory=dict)


def _read_segment(reader: Any, folder: Path | None = None) -> Columns:
    path = _cache_path(reader, folder)
    size = reader.doc_count_all()
    loaded = _load(path, size) if path is not None else None
    if loaded is not None:
        values, single, multi = loaded
    else:
        values, single, multi = _walk_postings(reader, size)
        if path is not None:
            _save(path, size, values, single, multi)
    return Columns(values, single, multi, reader.doc_count())


def _walk_postings(reader: Any, size: int) -> tuple[
    dict[str, list[str]], dict[str, np.ndarray], dict[str, tuple[np.ndarray, np.ndarray]]
]:
    values: dict[str, list[str]] = {}
    single: dict[str, np.ndarray] = {}
    multi: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for name, field in COLUMNS.items():
        names: list[str] = []
        postings: list[np.ndarray] = []
        for btext, info in field_terms(reader, field):
            names.append(btext.decode("utf-8"))
            postings.append(read_term(reader, field, btext, info)[0])
        values[name] = names
        if field in MULTI_VALUED:
            docnums = np.concatenate(postings) if postings else np.zeros(0, dtype=np.int64)
            value_ids = np.repeat(
                np.arange(len(postings), dtype=np.int32), [len(p) for p in postings]
            )
            # Stable: a document's values stay in value-id order.
            order = np.argsort(docnums, kind="stable")
            offsets = np.zeros(size + 1, dtype=np.int64)
            np.cumsum(np.bincount(docnums, minlength=size)[:size], out=offsets[1:])
            multi[name] = (offsets, value_ids[order])
        else:
            column = np.full(size, -1, dtype=np.int32)
            for value_id, docnums in enumerate(postings):
                column[docnums] = value_id
            single[name] = column
    return values, single, multi


CACHE_SUFFIX = ".columns-v1.npz"


def _cache_path(reader: Any, folder: Path | None) -> Path | None:
    """Beside the segment's files in the index folder; None for an index in memory."""
    segment = getattr(reader, "segment", None)
    if folder is None or not callable(segment):
        return None
    return folder / f"{segment().segment_id()}{CACHE_SUFFIX}"


def _load(path: Path, size: int) -> tuple[
    dict[str, list[str]], dict[str, np.ndarray], dict[str, tuple[np.ndarray, np.ndarray]]
] | None:
    try:
        with open(path, "rb") as handle, np.load(handle, allow_pickle=False) as stored:
            meta = json.loads(stored["meta"].tobytes())
            if meta.get("size") != size or meta.get("columns") != list(COLUMNS):
                return None
            values = meta["values"]
            single = {n: stored[f"single.{n}"] for n in COLUMNS if COLUMNS[n] not in MULTI_VALUED}
            multi = {
                n: (stored[f"offsets.{n}"], stored[f"ids.{n}"])
                for n in COLUMNS if COLUMNS[n] in MULTI_VALUED
            }
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        # Missing, half-written by a crashed process, or of another layout: walk the
        # postings again; the file is rewritten.
        return None
    return values, single, multi


def _save(path: Path, size: int, values: dict[str, list[str]], single: dict[str, np.ndarray],
          multi: dict[str, tuple[np.ndarray, np.ndarray]]) -> None:
    meta = json.dumps({"size": size, "columns": list(COLUMNS), "values": values},
                      ensure_ascii=False).encode("utf-8")
    arrays: dict[str, np.ndarray] = {"meta": np.frombuffer(meta, dtype=np.uint8)}
    arrays.update({f"single.{n}": column for n, column in single.items()})
    for n, (offsets, ids) in multi.items():
        arrays[f"offsets.{n}"], arrays[f"ids.{n}"] = offsets, ids
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
    try:
        with open(temporary, "wb") as out:
            np.savez(out, **arrays)
        os.replace(temporary, path)
    except OSError:
        # A read-only index (a server running as another user) works without the cache.
        temporary.unlink(missing_ok=True)


def write_column_caches(searcher: Any, folder: Path) -> None:
    """Reads (and so writes to disk) the columns of every segment that lacks them: the
    writer calls this after a commit, so the next process finds them ready."""
    for reader, _offset in searcher.reader().leaf_readers():
        path = _cache_path(reader, folder)
        if path is not None and not path.exists():
            _read_segment(reader, folder)


def _join(segments: list[tuple[Columns, int, int]]) -> Columns:
    """One array per facet over the whole index: a result set is then counted with one
    bincount a facet, not one a facet and segment (~200 segments at 1M messages)."""
    values: dict[str, list[str]] = {}
    single: dict[str, np.ndarray] = {}
    multi: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for name in COLUMNS:
        table: dict[str, int] = {}
        remaps = [
            np.array([table.setdefault(v, len(table)) for v in columns.values[name]], np.int32)
            for columns, _, _ in segments
        ]
        values[name] = list(table)
        if COLUMNS[name] in MULTI_VALUED:
            offsets = [np.zeros(1, dtype=np.int64)]
            ids = []
            base = 0
            for (columns, _, _), remap in zip(segments, remaps, strict=True):
                local_offsets, local_ids = columns.multi[name]
                offsets.append(local_offsets[1:] + base)
                ids.append(remap[local_ids])
                base += len(local_ids)
            multi[name] = (
                np.concatenate(offsets),
                np.concatenate(ids) if ids else np.zeros(0, np.int32),
            )
        else:
            parts = []
            for (columns, _, _), remap in zip(segments, remaps, strict=True):
                local = columns.single[name]
                mapped = np.full(len(local), -1, dtype=np.int32)
                present = local >= 0
                mapped[present] = remap[local[present]]
                parts.append(mapped)
            single[name] = np.concatenate(parts) if parts else np.zeros(0, np.int32)
    return Columns(values, single, multi, sum(c.live for c, _, _ in segments))


def _as_docnums(docnums: Iterable[int]) -> np.ndarray:
    if isinstance(docnums, np.ndarray):
        return docnums
    return np.fromiter(docnums, dtype=np.int64)


class FacetCounter:
    """Counts facet values over sets of global document numbers; thread-safe."""

    def __init__(self, folder: Path | None = None) -> None:
        """``folder``: the index directory, where segments' columns are kept on disk."""
        self._segments: SegmentCache[Columns] = SegmentCache(
            lambda reader: _read_segment(reader, folder))
        self._lock = threading.Lock()
        # A searcher sees fixed segments: their columns are joined once, and dropped with it.
        self._joined: weakref.WeakKeyDictionary[Any, Columns] = weakref.WeakKeyDictionary()

    def _columns(self, searcher: Any) -> Columns:
        with self._lock:
            found = self._joined.get(searcher)
        if found is None:
            segments = [
                (columns, offset, reader.doc_count_all())
                for reader, offset, columns in self._segments.leaves(searcher)
            ]
            found = _join(segments)
            with self._lock:
                self._joined[searcher] = found
        return found

    def count(
        self, searcher: Any, docnums: Iterable[int], names: tuple[str, ...] = FACET_NAMES
    ) -> dict[str, Counter[str]]:
        """Counts over global document numbers (live documents only)."""
        columns = self._columns(searcher)
        chosen = _as_docnums(docnums)
        # Callers pass live documents only, so as many as the live count are all of them.
        every = len(chosen) == columns.live
        totals: dict[str, Counter[str]] = {}
        for name in names:
            ids = columns.whole.get(name) if every else None
            if ids is None:
                ids = _value_ids(columns, name, chosen) if len(chosen) else Counter()
                if every:
                    columns.whole[name] = ids
            table = columns.values[name]
            totals[name] = Counter({table[value_id]: n for value_id, n in ids.items()})
        return totals


def _value_ids(columns: Columns, name: str, local: np.ndarray) -> Counter[int]:
    if COLUMNS[name] in MULTI_VALUED:
        offsets, value_ids = columns.multi[name]
        starts = offsets[local]
        lengths = offsets[local + 1] - starts
        # Each chosen document's run of value ids, laid end to end.
        runs = np.repeat(starts - (np.cumsum(lengths) - lengths), lengths)
        chosen = value_ids[runs + np.arange(len(runs))]
    else:
        chosen = columns.single[name][local]
        chosen = chosen[chosen >= 0]
    counts = np.bincount(chosen, minlength=len(columns.values[name]))
    present = np.flatnonzero(counts)
    return Counter(dict(zip(present.tolist(), counts[present].tolist(), strict=True)))
