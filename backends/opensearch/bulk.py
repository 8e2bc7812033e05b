"""Bulk writes to the cluster: bounded batches, back-pressure, retries, a clear last error.

opensearch-py's ``helpers.streaming_bulk`` retries only per-item 429s and raises on the
first 5xx of a whole request; a cluster losing a node answers 503 for a moment, and its
write queue answers 429 under load, so both kinds are retried here, for the whole request
and item by item, with exponential backoff, and an error names what failed after the last
try. Documents are keyed by ``doc_id(message id)``, so sending a batch twice (a retry of a
request the cluster had applied, or a crash before the catalog committed) stores each
message once.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from backends.opensearch import ClusterError

log = logging.getLogger(__name__)

# A bulk request holds at most this many documents and about this many bytes: big enough
# to amortise a round trip, small enough that a retry resends little and no node's
# http.max_content_length (100 MB) or heap is approached.
BATCH_DOCS = 500
BATCH_BYTES = 5 * 1024 * 1024
TRIES = 8
FIRST_BACKOFF = 0.5
MAX_BACKOFF = 15.0
# OpenSearch refuses an _id longer than 512 bytes; Message-IDs can be longer.
MAX_ID_BYTES = 512
_HASHED = "sha256:"


def doc_id(message_id: str) -> str:
    """The document _id of a message: its Message-ID, or a digest of one too long."""
    if len(message_id.encode("utf-8")) <= MAX_ID_BYTES:
        return message_id
    return _HASHED + hashlib.sha256(message_id.encode("utf-8")).hexdigest()


def _retryable(status: int) -> bool:
    return status == 429 or status >= 500


def _batches(lines: Iterable[tuple[str, bytes]]) -> Iterator[list[tuple[str, bytes]]]:
    batch: list[tuple[str, bytes]] = []
    size = 0
    for item in lines:
        if batch and (len(batch) >= BATCH_DOCS or size + len(item[1]) > BATCH_BYTES):
            yield batch
            batch, size = [], 0
        batch.append(item)
        size += len(item[1])
    if batch:
        yield batch


def _send(client: Any, index: str, batch: list[tuple[str, bytes]], refresh: str | bool,
          sleep: Callable[[float], None]) -> int:
    """Send one batch until every item is acknowledged; returns how many were."""
    from opensearchpy.exceptions import ConnectionError as TransportConnectionError
    from opensearchpy.exceptions import TransportError

    pending = batch
    delay = FIRST_BACKOFF
    last = ""
    for attempt in range(1, TRIES + 1):
        body = b"".join(data for _, data in pending)
        try:
            answer = client.bulk(body=body, index=index, refresh=refresh)
        except TransportConnectionError as exc:
            last = f"no node answered ({exc.__class__.__name__})"
        except TransportError as exc:
            status = exc.status_code if isinstance(exc.status_code, int) else 0
            if not _retryable(status):
                raise ClusterError(f"bulk request to {index!r} refused: {status} "
                                   f"{exc.error}") from exc
            last = f"status {status}"
        else:
            failed: list[tuple[str, bytes]] = []
            for (key, data), item in zip(pending, answer["items"], strict=True):
                result = next(iter(item.values()))
                status = int(result.get("status", 500))
                if status < 300 or (status == 404 and "delete" in item):
                    continue
                if not _retryable(status):
                    raise ClusterError(f"document {key!r} refused by {index!r}: {status} "
                                       f"{result.get('error')}")
                failed.append((key, data))
                last = f"status {status} for {len(failed)} of {len(pending)} documents"
            if not failed:
                return len(batch)
            pending = failed
        if attempt < TRIES:
            log.warning("bulk to %s: %s; retrying in %.1fs (try %d of %d)",
                        index, last, delay, attempt, TRIES)
            sleep(delay)
            delay = min(delay * 2, MAX_BACKOFF)
    raise ClusterError(f"bulk request to {index!r} failed after {TRIES} tries: {last}")


def _run(client: Any, index: str, lines: Iterable[tuple[str, bytes]], refresh: str | bool,
         sleep: Callable[[float], None]) -> int:
    done = 0
    for batch in _batches(lines):
        done += _send(client, index, batch, refresh, sleep)
    return done


def bulk_index(
    client: Any,
    index: str,
    docs: Iterable[dict[str, Any]],
    id_field: str = "message_id",
    refresh: str | bool = False,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Index (create or replace) every document under ``doc_id(doc[id_field])``."""

    def lines() -> Iterator[tuple[str, bytes]]:
        for doc in docs:
            key = doc[id_field]
            action = json.dumps({"index": {"_id": doc_id(key)}})
            source = json.dumps(doc, ensure_ascii=False, default=str)
            yield key, f"{action}\n{source}\n".encode()

    return _run(client, index, lines(), refresh, sleep)


def bulk_delete(
    client: Any,
    index: str,
    message_ids: Iterable[str],
    refresh: str | bool = False,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Delete every message's document; one already gone counts as deleted."""
    lines = ((key, (json.dumps({"delete": {"_id": doc_id(key)}}) + "\n").encode())
             for key in message_ids)
    return _run(client, index, lines, refresh, sleep)
