"""Each backend the contract suite runs against, and how a test builds an index in it.

A backend is listed here with a factory that says whether it can run on this machine
(its client installed, its server reachable) and builds a fresh, empty index for one test
module. The Whoosh backend always runs; OpenSearch runs against the cluster named by
``GOVMAIL_OPENSEARCH_URLS`` (``.ci/run`` starts a 3-node one) and skips with its reason
without it.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

from backends import open_reader, open_store
from core.config import Settings
from core.records import Message
from index.document import Identity, to_document
from search.engine import Engine

BACKENDS = ("whoosh", "opensearch")
_COUNTER = itertools.count()


def settings_for(name: str, folder: Path) -> Settings:
    if name == "whoosh":
        return Settings(index_dir=folder / "index")
    urls = os.environ.get("GOVMAIL_OPENSEARCH_URLS", "")
    if not urls:
        pytest.skip("no OpenSearch cluster: set GOVMAIL_OPENSEARCH_URLS (.ci/run starts one)")
    pytest.importorskip("opensearchpy", reason="opensearch-py is not installed")
    # A fresh index per test: 3 primaries and a replica, as the cluster tests use.
    index = f"govmail-contract-{os.getpid()}-{next(_COUNTER)}"
    return Settings(backend="opensearch", index_dir=folder / "state",
                    opensearch_url=tuple(u.strip() for u in urls.split(",") if u.strip()),
                    opensearch_index=index, opensearch_shards=3, opensearch_replicas=1)


class Built:
    """One index in one backend: write records, open an engine over it."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._engines: list[Engine] = []

    def write(
        self,
        add: Iterable[tuple[Message, Identity]] = (),
        delete: Iterable[str] = (),
        replace: Iterable[dict[str, Any]] = (),
    ) -> None:
        store = open_store(self.settings, procs=1)
        try:
            pairs = list(add)
            writer = store.writer(len(pairs))
            for message, identity in pairs:
                writer.add(to_document(message, identity))
            for message_id in delete:
                writer.delete(message_id)
            for document in replace:
                writer.replace(document)
            writer.commit()
        finally:
            store.close()

    def engine(self, records: Iterable[tuple[Message, Identity]]) -> Engine:
        self.write(add=records)
        engine = Engine(self.settings)
        self._engines.append(engine)
        return engine

    def generation(self) -> int:
        reader = open_reader(self.settings)
        try:
            return reader.generation()
        finally:
            reader.close()

    def close(self) -> None:
        for engine in self._engines:
            engine.close()
        if self.settings.backend == "opensearch":
            from backends.opensearch.store import connect, drop

            client = connect(self.settings)
            drop(client, self.settings.opensearch_index)
            client.close()


def _built(name: str, tmp_path_factory: pytest.TempPathFactory) -> Built:
    return Built(settings_for(name, Path(tmp_path_factory.mktemp(name))))


@pytest.fixture(scope="module", params=BACKENDS)
def built(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
          ) -> Iterator[Built]:
    """One index per backend for a whole test module (read-only tests share it)."""
    found = _built(request.param, tmp_path_factory)
    yield found
    found.close()


@pytest.fixture(params=BACKENDS)
def fresh(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
          ) -> Iterator[Built]:
    """An empty index of its own, for a test that writes."""
    found = _built(request.param, tmp_path_factory)
    yield found
    found.close()
