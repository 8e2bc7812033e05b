"""The only index writer: lock, dedupe, batched two-phase commits, threads and identities.

:class:`IndexWriterSession` holds an exclusive ``flock`` on ``writer.lock`` in the
index directory (the kernel drops it when the process dies, even by SIGKILL, so no
lock is ever stale), opens or creates the Whoosh index and the catalog, and repairs
a crash between the two commits before it writes anything.

Messages are buffered per batch (``settings.batch_size``, at most :data:`MAX_BATCH`).
At each flush the threads the batch touches and the identities of every (name, address)
pair are recomputed (never the whole catalog row by row: see ``index/plans.py``), the new rows go into the catalog transaction, the new documents are
added with their final thread and author, and older documents whose thread, lists or
author changed are rewritten (searcher
lookup, ``delete_document``, ``add_document``: never ``update_document``, which
costs 50-260 ms a message). Then Whoosh commits (its TOC is written to a temporary
file and renamed, so readers see all of a commit or none of it) and only then the
catalog. It does not read or parse mail (``pipeline``) and does not decide which
sources are new (``incremental``).
"""

from __future__ import annotations

import contextlib
import errno
import gc
import json
import logging
import os
import shutil
import signal
import sqlite3
import time
from bisect import bisect_left
from collections.abc import Iterable, Iterator
from dataclasses import replace
from pathlib import Path
from types import TracebackType
from typing import Any

from backends import open_store
from core.backend import Writer
from core.config import Settings
from core.errors import DiskFull, WriterFailed
from core.records import Message, Quote
from index import footers, quote_links, repair
from index.catalog import (
    Catalog,
    CatalogRow,
    SourceState,
    epoch,
    merge_lists,
    row_from_message,
)
from index.document import Identity, author_text, quoted_author_fields, to_document
from index.identity import Aliases, Observation, resolve
from index.lock import WriterLock
from index.plans import PeoplePlan, people_plan, thread_plan

log = logging.getLogger(__name__)


