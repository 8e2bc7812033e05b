"""The Whoosh backend's Store and Writer: one index directory, written by one process at a time.

The writer's lock, batching, threads and identities are the ingestion side's
(``index/writer.py``); this module is how a batch reaches Whoosh: the segment writer
(forked processes for big batches), govmail's postings codec, the merge policy and the
commit (Whoosh writes its TOC to a temporary file and renames it, so readers see all of a
commit or none of it).
"""

from __future__ import annotations

import logging
import os
import queue
import signal
import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from whoosh import index as whoosh_index
from whoosh.filedb.filestore import FileStorage
from whoosh.multiproc import MpWriter, SubWriterTask
from whoosh.reading import SegmentReader
from whoosh.writing import SegmentWriter

from analysis import ANALYSIS_VERSION
from backends.whoosh import patches
from backends.whoosh.columns import write_column_caches
from backends.whoosh.integrity import _fsync_path, _storage, _write_checksums
from backends.whoosh.schema import (
    SCHEMA,
    analysis_version,
    build_schema,
    index_codec,
    with_stems,
)
from core.errors import IndexFormatError, WriterFailed

log = logging.getLogger(__name__)

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


# Test hook (tests/hardening/test_writer_child.py): a writer child dies (SIGKILL) or raises
# at this point of its work: "start", "job" (after its first job file), "finalize" (its
# segment written, its result not yet sent), or "raise" (an exception in its first job);
# "stop" stops it (SIGSTOP) and "busy:SECONDS" keeps it computing, both before its result.
CHILD_HOOK = "GOVMAIL_TEST_WRITER_CHILD"
# How long the parent waits on its children with no sign of progress (a job taken, a
# result sent) before it calls the batch failed. A child indexes a 100-document job file
# in well under a second; finalizing a 5,000-document segment took ~4 s on this machine.
CHILD_STALL = 300.0
# A child still burning CPU is not stalled: on a machine loaded tenfold a 10,000-document
# batch's children sent nothing for over 300 s while working, and the whole batch was
# thrown away and redone in-process. Their CPU time moving on restarts the wait, up to
# CHILD_BUSY_MAX in all, so a child spinning forever still ends the run.
CHILD_BUSY_MAX = 3600.0
# How often a wait looks at whether the children are still alive.
POLL = 0.2


