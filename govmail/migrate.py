"""``govmail migrate --to opensearch``: a Whoosh index's messages into the configured cluster.

The records come from the Whoosh index's stored documents, not from parsing the sources
again. Stored documents are what the site answers with today, exactly: threads moved,
authors merged and quotes relinked by every later run, and nothing a source gained or lost
since. Parsing the sources again would give that only if every source were unchanged and
every ``--list`` name of every past run were repeated (the catalog keeps neither). Two
fields are indexed but not stored (``stored=False`` in ``core/fields.py``); they are made
as the indexer makes them: ``quoted_author_text`` from the stored quoted authors, and
``author_text`` from the author identities the catalog's observations resolve to (with
the configured aliases), the same function ``index/document.py`` and the writer use.

Resumable and idempotent: each document's ``_id`` is its Message-ID, so a batch sent twice
stores each message once; a run that stopped part way records the Whoosh generation it
read, and the next run against the same generation sends only what the cluster lacks.
The Whoosh catalog (sources, offsets, fingerprints, threads, identities) is copied beside
the OpenSearch configuration last, stamped with the cluster's generation, so that
``govmail reindex`` continues from where the Whoosh index stopped. The run ends by
counting: the cluster must hold exactly the Whoosh index's messages, else it fails with
one line.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.config import Settings
from core.errors import GovmailError, IndexNotFound

log = logging.getLogger(__name__)

# Documents read from Whoosh, checked against the cluster and sent per batch: one bulk
# round of bounded requests (backends/opensearch/bulk.py) and one progress record.
BATCH = 2000
# The metadata document that says which Whoosh generation a run was migrating.
PROGRESS_ID = "migration"


class MigrationFailed(GovmailError):
    """The cluster does not hold what the Whoosh index holds after a migration."""

    exit_status = 6


@dataclass(frozen=True, slots=True)
class MigrationReport:
    whoosh: int
    sent: int
    skipped: int
    cluster: int
    seconds: float

    def summary(self) -> str:
        return (f"migrated {self.whoosh} messages to OpenSearch: {self.sent} sent, "
                f"{self.skipped} already there, cluster holds {self.cluster}, "
                f"{self.seconds:.1f} s")


def _author_texts(catalog: Any, aliases: Any) -> dict[str, str]:
    """message id -> its author_text, from the catalog's observations, as the writer makes it."""
    from index.document import author_text
    from index.identity import Observation, resolve

    rows = list(catalog.rows())
    resolution = resolve(
        (Observation(r.message_id, r.author_name, r.author_email) for r in rows), aliases)
    return {r.message_id: author_text(resolution.identity_of(r.message_id), r.author_name,
                                      r.author_email) for r in rows}


def _quoted_author_text(stored: dict[str, Any]) -> str:
    # index/document.py stores the quoted authors comma-joined (a comma in a name became a
    # space) and indexes them one a line; a comma and a space make the same tokens.
    return "\n".join(a for a in (stored.get("quoted_author") or "").split(",") if a)


def _documents(reader: Any, ids: list[str], authors: dict[str, str]
               ) -> Iterator[dict[str, Any]]:
    for message_id in ids:
        stored = reader.get(message_id)
        if stored is None:
            continue
        stored["author_text"] = authors.get(message_id) or stored.get("author") or ""
        quoted = _quoted_author_text(stored)
        if quoted:
            stored["quoted_author_text"] = quoted
        yield stored


def _copy_catalog(source: Path, target: Path, generation: int) -> int:
    """The Whoosh catalog into the OpenSearch state folder (SQLite's online backup: a
    consistent copy), stamped with the cluster's generation; returns its message rows."""
    from index.catalog import CATALOG_NAME, Catalog

    target.mkdir(parents=True, exist_ok=True)
    for leftover in ("-wal", "-shm"):
        (target / (CATALOG_NAME + leftover)).unlink(missing_ok=True)
    src = sqlite3.connect(f"file:{source / CATALOG_NAME}?mode=ro", uri=True)
    dst = sqlite3.connect(target / CATALOG_NAME)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()
    catalog = Catalog(target)
    try:
        catalog.commit(generation)
        return catalog.count()
    finally:
        catalog.close()


