"""The only index writer: lock, dedupe, batched two-phase commits, threads and identities.

:class:`IndexWriterSession` holds an exclusive ``flock`` on ``writer.lock`` in the
index directory (the kernel drops it when the process dies, even by SIGKILL, so no
lock is ever stale), opens or creates the Whoosh index and the catalog, and repairs
a crash between the two commits before it writes anything.

Messages are buffered per batch (``settings.batch_size``, at most :data:`MAX_BATCH`).
At each flush the threads the batch touches and the identities of every (name, address)
pair are recomputed (never the whole catalog row by row: see ``_thread_plan`` and
``_people_plan``), the new rows go into the catalog transaction, the new documents are
added with their final thread and author, and older documents whose thread, lists or
author changed are rewritten (searcher
lookup, ``delete_document``, ``add_document``: never ``update_document``, which
costs 50-260 ms a message). Then Whoosh commits (its TOC is written to a temporary
file and renamed, so readers see all of a commit or none of it) and only then the
catalog. It does not read or parse mail (``pipeline``) and does not decide which
sources are new (``incremental``).
"""

from __future__ import annotations

import errno
import fcntl
import gc
import json
import logging
import os
import signal
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC
from pathlib import Path
from types import TracebackType
from typing import Any

from whoosh import index as whoosh_index
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, W3PerDocReader, _lenfield, byte_to_length
from whoosh.filedb.filestore import FileStorage
from whoosh.writing import SegmentWriter

from core.config import Settings
from core.errors import IndexLocked
from core.records import Message
from index import threads
from index.catalog import (
    REPLY_PREFIX,
    Catalog,
    CatalogRow,
    SourceState,
    content_hash,
    epoch,
    merge_lists,
    row_from_message,
    split_lists,
    subject_key,
)
from index.document import Identity, author_text, to_document
from index.identity import Aliases, Observation, identity_row, resolve
from search.schema import SCHEMA, index_codec

log = logging.getLogger(__name__)


def _cached_reader(self: W3PerDocReader, fieldname: str, column: Any) -> Any:
    """``W3PerDocReader._cached_reader`` that also remembers a missing column.

    Whoosh caches only the columns it found, so at commit every posting of a field
    without lengths (each ID and KEYWORD field: about 20 postings a message) asked the
    filesystem again (one ``stat`` a posting, 9% of the commit). A segment's files never
    change once written, so the answer "no such column" holds for the reader's life.
    """
    readers = self._readers
    if fieldname in readers:
        return readers[fieldname]
    reader = self.column_reader(fieldname, column) if self.has_column(fieldname) else None
    readers[fieldname] = reader
    return reader


_whoosh_doc_field_length = W3PerDocReader.doc_field_length
# Segments up to this many documents get their lengths decoded once into a list: the
# segments a commit writes (MAX_BATCH / 2 documents each); readers of big segments keep
# Whoosh's per-call lookup rather than paying a full column decode on a first query.
_LENGTHS_TABLE_MAX = 50_000


def _doc_field_length(
    self: W3PerDocReader, docnum: int, fieldname: str, default: int = 0
) -> int | None:
    """``W3PerDocReader.doc_field_length`` from a list decoded once per field.

    A commit asks the length of (document, field) for every posting it writes: through
    Whoosh's column reader that was a chain of five calls a posting, ~15% of the commit.
    Same values, including Whoosh's None for a zero length byte.
    """
    if self._doccount > _LENGTHS_TABLE_MAX:
        return _whoosh_doc_field_length(self, docnum, fieldname, default)
    tables = self.__dict__.setdefault("_govmail_lengths", {})
    table = tables.get(fieldname)
    if table is None:
        reader = self._cached_reader(_lenfield(fieldname), LENGTHS_COLUMN)
        table = tables[fieldname] = (
            () if reader is None
            else [byte_to_length(b) if b else None for b in map(reader.__getitem__,
                                                                range(self._doccount))]
        )
    if not table and self._doccount:
        return default
    if 0 <= docnum < len(table):
        return table[docnum]
    return _whoosh_doc_field_length(self, docnum, fieldname, default)


W3PerDocReader._cached_reader = _cached_reader  # type: ignore[method-assign]
W3PerDocReader.doc_field_length = _doc_field_length  # type: ignore[method-assign]

LOCK_NAME = "writer.lock"
CRASH_HOOK = "GOVMAIL_TEST_CRASH"
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
_IdentityTuple = tuple[str, str | None, str | None, str | None]