CRASH_HOOK = "GOVMAIL_TEST_CRASH"
# Catalog meta key of the footers learned per list (index/footers.py).
FOOTERS_META = "learned_footers"
# At most this many new messages a commit: the Whoosh backend's writer processes index
# that many without spilling their posting pools (backends/whoosh/store.py).
MAX_BATCH = 10000


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
        self.store: Any = None
        self.catalog: Catalog | None = None
        self._pending: dict[str, Message] = {}
        self._relisted: set[str] = set()
        # The lists given to indexed messages since the last commit, kept to be written
        # again if a failed batch rolls the catalog's transaction back before a retry.
        self._relist_lists: dict[str, tuple[str, ...]] = {}
        self._forced: set[str] = set()
        self._sources: list[SourceState] = []
        self._seen: list[tuple[str, list[tuple[str, int, float]]]] = []
        self._aliases_changed = False
        self._index_ahead = False
        self.commits = 0
        self.rewritten = 0
        self.reconciled = 0

    # ---- lifecycle ----------------------------------------------------------

    def __enter__(self) -> IndexWriterSession:
        with self._disk_guard():
            self.index_dir.mkdir(parents=True, exist_ok=True)
            self.lock.acquire()
            try:
                self.store = open_store(self.settings, procs=self.procs)
                self.catalog = Catalog(self.index_dir)
                self._adopt_aliases()
                if self.catalog.needs_reconcile(self.store.generation()):
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
        if self.store is not None:
            self.store.close()
            self.store = None
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
                self._relist_lists[mid] = lists
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
        """Write the pending batch and every follow-up rewrite; Whoosh commits, then the catalog.

        A batch whose writer process died is retried once in this process (the store
        falls back to it); a full disk ends the run with :class:`DiskFull`, the index and
        catalog as the last commit left them.
        """
        with self._disk_guard():
            try:
                self._flush()
            except WriterFailed as exc:
                log.warning("%s; nothing of the batch was recorded, retrying in-process", exc)
                self._redo_uncommitted()
                self._flush()

    def _redo_uncommitted(self) -> None:
        """What the rollback of a failed batch undid outside the batch itself: relists, aliases."""
        assert self.catalog is not None
        for mid, lists in self._relist_lists.items():
            self.catalog.set_lists(mid, lists)
        if self._aliases_changed and self.aliases:
            self.catalog.set_meta(
                "aliases", json.dumps(self.aliases.to_json(), sort_keys=True, ensure_ascii=False)
            )

    @contextlib.contextmanager
    def _disk_guard(self) -> Iterator[None]:
        """A full file system, whoever noticed it (Whoosh, SQLite), becomes one DiskFull."""
        try:
            yield
        except OSError as exc:
            if exc.errno != errno.ENOSPC:
                raise
            raise self._disk_full() from exc
        except sqlite3.OperationalError as exc:
            # SQLite says "database or disk is full", or "disk I/O error" when its
            # WAL index cannot grow; the latter is a full disk only when space is gone.
            if "full" not in str(exc) and not (
                "disk I/O" in str(exc) and self._free_mb() < 1
            ):
                raise
            raise self._disk_full() from exc

    def _free_mb(self) -> int:
        try:
            return shutil.disk_usage(self.index_dir).free // (1024 * 1024)
        except OSError:
            return 0

    def _disk_full(self) -> DiskFull:
        free = self._free_mb()
        if self._index_ahead:
            # The index committed and the catalog could not: the next run's reconcile
            # records the batch from the index (index/repair.py).
            return DiskFull(
                f"disk full at {self.index_dir} ({free} MB free); the last batch is in the "
                "index and the next run records it in the catalog"
            )
        return DiskFull(f"disk full at {self.index_dir} ({free} MB free); the index is unchanged")

    def _flush(self) -> None:
        assert self.catalog is not None and self.store is not None
        self._index_ahead = False
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
            catalog.commit(self.store.generation())
            self._sources.clear()
            self._seen.clear()
            return
        self._strip_learned_footers()
        new_rows = {mid: row_from_message(m) for mid, m in self._pending.items()}
        # Both plans read the catalog as it was before this batch.
        thread_of, parent_of, moved = thread_plan(catalog, new_rows)
        people = people_plan(catalog, new_rows, self.aliases)
        relinked, relinked_indexed = self._link_quotes(dict(thread_of), moved)
        catalog.put_many(
            replace(row, thread_id=thread_of[mid], author_key=people.key_of(row))
            for mid, row in new_rows.items()
        )
        rewrites = catalog.get_many(
            moved.keys() | people.rewrites | self._forced | self._relisted
            | relinked_indexed.keys()
        )
        new_docs = len(self._pending)
        # Whoosh forks its writer processes during this block. Frozen, the objects
        # they inherit are skipped by their garbage collections, which otherwise
        # write to every object and so copy the parent's whole heap into each child.
        gc.freeze()
        writer = self.store.writer(new_docs + len(rewrites))
        try:
            for message in self._pending.values():
                mid = message.message_id
                message = replace(message, thread_id=thread_of[mid],
                                  quotes=relinked.get(mid, message.quotes))
                writer.add(to_document(message, people.identity_of(new_rows[mid]),
                                       parent_of.get(mid)))
            if rewrites:
                self._rewrite(writer, rewrites, moved, parent_of, people, relinked_indexed)
            generation = writer.commit()
        except BaseException:
            writer.cancel()
            catalog.rollback()
            raise
        finally:
            gc.unfreeze()
        self._index_ahead = True
        if os.environ.get(CRASH_HOOK) == "between-commits":
            # Test hook (tests/index/test_crash.py): die exactly where a crash
            # hurts most, after Whoosh committed and before the catalog did.
            os.kill(os.getpid(), signal.SIGKILL)
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
        self._relist_lists.clear()
        self._forced.clear()
        self._sources.clear()
        self._seen.clear()
        self._aliases_changed = False

    def _strip_learned_footers(self) -> None:
        """Learn each list's footers from the batch, keep them, strip them (index/footers.py)."""
        assert self.catalog is not None
        stored = json.loads(self.catalog.get_meta(FOOTERS_META) or "{}")
        known = {name: set(keys) for name, keys in stored.items()}
        for name, keys in footers.learn(self._pending.values()).items():
            known.setdefault(name, set()).update(keys)
        as_json = {name: sorted(keys) for name, keys in sorted(known.items())}
        if as_json != stored:
            self.catalog.set_meta(FOOTERS_META, json.dumps(as_json, ensure_ascii=False))
        self._pending.update(footers.apply(self._pending, known))

    def _link_quotes(
        self, thread_of: dict[str, str], moved: dict[str, str]
    ) -> tuple[dict[str, tuple[Quote, ...]], dict[str, str]]:
        """Quotes linked to the messages they quote (index/quote_links.py): the new quotes of
        the batch, and the new ``quotes_json`` of indexed messages the batch lets link.

        The quoted message may be read after the reply (a later batch, another source
        file), and a link must not depend on the order an archive is read in: the indexed
        members of the batch's threads are candidates to link again, as a fresh index
        would link them, when one of their candidates is new or has just changed.
        """
        assert self.catalog is not None
        pending = self._pending
        threads = {thread_of[mid] for mid in pending}
        # Members by their thread before this batch, and those the batch moves into one
        # of its threads (a reply read before its parent sat in a thread of its own).
        rows = {r.message_id: r for r in self.catalog.thread_members(threads)}
        rows.update(self.catalog.get_many(moved.keys() - pending.keys()))
        indexed: dict[str, CatalogRow] = {}
        dated: dict[str, list[tuple[float, str]]] = {}
        for row in rows.values():
            thread = moved.get(row.message_id, row.thread_id) or row.message_id
            if row.message_id in pending or thread not in threads:
                continue
            indexed[row.message_id] = row
            thread_of.setdefault(row.message_id, thread)
            if row.date is not None:
                dated.setdefault(thread, []).append((row.date, row.message_id))
        for mid, message in pending.items():
            when = epoch(message.date)
            if when is not None:
                dated.setdefault(thread_of[mid], []).append((when, mid))
        for members in dated.values():
            members.sort()

        def earlier(mid: str, when: float | None) -> list[str]:
            members = dated.get(thread_of[mid], [])
            end = bisect_left(members, (when, "")) if when is not None else 0
            start = max(0, end - quote_links.MAX_THREAD_CANDIDATES)
            return [m for _, m in reversed(members[start:end])]

        order: dict[str, list[str]] = {}
        for mid, message in pending.items():
            if quote_links.unlinked(message):
                order[mid] = quote_links.candidates(message, earlier(mid, epoch(message.date)))
        for mid, row in indexed.items():
            order[mid] = [c for c in dict.fromkeys(
                (row.in_reply_to, *reversed(row.refs), *earlier(mid, row.date))) if c and c != mid]
        if not order:
            return {}, {}
        changed = quote_links.link_batch(pending, order, self._quote_sources,
                                         self._stored_quotes, self._authors)
        relinked = {mid: q for mid, q in changed.items() if mid in pending}
        relinked_indexed = {
            mid: json.dumps([q.to_json() for q in quotes], ensure_ascii=False)
            for mid, quotes in changed.items() if mid not in pending}
        return relinked, relinked_indexed

    def _quote_sources(self, ids: set[str]) -> dict[str, quote_links.Source]:
        """Indexed messages as texts a quote can be found in."""
        assert self.store is not None
        found = {}
        for mid, doc in self.store.get_many(ids).items():
            meta = json.loads(doc.get("meta_json") or "{}")
            # Named as the message gave it, as a message of the batch is: not the identity's
            # name, which aliases change and which is "(unknown)" for no name at all.
            found[mid] = quote_links.Source.of(
                mid, meta.get("author_name") or meta.get("author_email"),
                doc.get("original") or "", doc.get("quoted") or "",
                doc.get("signature") or "", _quotes_of(doc))
        return found

    def _stored_quotes(self, ids: set[str]) -> dict[str, tuple[Quote, ...]]:
        assert self.store is not None
        return {mid: _quotes_of(doc) for mid, doc in self.store.get_many(ids).items()}

    def _authors(self, ids: set[str]) -> dict[str, str | None]:
        """Who wrote each indexed message of ``ids``, as a quote source names them."""
        assert self.catalog is not None
        return {mid: row.author_name or row.author_email
                for mid, row in self.catalog.get_many(ids).items()}

    def _record_sources(self) -> None:
        assert self.catalog is not None
        for state in self._sources:
            self.catalog.put_source(state)
        for source, files in self._seen:
            self.catalog.put_seen_files(source, files)

    def _rewrite(
        self,
        writer: Writer,
        rows: dict[str, CatalogRow],
        moved: dict[str, str],
        parent_of: dict[str, str],
        people: PeoplePlan,
        quotes_json: dict[str, str],
    ) -> None:
        """Replace documents, from their stored fields, with their new thread, parent, author
        and quote links."""
        assert self.store is not None
        stored = self.store.get_many(rows)
        for mid, row in rows.items():
            doc = stored.get(mid)
            if doc is None:
                log.warning("catalog row %s has no document; skipped", mid)
                continue
            identity = people.identity_of(row)
            doc["thread_id"] = moved.get(mid, row.thread_id) or mid
            doc["list"] = ",".join(row.lists)
            doc["author"] = identity.name
            doc["author_text"] = author_text(identity, row.author_name, row.author_email)
            if mid in quotes_json:
                doc["quotes_json"] = quotes_json[mid]
            # Not stored, so rebuilt; and a relinked quote may have gained its author.
            doc.update(quoted_author_fields(
                q.get("author") for q in json.loads(str(doc.get("quotes_json") or "[]"))))
            for field, value in (
                ("parent_id", parent_of.get(mid) if mid in moved else doc.get("parent_id")),
                ("email", identity.email),
                ("group", identity.group),
                ("affiliation", identity.affiliation),
            ):
                if value:
                    doc[field] = value
                else:
                    doc.pop(field, None)
            writer.replace(doc)

    # ---- crash repair -------------------------------------------------------

    def reconcile(self) -> None:
        """Rebuild the catalog's message rows from the stored documents (the index went ahead)."""
        assert self.catalog is not None and self.store is not None
        self._forced, self.reconciled = repair.reconcile(self.catalog, self.store, self.aliases)


def _quotes_of(doc: dict[str, Any]) -> tuple[Quote, ...]:
    return tuple(Quote(**q) for q in json.loads(doc.get("quotes_json") or "[]"))


def identities_of(messages: Iterable[Message], aliases: Aliases | None = None) -> list[Identity]:
    """Resolve a set of messages on its own (what a fresh index would give them)."""
    messages = list(messages)
    resolution = resolve(
        (Observation(m.message_id, m.author.name, m.author.email) for m in messages), aliases
    )
    return [resolution.identity_of(m.message_id) for m in messages]