def migrate(settings: Settings, whoosh_dir: Path, progress: bool = True) -> MigrationReport:
    """Copy every message of the Whoosh index at ``whoosh_dir`` into ``settings``' cluster."""
    from backends import open_reader, open_store
    from backends.opensearch.store import meta_index
    from core.errors import ConfigError
    from index.catalog import CATALOG_NAME, Catalog
    from index.incremental import source_aliases
    from index.lock import WriterLock

    started = time.monotonic()
    if settings.backend != "opensearch":
        raise ConfigError("govmail migrate --to opensearch needs backend = \"opensearch\" "
                          "and an [opensearch] table in the configuration file")
    whoosh_dir = Path(whoosh_dir).resolve()
    state = Path(settings.index_dir).resolve()
    if not (whoosh_dir / CATALOG_NAME).exists():
        raise IndexNotFound(f"no Whoosh index at {whoosh_dir}")
    if whoosh_dir == state:
        raise ConfigError(f"index_dir {state} is the Whoosh index itself; give the "
                          "OpenSearch configuration its own index_dir for its catalog")
    state.mkdir(parents=True, exist_ok=True)
    # Neither side changes while it is copied: a writer of either waits (or gives up).
    locks = [WriterLock(whoosh_dir, settings.lock_timeout), WriterLock(state, settings.lock_timeout)]
    for lock in locks:
        lock.acquire()
    try:
        whoosh_settings = settings.with_overrides(backend="whoosh", index_dir=whoosh_dir)
        reader = open_reader(whoosh_settings)
        catalog = Catalog(whoosh_dir)
        store = open_store(settings)
        try:
            whoosh_total = reader.doc_count()
            from_generation = reader.generation()
            authors = _author_texts(catalog, source_aliases(settings))
            ids = sorted(catalog.message_ids())
            client, index = store.client, store.index  # type: ignore[attr-defined]
            found = client.get(index=meta_index(index), id=PROGRESS_ID, ignore=404)
            resuming = bool(found.get("found")) and (
                found["_source"].get("whoosh") == str(whoosh_dir)
                and found["_source"].get("generation") == from_generation)
            client.index(index=meta_index(index), id=PROGRESS_ID, refresh=True,
                         body={"whoosh": str(whoosh_dir), "generation": from_generation})
            sent = skipped = 0
            for start in range(0, len(ids), BATCH):
                batch = ids[start:start + BATCH]
                if resuming:
                    there = _present(client, index, batch)
                    skipped += len(there)
                    batch = [m for m in batch if m not in there]
                writer = store.writer(len(batch))
                for document in _documents(reader, batch, authors):
                    writer.add(document)
                    sent += 1
                if batch:
                    writer.commit()
                if progress:
                    log.info("migrate: %d of %d", min(start + BATCH, len(ids)), len(ids))
            generation = store.generation()
            cluster_total = store.doc_count()
        finally:
            store.close()
            catalog.close()
            reader.close()
        if cluster_total != whoosh_total:
            raise MigrationFailed(
                f"the cluster's index {settings.opensearch_index!r} holds {cluster_total} "
                f"messages and the Whoosh index {whoosh_dir} {whoosh_total}; migrate into a "
                "new [opensearch] index name (or delete this one) and run it again")
        rows = _copy_catalog(whoosh_dir, state, generation)
        if rows != cluster_total:
            raise MigrationFailed(
                f"the catalog lists {rows} messages and the cluster holds {cluster_total}; "
                f"run `govmail check --index {whoosh_dir}` and migrate again")
    finally:
        for lock in reversed(locks):
            lock.release()
    return MigrationReport(whoosh_total, sent, skipped, cluster_total,
                           time.monotonic() - started)


def _present(client: Any, index: str, ids: list[str]) -> set[str]:
    from backends.opensearch.bulk import doc_id

    keys = {doc_id(m): m for m in ids}
    docs = client.mget(index=index, body={"ids": list(keys)}, _source=False)["docs"]
    return {keys[d["_id"]] for d in docs if d.get("found")}