def _cpu_ticks(pids: list[int | None]) -> int | None:
    """The CPU time (clock ticks) the processes have used so far; None where /proc cannot
    tell (another system, a process gone), so a wait falls back to the plain deadline."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat", "rb") as stat:
                # After the command in parentheses: state is field 3, utime 14, stime 15.
                fields = stat.read().rpartition(b")")[2].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, ValueError, IndexError, TypeError):
            return None
    return total


class _Patience:
    """A deadline that a sign of progress (a result, the children's CPU time moving on)
    pushes back by CHILD_STALL, never past CHILD_BUSY_MAX from the start."""

    def __init__(self, tasks: list[Any]) -> None:
        self._tasks = tasks
        self._started = time.monotonic()
        self._deadline = self._started + CHILD_STALL
        self._ticks = _cpu_ticks([t.pid for t in tasks])

    def progressed(self) -> None:
        self._deadline = time.monotonic() + CHILD_STALL

    def over(self) -> bool:
        now = time.monotonic()
        if now <= self._deadline:
            return False
        ticks = _cpu_ticks([t.pid for t in self._tasks])
        if (ticks is not None and self._ticks is not None and ticks > self._ticks
                and now < self._started + CHILD_BUSY_MAX):
            self._ticks = ticks
            self._deadline = now + CHILD_STALL
            return False
        return True


def _child_hook(point: str) -> None:
    wanted = os.environ.get(CHILD_HOOK, "")
    if wanted == point:
        os.kill(os.getpid(), signal.SIGKILL)
    if wanted == "raise" and point == "job":
        raise RuntimeError("injected writer child failure")
    if point == "finalize" and wanted == "stop":
        os.kill(os.getpid(), signal.SIGSTOP)  # hung: alive, using no CPU
    if point == "finalize" and wanted.startswith("busy:"):
        until = time.monotonic() + float(wanted[5:])  # slow: alive and working
        while time.monotonic() < until:
            pass


class _DurableCommit:
    """Segment files reach the disk before the TOC that names them, and the TOC before the catalog.

    Whoosh writes the TOC to a temporary file and renames it, but fsyncs nothing: after a
    power loss the new TOC could name segment files whose blocks never reached the disk.
    """

    storage: FileStorage
    indexname: str

    def _commit_toc(self, segments: list[Any]) -> None:
        folder = Path(self.storage.folder)
        ids = tuple(s.segment_id() for s in segments)
        for path in folder.iterdir():
            if path.name.startswith(ids) and path.is_file():
                _fsync_path(path)
        super()._commit_toc(segments)  # type: ignore[misc]
        for path in folder.glob(f"_{self.indexname}_*.toc"):
            _fsync_path(path)
        _write_checksums(folder, segments)
        _fsync_path(folder)


class _DurableSegmentWriter(_DurableCommit, SegmentWriter):
    pass


class _Task(SubWriterTask):
    """Whoosh's writer child, with the test hook at the points where a death hurts."""

    def run(self) -> None:
        _child_hook("start")
        real = self.resultqueue

        class _Results:
            def put(self, item: Any, *args: Any, **kwargs: Any) -> None:
                _child_hook("finalize")
                real.put(item, *args, **kwargs)

        self.resultqueue = _Results()
        super().run()

    def _process_file(self, filename: str, doc_count: int) -> None:
        super()._process_file(filename, doc_count)
        _child_hook("job")


class _VerifiedMpWriter(_DurableCommit, MpWriter):
    """Whoosh's multiprocess writer, which trusts its children; this one checks them.

    Whoosh's ``MpWriter`` blocks forever on a full job queue once its children died, and
    at commit takes each child's result with ``get(timeout=1)``, dropping a missing one:
    a child killed by the OOM killer lost its documents silently while the catalog
    recorded them, and later runs counted them as duplicates. Here every wait is bounded
    and watches the children, and the commit goes on only if every child exited 0 and
    the segments they wrote hold exactly the documents sent to them; otherwise it raises
    :class:`WriterFailed` before the TOC is written, so the index is unchanged.
    """

    def __init__(self, ix: Any, **kwargs: Any) -> None:
        super().__init__(ix, **kwargs)
        self._sent = 0

    def _new_task(self) -> _Task:
        task = _Task(
            self.storage,
            self.indexname,
            self.jobqueue,
            self.resultqueue,
            self.subargs,
            self.multisegment,
        )
        self.tasks.append(task)
        task.start()
        return task

    def _dead(self) -> str | None:
        for task in self.tasks:
            if task.exitcode not in (None, 0):
                return f"a writer process died (exit status {task.exitcode})"
        return None

    def _put(self, item: Any) -> None:
        patience = _Patience(self.tasks)
        while True:
            try:
                self.jobqueue.put(item, timeout=POLL)
                return
            except queue.Full:
                dead = self._dead()
                if dead:
                    raise WriterFailed(dead) from None
                if patience.over():
                    raise WriterFailed(
                        f"the writer processes took no job for {CHILD_STALL:.0f} s "
                        "and used no CPU meanwhile"
                    ) from None

    def _enqueue(self) -> None:
        # Whoosh's own _enqueue, with the bounded put: write the job file, start a
        # child if there are fewer than procs, hand the file over.
        import pickle

        from whoosh.util import random_name

        length = len(self.docbuffer)
        filename = f"{random_name()}.doclist"
        with self.temp_storage().create_file(filename).raw_file() as f:
            for item in self.docbuffer:
                pickle.dump(item, f, 2)
        if len(self.tasks) < self.procs:
            self._new_task()
        self._put((filename, length))
        self._sent += length
        self.docbuffer = []

    def _results(self) -> list[Any]:
        results: list[Any] = []
        patience = _Patience(self.tasks)
        while len(results) < len(self.tasks):
            try:
                results.append(self.resultqueue.get(timeout=POLL))
                patience.progressed()
                continue
            except queue.Empty:
                pass
            dead = self._dead()
            if dead:
                raise WriterFailed(dead)
            if all(task.exitcode == 0 for task in self.tasks):
                # Every child exited cleanly; a result it sent is in the pipe by now.
                try:
                    results.append(self.resultqueue.get(timeout=1.0))
                    continue
                except queue.Empty:
                    raise WriterFailed("a writer process exited without its segment") from None
            if patience.over():
                raise WriterFailed(f"the writer processes sent nothing for {CHILD_STALL:.0f} s "
                                   "and used no CPU meanwhile")
        for task in self.tasks:
            task.join(timeout=CHILD_STALL)
        dead = self._dead()
        if dead:
            raise WriterFailed(dead)
        return results

    def _commit(self, mergetype: Any, optimize: Any, merge: Any) -> None:
        assert self.multisegment, "only the multisegment path is verified"
        try:
            if self.docbuffer:
                self._enqueue()
            for _task in self.tasks:
                self._put(None)
            results = self._results()
            written = sum(segment.doc_count_all() for _, _, segment in results)
            if written != self._sent:
                raise WriterFailed(
                    f"the writer processes wrote {written} of {self._sent} documents"
                )
        except BaseException:
            self.cancel()
            raise
        finalsegments = self._merge_segments(mergetype, optimize, merge)
        finalsegments += [segment for _, _, segment in results]
        if self._added:
            finalsegments.append(self._finalize_segment())
        else:
            self._close_segment()
        self._commit_toc(finalsegments)
        self._finish()

    def cancel(self) -> None:
        if self.is_closed:
            return
        for task in self.tasks:
            if task.is_alive():
                task.kill()
        for task in self.tasks:
            task.join(timeout=10.0)
        SegmentWriter.cancel(self)


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
            self._writer: SegmentWriter = _VerifiedMpWriter(
                ix, procs=procs, multisegment=True, limitmb=WRITER_MB, codec=index_codec()
            )
        else:
            self._writer = _DurableSegmentWriter(ix, limitmb=WRITER_MB, codec=index_codec())
        self._searcher: Any = None

    def _docnum(self, message_id: str) -> int | None:
        if self._searcher is None:
            self._searcher = self._store.ix.searcher()
        return self._searcher.document_number(message_id=message_id)

    def _whoosh_document(self, document: Mapping[str, Any]) -> dict[str, Any]:
        """The document with its stem sub-fields: each text in the language of the message."""
        return with_stems(document) if self._store.stemmed else dict(document)

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
        try:
            self._writer.commit(mergetype=merge_small_segments)
        except WriterFailed:
            # The rest of this session writes in its own process: the batch is
            # retried there (index/writer.py), where no child can vanish with it.
            self._store.procs = 1
            raise
        generation = self._store.reopen()
        self._store.write_column_caches()
        return generation

    def cancel(self) -> None:
        self._close_searcher()
        if not self._writer.is_closed:
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
                    "rebuild it with `govmail rebuild` (it indexes the sources into a new "
                    "directory and swaps it in); searching the old one still works"
                )
            self._clean_leftovers()
            self._add_new_fields()
        else:
            self.ix = _storage(self.index_dir).create_index(build_schema(legacy=legacy))
        self.stemmed = analysis_version(self.ix.schema) == ANALYSIS_VERSION

    def _clean_leftovers(self) -> None:
        """Remove what a failed or killed writer left: segment files no TOC names, temp dirs.

        Only the lock holder gets here, so nothing else is writing them; readers only open
        segments a TOC names. Without this a run of full-disk failures kept its debris.
        """
        import shutil

        from whoosh.index import clean_files

        toc = self.ix._read_toc()
        clean_files(self.ix.storage, self.ix.indexname, toc.generation, toc.segments)
        for path in self.index_dir.glob("*.tmp"):
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)

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

    def write_column_caches(self) -> None:
        """Facet columns of new segments, so the next reader loads instead of computing."""
        try:
            with self.ix.searcher() as searcher:
                write_column_caches(searcher, self.index_dir)
        except OSError as exc:
            # Only a cache: a reader computes what is missing.
            log.warning("facet columns not written to %s: %s", self.index_dir, exc)

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
