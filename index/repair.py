"""Crash repair: the index committed a batch and the catalog did not (the writer died between).

The catalog is rebuilt from what the index stores, so no message is lost or counted twice;
documents written in the lost transaction may carry a stale thread or author, and are
rewritten by the next flush.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import UTC
from typing import Any

from core.backend import Store
from index.catalog import REPLY_PREFIX, Catalog, CatalogRow, content_hash, epoch, split_lists
from index.identity import Aliases, Observation, identity_row, resolve
from index.plans import IdentityTuple

log = logging.getLogger(__name__)


def reconcile(catalog: Catalog, store: Store, aliases: Aliases) -> tuple[set[str], int]:
    """Rebuild the catalog's message rows from the stored documents; returns the ids whose
    documents must be rewritten and how many rows were restored."""
    started = time.monotonic()
    stored: dict[str, tuple[CatalogRow, str, IdentityTuple]] = {}
    for fields in store.documents():
        row, identity = _row_from_stored(fields)
        stored[row.message_id] = (row, fields.get("thread_id") or "", identity)
    catalog.begin()
    old = catalog.message_ids()
    catalog.delete_messages(old - stored.keys())
    for row, _thread, _identity in stored.values():
        catalog.put(row)
    resolution = resolve(
        (Observation(r.message_id, r.author_name, r.author_email) for r, _, _ in stored.values()),
        aliases,
    )
    # Documents written in the lost catalog transaction may carry a stale
    # thread or author: give each row the key it resolves to now, and force
    # a rewrite of those whose stored identity differs.
    catalog.set_author_keys(resolution.keys)
    catalog.replace_identities(resolution.table())
    forced = {
        mid
        for mid, (_row, _thread, identity) in stored.items()
        if identity != identity_row(resolution.identity_of(mid))
    }
    catalog.commit(store.generation())
    restored = len(stored.keys() - old)
    log.warning(
        "catalog was behind the index (a writer died between commits): %d rows "
        "restored, %d removed, %d to rewrite, in %.1f s",
        restored,
        len(old - stored.keys()),
        len(forced),
        time.monotonic() - started,
    )
    return forced, restored


def _row_from_stored(fields: dict[str, Any]) -> tuple[CatalogRow, IdentityTuple]:
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