@dataclass(frozen=True, slots=True)
class _PeoplePlan:
    """Who wrote what after a batch: keys by (name, address), identities, what to rewrite."""

    key_of_pair: dict[tuple[str | None, str | None], str]
    identities: dict[str, Identity]
    table: dict[str, _IdentityTuple]
    # Indexed messages whose stored author fields change.
    rewrites: set[str]
    # (name, address) pairs whose person key changes.
    rekeyed: dict[tuple[str | None, str | None], str]

    def key_of(self, row: CatalogRow) -> str:
        return self.key_of_pair[(row.author_name, row.author_email)]

    def identity_of(self, row: CatalogRow) -> Identity:
        return self.identities[self.key_of(row)]


class WriterLock:
    """An exclusive ``flock`` on ``writer.lock``: waits up to ``timeout`` seconds."""

    def __init__(self, index_dir: Path, timeout: float) -> None:
        self.path = Path(index_dir) / LOCK_NAME
        self.timeout = timeout
        self._fd: int | None = None

    def acquire(self) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + self.timeout
        announced = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    os.close(fd)
                    raise
            if time.monotonic() >= deadline:
                holder = _read_holder(fd)
                os.close(fd)
                raise IndexLocked(
                    f"another govmail writer{holder} is updating {self.path.parent}; "
                    f"waited {self.timeout:g} s (raise lock_timeout to wait longer)"
                )
            if not announced:
                log.info("waiting for another writer to release %s", self.path)
                announced = True
            time.sleep(0.05)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def _read_holder(fd: int) -> str:
    try:
        pid = os.pread(fd, 32, 0).decode().strip()
    except OSError:
        return ""
    return f" (pid {pid})" if pid.isdigit() else ""


def _storage(index_dir: Path) -> FileStorage:
    """The index's files, read with plain reads rather than mmap.

    Whoosh maps every segment file it reads; the writer's lookups for rewrites touched
    them all, and the writing process's RSS grew with the index (1.1 GB at 100,000
    messages, most of the ingestion tree's peak, then counted again in every forked
    writer child). Plain reads keep it flat: 3,000 lookups at 100k messages took 1.6 s
    CPU and 44 MB, against 986 MB mapped.
    """
    return FileStorage(str(index_dir), supports_mmap=False)


def open_or_create(index_dir: Path) -> whoosh_index.FileIndex:
    index_dir.mkdir(parents=True, exist_ok=True)
    if whoosh_index.exists_in(str(index_dir)):
        return _storage(index_dir).open_index()
    return _storage(index_dir).create_index(SCHEMA)


