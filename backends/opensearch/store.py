"""The OpenSearch backend's Store and Writer: batches bulk-indexed, idempotent by message id.

A batch is buffered in the writer and sent at ``commit`` (``bulk.py``: bounded requests,
back-pressure, retries on 429 and 5xx), with ``refresh`` so that it is searchable when
``commit`` returns; only then does the ingestion side commit its catalog. Every document's
``_id`` is its Message-ID, so a batch sent twice (a crash after the cluster acknowledged
it but before the catalog committed) leaves each message once.

The generation (what the catalog records, to notice a commit it missed) is a counter in a
small metadata document beside the messages, bumped after each acknowledged batch.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from opensearchpy import OpenSearch

from analysis import ANALYSIS_VERSION
from backends.opensearch import bulk
from backends.opensearch import connect as _connect
from backends.opensearch.mapping import from_source, index_body, properties, to_source
from core.config import Settings
from core.errors import IndexFormatError

# Documents per scroll page when every document is read (repair, migration).
SCAN_PAGE = 1000


def connect(settings: Settings) -> OpenSearch:
    return _connect(
        list(settings.opensearch_url),
        verify_certs=settings.opensearch_verify_certs,
        ca_certs=settings.opensearch_ca_file,
        credentials_file=settings.opensearch_credentials_file,
    )


def meta_index(index: str) -> str:
    return f"{index}-govmail-meta"


def concrete(alias: str, number: int) -> str:
    """The name of the number-th index behind an alias (a rebuild takes the next)."""
    return f"{alias}-{number:06d}"


def behind(client: OpenSearch, alias: str) -> list[str]:
    """The concrete indexes an alias points at (none when it is missing)."""
    # ignore=404: a first run has no alias yet, and the client would log the 404.
    found = client.indices.get_alias(name=alias, ignore=404)
    if found.get("status") == 404 and "error" in found:
        return []
    return sorted(found)


def create(client: OpenSearch, settings: Settings, name: str) -> None:
    body = index_body(settings.opensearch_shards, settings.opensearch_replicas)
    client.indices.create(index=name, body=body)


def swap(client: OpenSearch, alias: str, new: str) -> list[str]:
    """Point the alias at ``new`` and away from every index it pointed at, in one request
    (readers see the old index or the new one, never neither); returns the old ones."""
    old = [name for name in behind(client, alias) if name != new]
    actions: list[dict[str, Any]] = [{"remove": {"index": o, "alias": alias}} for o in old]
    actions.append({"add": {"index": new, "alias": alias, "is_write_index": True}})
    client.indices.update_aliases(body={"actions": actions})
    return old


def drop(client: OpenSearch, alias: str) -> None:
    """Delete the indexes behind an alias and its metadata index (tests, `migrate`)."""
    names = behind(client, alias) + [meta_index(alias)]
    if client.indices.exists(index=alias) and not behind(client, alias):
        names.append(alias)
    client.indices.delete(index=",".join(names), ignore_unavailable=True)


def check_analysis(client: OpenSearch, index: str) -> None:
    """Refuse an index whose tokens another text analysis made (mixing the two would answer
    wrongly without a sign); the first mapping recorded none, which is version 1."""
    for name, found in client.indices.get_mapping(index=index).items():
        version = (found.get("mappings", {}).get("_meta") or {}).get("analysis_version", 1)
        if version != ANALYSIS_VERSION:
            raise IndexFormatError(
                f"the OpenSearch index {name} was built with text analysis version {version} "
                f"and this govmail uses version {ANALYSIS_VERSION}; index the sources into a "
                "new alias and move the alias to it (README: Scaling out, Aliases)"
            )


def ensure_index(client: OpenSearch, settings: Settings) -> None:
    """Create the messages index behind its alias (and the metadata index) if missing.

    govmail reads and writes through the alias ``opensearch_index``; the concrete index is
    ``NAME-000001``, so a rebuild can fill ``NAME-000002`` and swap the alias atomically.
    An index made by hand under the plain name is used as it is.
    """
    index = settings.opensearch_index
    if not client.indices.exists(index=index):
        first = concrete(index, 1)
        if not client.indices.exists(index=first):
            create(client, settings, first)
        swap(client, index, first)
    check_analysis(client, index)
    add_new_fields(client, index)
    meta = meta_index(index)
    if not client.indices.exists(index=meta):
        client.indices.create(
            index=meta,
            body={"settings": {"number_of_shards": 1,
                               "number_of_replicas": settings.opensearch_replicas},
                  "mappings": {"dynamic": False}},
        )
    client.cluster.health(index=index, wait_for_status="yellow")


def add_new_fields(client: OpenSearch, index: str) -> None:
    """Map the fields the field table gained since the index was made (Whoosh adds its own
    when it opens an index): the mapping is strict, so a document carrying one would be
    refused. Fields already mapped are left as they are (a mapping cannot change them)."""
    have: set[str] = set()
    for found in client.indices.get_mapping(index=index).values():
        have |= set(found.get("mappings", {}).get("properties", {}))
    missing = {name: prop for name, prop in properties().items() if name not in have}
    if missing:
        client.indices.put_mapping(index=index, body={"properties": missing})


def generation(client: OpenSearch, index: str) -> int:
    # ignore=404: a first run has no generation yet, and the client would log the 404.
    found = client.get(index=meta_index(index), id="generation", ignore=404)
    if not found.get("found"):
        return 0
    return int(found["_source"]["generation"])


def scan(client: OpenSearch, index: str) -> Iterator[dict[str, Any]]:
    """Every document, in _id order, a page at a time (search_after: no scroll context)."""
    after: list[Any] | None = None
    while True:
        body: dict[str, Any] = {"size": SCAN_PAGE, "sort": [{"message_id": "asc"}],
                                "query": {"match_all": {}}}
        if after is not None:
            body["search_after"] = after
        hits = client.search(index=index, body=body)["hits"]["hits"]
        for hit in hits:
            yield from_source(hit["_source"])
        if len(hits) < SCAN_PAGE:
            return
        after = hits[-1]["sort"]


def get_many(client: OpenSearch, index: str, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    wanted = list(dict.fromkeys(ids))
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(wanted), SCAN_PAGE):
        keys = [bulk.doc_id(m) for m in wanted[start : start + SCAN_PAGE]]
        docs = client.mget(index=index, body={"ids": keys})["docs"]
        for doc in docs:
            if doc.get("found"):
                document = from_source(doc["_source"])
                found[document["message_id"]] = document
    return found


class OpenSearchWriter:
    def __init__(self, store: OpenSearchStore) -> None:
        self._store = store
        self._upserts: dict[str, dict[str, Any]] = {}
        self._deletes: set[str] = set()

    def add(self, document: Mapping[str, Any]) -> None:
        source = to_source(dict(document))
        self._deletes.discard(source["message_id"])
        self._upserts[source["message_id"]] = source

    # An index action replaces the document with the same _id: add and replace are one.
    replace = add

    def delete(self, message_id: str) -> None:
        self._upserts.pop(message_id, None)
        self._deletes.add(message_id)

    def commit(self) -> int:
        store = self._store
        client, index = store.client, store.index
        if self._upserts:
            bulk.bulk_index(client, index, self._upserts.values(), id_field="message_id")
        if self._deletes:
            bulk.bulk_delete(client, index, sorted(self._deletes))
        client.indices.refresh(index=index)
        number = generation(client, index) + 1
        client.index(index=meta_index(index), id="generation", body={"generation": number},
                     refresh=True)
        self._upserts.clear()
        self._deletes.clear()
        return number

    def cancel(self) -> None:
        # Nothing reaches the cluster before commit.
        self._upserts.clear()
        self._deletes.clear()


class OpenSearchStore:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.index = settings.opensearch_index
        self.client = connect(settings)
        ensure_index(self.client, settings)

    def generation(self) -> int:
        return generation(self.client, self.index)

    def writer(self, documents: int) -> OpenSearchWriter:
        return OpenSearchWriter(self)

    def get(self, message_id: str) -> dict[str, Any] | None:
        return self.get_many([message_id]).get(message_id)

    def get_many(self, message_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        return get_many(self.client, self.index, message_ids)

    def documents(self) -> Iterator[dict[str, Any]]:
        return scan(self.client, self.index)

    def doc_count(self) -> int:
        return int(self.client.count(index=self.index)["count"])

    def close(self) -> None:
        self.client.close()
