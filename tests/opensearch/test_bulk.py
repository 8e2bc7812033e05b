"""bulk.py under back-pressure: 429s and 5xx for whole requests and single items are retried
until every document is stored once, and a cluster that never accepts fails clearly.

The flaky client wraps the real cluster's client and answers some requests with 429/503
(as a node with a full write queue or a node leaving does); the items it reports refused
were in fact applied, so a retry also proves the writes idempotent.
"""

from __future__ import annotations

from typing import Any

import pytest

pytest.importorskip("opensearchpy", reason="opensearch-py is not installed")

from opensearchpy.exceptions import TransportError  # noqa: E402

from backends.opensearch import ClusterError, bulk  # noqa: E402
from tests.opensearch.conftest import client  # noqa: E402

pytestmark = pytest.mark.opensearch


class Flaky:
    """The real client, with the first bulk requests refused or partly refused."""

    def __init__(self, real: Any, script: list[str]) -> None:
        self.real = real
        self.script = list(script)
        self.calls = 0

    def bulk(self, **kwargs: Any) -> dict[str, Any]:
        self.calls += 1
        step = self.script.pop(0) if self.script else "ok"
        if step in ("429", "503"):
            raise TransportError(int(step), "es_rejected_execution_exception", {})
        answer = self.real.bulk(**kwargs)
        if step == "items":
            for number, item in enumerate(answer["items"]):
                if number % 3 == 0:
                    next(iter(item.values()))["status"] = 429 if number % 2 else 503
        return answer


class Refusing:
    def __init__(self) -> None:
        self.calls = 0

    def bulk(self, **kwargs: Any) -> dict[str, Any]:
        self.calls += 1
        raise TransportError(429, "es_rejected_execution_exception", {})


def _docs(count: int) -> list[dict[str, Any]]:
    return [{"message_id": f"m{n}@bulk.test", "subject": f"subject {n}"} for n in range(count)]


@pytest.fixture
def real(urls: list[str]) -> Any:
    found = client(urls)
    name = "govmail-bulk-test"
    found.indices.delete(index=name, ignore_unavailable=True)
    found.indices.create(index=name, body={"settings": {"number_of_shards": 3,
                                                        "number_of_replicas": 1}})
    yield found
    found.indices.delete(index=name, ignore_unavailable=True)
    found.close()


def test_back_pressure_retried_without_loss_or_duplicates(real: Any, monkeypatch: Any
                                                          ) -> None:
    monkeypatch.setattr(bulk, "BATCH_DOCS", 100)
    flaky = Flaky(real, ["429", "items", "503", "items", "items"])
    slept: list[float] = []
    docs = _docs(450)
    done = bulk.bulk_index(flaky, "govmail-bulk-test", docs, sleep=slept.append)
    assert done == 450
    assert flaky.calls > 5 and slept  # backed off between tries
    real.indices.refresh(index="govmail-bulk-test")
    assert real.count(index="govmail-bulk-test")["count"] == 450
    # Deletes go through the same retries; a document already gone counts as deleted.
    flaky.script = ["503", "items"]
    gone = [d["message_id"] for d in docs[:120]] + ["never@bulk.test"]
    assert bulk.bulk_delete(flaky, "govmail-bulk-test", gone, sleep=slept.append) == 121
    real.indices.refresh(index="govmail-bulk-test")
    assert real.count(index="govmail-bulk-test")["count"] == 330


def test_long_message_ids_are_hashed_and_found_again(real: Any) -> None:
    long_id = "x" * 600 + "@bulk.test"
    assert len(bulk.doc_id(long_id)) < bulk.MAX_ID_BYTES
    assert bulk.doc_id("short@bulk.test") == "short@bulk.test"
    bulk.bulk_index(real, "govmail-bulk-test", [{"message_id": long_id}], refresh="wait_for")
    found = real.get(index="govmail-bulk-test", id=bulk.doc_id(long_id))
    assert found["_source"]["message_id"] == long_id


def test_a_cluster_that_never_accepts_fails_with_a_clear_error() -> None:
    refusing = Refusing()
    with pytest.raises(ClusterError, match=f"failed after {bulk.TRIES} tries: status 429"):
        bulk.bulk_index(refusing, "any", _docs(3), sleep=lambda _s: None)
    assert refusing.calls == bulk.TRIES


def test_a_document_the_cluster_refuses_for_good_is_named() -> None:
    class Mapping:
        def bulk(self, **kwargs: Any) -> dict[str, Any]:
            return {"items": [{"index": {"status": 400, "error": {"type": "mapper_parsing"}}}]}

    with pytest.raises(ClusterError, match="m0@bulk.test"):
        bulk.bulk_index(Mapping(), "any", _docs(1), sleep=lambda _s: None)