class IndexWriterSession:
    """``with IndexWriterSession(settings) as w: w.add(message)``; commits on clean exit."""

    def __init__(
        self,
        settings: Settings,
        aliases: Aliases | None = None,
        procs: int | None = None,
    ) -> None:
        self.settings = settings
        self.index_dir = Path(settings.index_dir)
        self.aliases = aliases if aliases is not None else Aliases.load(settings.aliases)
        # None: decide per batch (bulk_procs); 1 forces the plain writer.
        self.procs = procs
        self.lock = WriterLock(self.index_dir, settings.lock_timeout)
        self.ix: whoosh_index.FileIndex | None = None
        self.catalog: Catalog | None = None
        self._pending: dict[str, Message] = {}
        self._relisted: set[str] = set()
        self._forced: set[str] = set()
        self._sources: list[SourceState] = []
        self._seen: list[tuple[str, list[tuple[str, int, float]]]] = []
        self._aliases_changed = False
        self.commits = 0
        self.rewritten = 0
        self.reconciled = 0

    # ---- lifecycle ----------------------------------------------------------

    def __enter__(self) -> IndexWriterSession:
        self.index_dir.mkdir(parents=True, exist_ok=True)
        self.lock.acquire()
        try:
            self.ix = open_or_create(self.index_dir)
            self.catalog = Catalog(self.index_dir)
            self._adopt_aliases()
            if self.catalog.needs_reconcile(self.ix.latest_generation()):
                self.reconcile()
        except BaseException:
            self._close()
            raise
        return self

    def _adopt_aliases(self) -> None:
        """Aliases given now replace the stored ones; none given means the stored ones hold.

        Without this, one ``govmail index`` run without ``--aliases`` would strip
        every affiliation and group the aliases file gave.
        """
        assert self.catalog is not None
        stored = self.catalog.get_meta("aliases")
        if not self.aliases:
            if stored:
                self.aliases = Aliases.from_json(json.loads(stored))
            return
        given = json.dumps(self.aliases.to_json(), sort_keys=True, ensure_ascii=False)
        if given != stored:
            self.catalog.set_meta("aliases", given)
            self._aliases_changed = True

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if exc_type is None:
                self.flush()
        finally:
            self._close()

    def _close(self) -> None:
        if self.catalog is not None:
            self.catalog.close()
            self.catalog = None
        if self.ix is not None:
            self.ix.close()
            self.ix = None
        self.lock.release()

    # ---- adding -------------------------------------------------------------

    def add(self, message: Message) -> bool:
        """Queue a message; False when its Message-ID is already indexed (a duplicate).

        A duplicate from a list the record does not have yet adds that list: a
        cross-post is one record that keeps every list.
        """
        assert self.catalog is not None
        mid = message.message_id
        pending = self._pending.get(mid)
        if pending is not None:
            lists = merge_lists(pending.lists, message.lists)
            if lists != pending.lists:
                self._pending[mid] = replace(pending, lists=lists)
            return False
        row = self.catalog.get(mid)
        if row is not None:
            lists = merge_lists(row.lists, message.lists)
            if lists != row.lists:
                self.catalog.set_lists(mid, lists)
                self._relisted.add(mid)
            return False
        self._pending[mid] = message
        if len(self._pending) >= min(self.settings.batch_size, MAX_BATCH):
            self.flush()
        return True

    def record_source(self, state: SourceState) -> None:
        """Remember a source's read state; committed with the next flush, never before."""
        self._sources.append(state)

    def record_seen_files(self, source: str, files: list[tuple[str, int, float]]) -> None:
        self._seen.append((source, files))

    @property
    def pending(self) -> int:
        return len(self._pending)

    # ---- flushing -----------------------------------------------------------

    def flush(self) -> None:
        """Write the pending batch and every follow-up rewrite; Whoosh commits, then the catalog."""
        assert self.catalog is not None and self.ix is not None
        catalog = self.catalog
        if not (
            self._pending
            or self._relisted
            or self._forced
            or self._sources
            or self._seen
            or self._aliases_changed
        ):
            return
        started = time.monotonic()
        catalog.begin()
        if not (self._pending or self._relisted or self._forced or self._aliases_changed):
            # Only source state moved (everything read was a duplicate): no
            # document changes, so no Whoosh commit is needed.
            self._record_sources()
            catalog.commit(self.ix.latest_generation())
            self._sources.clear()
            self._seen.clear()
            return
        new_rows = {mid: row_from_message(m) for mid, m in self._pending.items()}
        # Both plans read the catalog as it was before this batch.
        thread_of, moved = self._thread_plan(new_rows)
        people = self._people_plan(new_rows)
        catalog.put_many(
            replace(row, thread_id=thread_of[mid], author_key=people.key_of(row))
            for mid, row in new_rows.items()
        )
        rewrites = catalog.get_many(
            moved.keys() | people.rewrites | self._forced | self._relisted
        )
        new_docs = len(self._pending)
        # Whoosh forks its writer processes during this block. Frozen, the objects
        # they inherit are skipped by their garbage collections, which otherwise
        # write to every object and so copy the parent's whole heap into each child.
        gc.freeze()
        writer = self._writer(new_docs + len(rewrites))
        try:
            for message in self._pending.values():
                row = new_rows[message.message_id]
                message = replace(message, thread_id=thread_of[message.message_id])
                writer.add_document(**to_document(message, people.identity_of(row)))
            if rewrites:
                self._rewrite(writer, rewrites, moved, people)
            writer.commit(mergetype=merge_small_segments)
        except BaseException:
            writer.cancel()
            catalog.rollback()
            raise
        finally:
            gc.unfreeze()
        if os.environ.get(CRASH_HOOK) == "between-commits":
            # Test hook (tests/index/test_crash.py): die exactly where a crash
            # hurts most, after Whoosh committed and before the catalog did.
            os.kill(os.getpid(), signal.SIGKILL)
        self.ix = _storage(self.index_dir).open_index()
        generation = self.ix.latest_generation()
        catalog.set_threads(moved)
        for (name, email), key in people.rekeyed.items():
            catalog.set_author_key(name, email, key)
        catalog.replace_identities(people.table)
        self._record_sources()
        catalog.commit(generation)
        self.commits += 1
        self.rewritten += len(rewrites)
        log.info(
            "committed %d new and %d rewritten documents in %.1f s (generation %d)",
            new_docs,
            len(rewrites),
            time.monotonic() - started,
            generation,
        )
        self._pending.clear()
        self._relisted.clear()
        self._forced.clear()
        self._sources.clear()
        self._seen.clear()
        self._aliases_changed = False

    def _thread_plan(
        self, new_rows: dict[str, CatalogRow]
    ) -> tuple[dict[str, str], dict[str, str]]:
        """The new rows' threads, and the indexed messages whose thread changes.

        Only the threads a batch can touch are recomputed, whole: those of the indexed
        messages a new one names (In-Reply-To, References), of those that name a new
        one, and of its neighbours in its subject group (the message just before may
        become its parent, the one just after may take it as parent). Every message
        shares its parent's thread, so no parent link leaves that set, and a thread
        pass over it gives what a pass over the whole catalog gives (tested in
        tests/index/test_batch_equivalence.py), at the cost of the touched threads
        rather than of the archive: a full pass took 3 s at 100,000 messages and grew
        with every batch.
        """
        assert self.catalog is not None
        catalog = self.catalog
        named = {
            target
            for row in new_rows.values()
            for target in (row.in_reply_to, *row.refs)
            if target and target not in new_rows
        }
        touched = catalog.threads_of(named) | catalog.threads_linking_to(new_rows)
        for row in new_rows.values():
            key = subject_key(row)
            if key is not None:
                assert row.date is not None
                touched |= catalog.subject_neighbours(key, row.date, row.message_id)
        members = catalog.thread_members(touched)
        thread_of = threads.thread_ids(_node(row) for row in (*members, *new_rows.values()))
        moved = {
            row.message_id: thread_of[row.message_id]
            for row in members
            if thread_of[row.message_id] != row.thread_id
        }
        return {mid: thread_of[mid] for mid in new_rows}, moved

    def _people_plan(self, new_rows: dict[str, CatalogRow]) -> _PeoplePlan:
        """Identities over every (name, address) the catalog and the batch hold."""
        assert self.catalog is not None
        catalog = self.catalog
        before = catalog.author_pairs()
        weights: Counter[tuple[str | None, str | None]] = Counter()
        for name, email, _key, count in before:
            weights[(name, email)] += count
        for row in new_rows.values():
            weights[(row.author_name, row.author_email)] += 1
        tokens = {pair: str(number) for number, pair in enumerate(weights)}
        resolution = resolve(
            (Observation(tokens[pair], pair[0], pair[1], weight)
             for pair, weight in weights.items()),
            self.aliases,
        )
        key_of_pair = {pair: resolution.keys[token] for pair, token in tokens.items()}
        table = resolution.table()
        written = catalog.identities()
        rewrites: set[str] = set()
        rekeyed: dict[tuple[str | None, str | None], str] = {}
        for name, email, old_key, _count in before:
            new_key = key_of_pair[(name, email)]
            if written.get(old_key or "") != table[new_key]:
                rewrites.update(catalog.messages_of_author(name, email, old_key))
            if new_key != old_key:
                rekeyed[(name, email)] = new_key
        return _PeoplePlan(key_of_pair, resolution.identities, table, rewrites, rekeyed)

    def _record_sources(self) -> None:
        assert self.catalog is not None
        for state in self._sources:
            self.catalog.put_source(state)
        for source, files in self._seen:
            self.catalog.put_seen_files(source, files)

    def _writer(self, documents: int) -> SegmentWriter:
        assert self.ix is not None
        procs = self.procs if self.procs is not None else bulk_procs(documents)
        if procs > 1:
            return self.ix.writer(
                procs=procs, multisegment=True, limitmb=WRITER_MB, codec=index_codec()
            )
        return self.ix.writer(limitmb=WRITER_MB, codec=index_codec())

    def _rewrite(
        self,
        writer: SegmentWriter,
        rows: dict[str, CatalogRow],
        moved: dict[str, str],
        people: _PeoplePlan,
    ) -> None:
        """Delete and re-add documents from their stored fields with the new values."""
        with self.ix.searcher() as searcher:  # type: ignore[union-attr]
            for mid, row in rows.items():
                docnum = searcher.document_number(message_id=mid)
                if docnum is None:
                    log.warning("catalog row %s has no document; skipped", mid)
                    continue
                doc: dict[str, Any] = dict(searcher.stored_fields(docnum))
                identity = people.identity_of(row)
                doc["thread_id"] = moved.get(mid, row.thread_id) or mid
                doc["list"] = ",".join(row.lists)
                doc["author"] = identity.name
                doc["author_text"] = author_text(identity, row.author_name, row.author_email)
                for field, value in (
                    ("email", identity.email),
                    ("group", identity.group),
                    ("affiliation", identity.affiliation),
                ):
                    if value:
                        doc[field] = value
                    else:
                        doc.pop(field, None)
                writer.delete_document(docnum)
                writer.add_document(**doc)

    # ---- crash repair -------------------------------------------------------

    def reconcile(self) -> None:
        """Rebuild the catalog's message rows from the stored documents (Whoosh went ahead)."""
        assert self.catalog is not None and self.ix is not None
        catalog = self.catalog
        started = time.monotonic()
        stored: dict[str, tuple[CatalogRow, str, _IdentityTuple]] = {}
        with self.ix.searcher() as searcher:
            for fields in searcher.all_stored_fields():
                row, identity = _row_from_stored(fields)
                stored[row.message_id] = (row, fields.get("thread_id") or "", identity)
        catalog.begin()
        old = catalog.message_ids()
        catalog.delete_messages(old - stored.keys())
        for row, _thread, _identity in stored.values():
            catalog.put(row)
        resolution = resolve(
            (Observation(r.message_id, r.author_name, r.author_email) for r, _, _ in stored.values()),
            self.aliases,
        )
        # Documents written in the lost catalog transaction may carry a stale
        # thread or author: give each row the key it resolves to now, and force
        # a rewrite of those whose stored identity differs.
        catalog.set_author_keys(resolution.keys)
        catalog.replace_identities(resolution.table())
        self._forced = {
            mid
            for mid, (_row, _thread, identity) in stored.items()
            if identity != identity_row(resolution.identity_of(mid))
        }
        catalog.commit(self.ix.latest_generation())
        self.reconciled = len(stored.keys() - old)
        log.warning(
            "catalog was behind the index (a writer died between commits): %d rows "
            "restored, %d removed, %d to rewrite, in %.1f s",
            self.reconciled,
            len(old - stored.keys()),
            len(self._forced),
            time.monotonic() - started,
        )


