"""The Whoosh backend's Store and Writer: one index directory, written by one process at a time.

The writer's lock, batching, threads and identities are the ingestion side's
(``index/writer.py``); this module is how a batch reaches Whoosh: the segment writer
(forked processes for big batches), govmail's postings codec, the merge policy and the
commit (Whoosh writes its TOC to a temporary file and renames it, so readers see all of a
commit or none of it).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from whoosh import index as whoosh_index
from whoosh.filedb.filestore import FileStorage
from whoosh.reading import SegmentReader
from whoosh.writing import SegmentWriter

from analysis import ANALYSIS_VERSION
from backends.whoosh import patches
from backends.whoosh.schema import (
    SCHEMA,
    analysis_version,
    build_schema,
    index_codec,
    language_tagged,
)
from core.errors import IndexFormatError
from core.fields import STEMMED

# Documents to write (new plus rewritten) from which two writer processes pay: forking
# them costs ~0.1 s, analysis and postings cost ~2.5 ms CPU a document. At 1,000 new
# messages into a 20k index (+1,500 identity rewrites) the commit went from 11 s to 6 s.
BULK_THRESHOLD = 2000
# Whoosh's posting pool per writer process before it spills a sorted run to disk
# (Whoosh counts ~200 bytes a posting, ~28 KB a message of this corpus: 160 MB holds
# ~5,800 messages). A spill is costly (every posting pickled to a run file and merged
# back: +1 to +1.5 ms CPU a message), and so is memory (256 MB pools made two ~490 MB
# children, a 1.2 GB ingestion tree). So a commit holds at most MAX_BATCH new messages,
# which two writer processes index without spilling, and the tree stays near 750 MB
# whatever the archive's size. Measured at 20k messages: batch 20,000 with 128 MB
# pools 5.8 ms CPU a message; batch 10,000 with 160 MB pools 4.8 ms, 740 MB peak.
WRITER_MB = 160
MAX_BATCH = 10000
# Segments under this many documents are merged together once there are MERGE_COUNT of
# them; bigger ones are never merged by a commit.
SMALL_SEGMENT = 2000
MERGE_COUNT = 8


def _storage(index_dir: Path) -> FileStorage:
    """The index's files, read with plain reads rather than mmap.

    Whoosh maps every segment file it reads; the writer's lookups for rewrites touched
    them all, and the writing process's RSS grew with the index (1.1 GB at 100,000
    messages, most of the ingestion tree's peak, then counted again in every forked
    writer child). Plain reads keep it flat: 3,000 lookups at 100k messages took 1.6 s
    CPU and 44 MB, against 986 MB mapped.
    """
    return FileStorage(str(index_dir), supports_mmap=False)


def merge_small_segments(writer: SegmentWriter, segments: list[Any]) -> list[Any]:
    """The commit's merge policy: fold small segments together, never touch the big ones.

    Whoosh's default (MERGE_SMALL) merges a run of segments whose sizes it finds small
    against a Fibonacci bound; with bulk commits of even-sized segments (two of ~5,000
    documents per 10,000) that bound is reached at ~23 segments, and then one commit
    merges *every* segment in this process: at 100,000 messages a 1,000-message
    increment took over 7 minutes instead of seconds (a Whoosh merge costs ~3.5 ms CPU a
    document, more than indexing it). Here a commit merges at most MERGE_COUNT segments
    of under SMALL_SEGMENT documents (the leftovers of incremental runs): a few seconds.
    """
    small = [s for s in segments if s.doc_count_all() < SMALL_SEGMENT]
    if len(small) < MERGE_COUNT:
        return segments
    merged = {id(s) for s in small}
    for segment in small:
        reader = SegmentReader(writer.storage, writer.schema, segment)
        writer.add_reader(reader)
        reader.close()
    return [s for s in segments if id(s) not in merged]


def bulk_procs(documents: int) -> int:
    """Writer processes for a batch: two pay only for big batches on a multi-core machine."""
    if documents < BULK_THRESHOLD:
        return 1
    return min(2, os.cpu_count() or 1)


class WhooshWriter:
    """One batch on a Whoosh segment writer; ``replace`` finds the old document by id."""

    def __init__(self, store: WhooshStore, procs: int) -> None:
        self._store = store
        ix = store.ix
        if procs > 1:
            self._writer = ix.writer(
                procs=procs, multisegment=True, limitmb=WRITER_MB, codec=index_codec()
            )
        else:
            self._writer = ix.writer(limitmb=WRITER_MB, codec=index_codec())
        self._searcher: Any = None

    def _docnum(self, message_id: str) -> int | None:
        if self._searcher is None:
            self._searcher = self._store.ix.searcher()
        return self._searcher.document_number(message_id=message_id)

    def _whoosh_document(self, document: Mapping[str, Any]) -> dict[str, Any]:
        """The document with its stem sub-fields: each text in the language of the message."""
        found = dict(document)
        if self._store.stemmed:
            lang = document.get("lang")
            for name, sub in STEMMED.items():
                value = document.get(name)
                if value:
                    found[sub] = language_tagged(lang, value)
        return found

    def add(self, document: Mapping[str, Any]) -> None:
        self._writer.add_document(**self._whoosh_document(document))

    def replace(self, document: Mapping[str, Any]) -> None:
        docnum = self._docnum(document["message_id"])
        if docnum is not None:
            self._writer.delete_document(docnum)
        self._writer.add_document(**self._whoosh_document(document))

    def delete(self, message_id: str) -> None:
        docnum = self._docnum(message_id)
        if docnum is not None:
            self._writer.delete_document(docnum)

    def _close_searcher(self) -> None:
        if self._searcher is not None:
            self._searcher.close()
            self._searcher = None

    def commit(self) -> int:
        self._close_searcher()
        self._writer.commit(mergetype=merge_small_segments)
        return self._store.reopen()

    def cancel(self) -> None:
        self._close_searcher()
        self._writer.cancel()


class WhooshStore:
    """An index directory opened for writing (created with the schema when it is new)."""

    def __init__(self, index_dir: Path, procs: int | None = None, legacy: bool = False) -> None:
        """``legacy`` creates an index of the first analyzer: only for tests and benchmarks."""
        patches.apply()
        self.index_dir = Path(index_dir)
        self.index_dir.mkdir(parents=True, exist_ok=True)
        # None: decide per batch (bulk_procs); 1 forces the plain writer.
        self.procs = procs
        if whoosh_index.exists_in(str(self.index_dir)):
            self.ix = _storage(self.index_dir).open_index()
            version = analysis_version(self.ix.schema)
            if version != ANALYSIS_VERSION and not legacy:
                self.ix.close()
                raise IndexFormatError(
                    f"the index at {self.index_dir} was built with text analysis version "
                    f"{version} and this govmail writes version {ANALYSIS_VERSION}; "
                    "rebuild it: move the directory aside and index the sources into a new "
                    "one (`govmail index`, or `govmail reindex` for the configured sources); "
                    "searching the old one still works"
                )
            self._add_new_fields()
        else:
            self.ix = _storage(self.index_dir).create_index(build_schema(legacy=legacy))
        self.stemmed = analysis_version(self.ix.schema) == ANALYSIS_VERSION

    def _add_new_fields(self) -> None:
        """An index keeps the schema it was created with: fields added since join it here."""
        missing = [name for name in SCHEMA.names() if name not in self.ix.schema]
        if not missing or analysis_version(self.ix.schema) != ANALYSIS_VERSION:
            return
        writer = self.ix.writer()
        for name in missing:
            writer.add_field(name, SCHEMA[name])
        writer.commit()
        self.reopen()

    def reopen(self) -> int:
        self.ix.close()
        self.ix = _storage(self.index_dir).open_index()
        return self.generation()

    def generation(self) -> int:
        return int(self.ix.latest_generation())

    def writer(self, documents: int) -> WhooshWriter:
        procs = self.procs if self.procs is not None else bulk_procs(documents)
        return WhooshWriter(self, procs)

    def get_many(self, message_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        with self.ix.searcher() as searcher:
            found = {}
            for mid in message_ids:
                docnum = searcher.document_number(message_id=mid)
                if docnum is not None:
                    found[mid] = dict(searcher.stored_fields(docnum))
            return found

    def get(self, message_id: str) -> dict[str, Any] | None:
        return self.get_many([message_id]).get(message_id)

    def documents(self) -> Iterator[dict[str, Any]]:
        with self.ix.searcher() as searcher:
            for fields in searcher.all_stored_fields():
                yield dict(fields)

    def doc_count(self) -> int:
        return int(self.ix.doc_count())

    def close(self) -> None:
        self.ix.close()


def document_count(index_dir: Path) -> int:
    """Documents a reader sees now (0 when there is no index)."""
    if not whoosh_index.exists_in(str(index_dir)):
        return 0
    ix = whoosh_index.open_dir(str(index_dir))
    try:
        return int(ix.doc_count())
    finally:
        ix.close()