# Segments under this many documents are merged together once there are MERGE_COUNT of
# them; bigger ones are never merged by a commit.
SMALL_SEGMENT = 2000
MERGE_COUNT = 8


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
    from whoosh.reading import SegmentReader

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


def _node(row: CatalogRow) -> threads.Node:
    return threads.Node(
        message_id=row.message_id,
        in_reply_to=row.in_reply_to,
        references=row.refs,
        subject_normalized=row.subject_normalized,
        is_reply=row.is_reply,
        date=row.date,
        list=row.lists[0] if row.lists else None,
    )


def _row_from_stored(fields: dict[str, Any]) -> tuple[CatalogRow, _IdentityTuple]:
    meta = json.loads(fields.get("meta_json") or "{}")
    source = json.loads(fields.get("source_json") or "{}")
    date = fields.get("date")
    if date is not None and date.tzinfo is None:
        date = date.replace(tzinfo=UTC)
    email = meta.get("author_email")
    refs = tuple((fields.get("references") or "").split())
    subject = fields.get("subject") or ""
    row = CatalogRow(
        message_id=fields["message_id"],
        thread_id=fields.get("thread_id"),
        in_reply_to=fields.get("in_reply_to"),
        refs=refs,
        subject_normalized=fields.get("subject_normalized") or "",
        is_reply=bool(fields.get("in_reply_to") or refs or REPLY_PREFIX.match(subject)),
        date=epoch(date),
        lists=split_lists(fields.get("list") or ""),
        author_name=meta.get("author_name"),
        author_email=email.lower() if email else None,
        author_key=None,
        source_path=source.get("path", ""),
        source_key=source.get("key", ""),
        content_hash=content_hash(
            subject, fields.get("original") or "", fields.get("quoted") or ""
        ),
    )
    identity = (
        fields.get("author") or "",
        fields.get("email"),
        fields.get("group"),
        fields.get("affiliation"),
    )
    return row, identity


def document_count(index_dir: Path) -> int:
    """Documents a reader sees now (0 when there is no index)."""
    if not whoosh_index.exists_in(str(index_dir)):
        return 0
    ix = whoosh_index.open_dir(str(index_dir))
    try:
        return int(ix.doc_count())
    finally:
        ix.close()


def identities_of(messages: Iterable[Message], aliases: Aliases | None = None) -> list[Identity]:
    """Resolve a set of messages on its own (what a fresh index would give them)."""
    messages = list(messages)
    resolution = resolve(
        (Observation(m.message_id, m.author.name, m.author.email) for m in messages), aliases
    )
    return [resolution.identity_of(m.message_id) for m in messages]
