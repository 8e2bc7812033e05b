"""A node lost during search and during indexing; `govmail index` SIGKILLed mid-bulk.

Real processes throughout: the cluster of ``contrib/opensearch/cluster.sh`` (3 nodes, the
index with 3 primaries and 1 replica), the real command line for indexing. With a replica
of every shard, stopping node 2 promotes replicas: every query keeps its exact total and
facet counts, and an indexing run that loses the node finishes, leaving each message once.
A run killed with SIGKILL during bulk indexing loses and duplicates nothing once re-run,
because documents are keyed by Message-ID and the catalog commits only after the cluster
acknowledged.

On a 2-core machine the two node-loss tests take 2 minutes (7 under heavy load from other
jobs), most of it the node restarts; the SIGKILL test about 1 minute.
"""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from core.config import Settings
from core.results import SearchRequest
from tests.opensearch.conftest import (
    client,
    cluster,
    govmail,
    index_name,
    popen,
    stats,
    write_config,
)

pytestmark = [pytest.mark.opensearch, pytest.mark.slow]

QUERIES = ("governance", "icann OR iana", '"internet governance"', "quoted:privacy", "dns")
NODE = "2"


def _engine(urls: list[str], config: Path) -> Any:
    from search.engine import Engine

    return Engine(Settings(backend="opensearch", index_dir=config.parent / "engine",
                           opensearch_url=tuple(urls), opensearch_index=index_name(config)))


def _answers(engine: Any) -> dict[str, tuple[int, dict[str, Any]]]:
    found = {}
    for query in QUERIES:
        results = engine.search(SearchRequest(query=query, sort="-date"))
        facets = {name: [(v.value, v.count) for v in values]
                  for name, values in results.facets.items()}
        found[query] = (results.total, facets)
    return found


def _green(urls: list[str]) -> None:
    found = client(urls)
    try:
        health = found.cluster.health(wait_for_status="green", wait_for_nodes=len(urls),
                                      request_timeout=180, params={"timeout": "170s"})
    finally:
        found.close()
    assert health["status"] == "green", health


def _indexed_operations(urls: list[str], config: Path) -> int:
    found = client(urls)
    try:
        stats = found.indices.stats(index=index_name(config), metric="indexing")
        return int(stats["_all"]["primaries"]["indexing"]["index_total"])
    except Exception:  # noqa: BLE001 - the index may not exist yet
        return 0
    finally:
        found.close()


def _unique_messages(tmp_path: Path, urls: list[str], *archives: Path) -> int:
    """How many messages the archives hold, as the Whoosh backend counts them."""
    (tmp_path / "whoosh").mkdir(exist_ok=True)
    whoosh = write_config(tmp_path / "whoosh", urls, backend="whoosh")
    for archive in archives:
        govmail("--config", str(whoosh), "index", str(archive))
    return int(stats(whoosh)["messages"])


@pytest.fixture(scope="module")
def second_archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("second") / "archive"
    govmail("sample", str(folder), "--messages", "1000", "--seed", "12")
    return folder


def test_node_lost_during_search_and_indexing(
    script_cluster: list[str], config: Path, archive: Path, second_archive: Path,
    tmp_path: Path,
) -> None:
    urls = script_cluster
    assert govmail("--config", str(config), "index", str(archive)).returncode == 0
    _green(urls)
    engine = _engine(urls, config)
    before = _answers(engine)

    # Queries run in a loop while node 2 stops; each must answer exactly as before.
    seen: list[dict[str, Any]] = []
    errors: list[BaseException] = []
    stopped = threading.Event()

    def loop() -> None:
        deadline = time.monotonic() + 300
        try:
            while time.monotonic() < deadline:
                seen.append(_answers(engine))
                if stopped.is_set() and len(seen) >= 3:
                    return
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)

    worker = threading.Thread(target=loop)
    worker.start()
    cluster("stop-node", NODE)
    stopped.set()
    after_stop = len(seen)
    worker.join(timeout=310)
    assert not errors, errors
    assert len(seen) > after_stop, "no query ran after the node stopped"
    assert all(answers == before for answers in seen)

    # Indexing with the node gone finishes and stores every message once.
    done = govmail("--config", str(config), "index", str(second_archive))
    assert done.returncode == 0, done.stderr
    cluster("start-node", NODE)
    _green(urls)
    expected = _unique_messages(tmp_path, urls, archive, second_archive)
    assert stats(config)["messages"] == expected
    assert _answers(engine).keys() == before.keys()
    engine.close()


def test_node_lost_in_the_middle_of_an_indexing_run(
    script_cluster: list[str], config: Path, archive: Path, tmp_path: Path,
) -> None:
    urls = script_cluster
    running = popen("--config", str(config), "index", str(archive))
    try:
        deadline = time.monotonic() + 300
        while _indexed_operations(urls, config) == 0 and running.poll() is None:
            assert time.monotonic() < deadline, "indexing never reached the cluster"
            time.sleep(0.2)
        cluster("stop-node", NODE)
        _, err = running.communicate(timeout=600)
        assert running.returncode == 0, err
    finally:
        if running.poll() is None:
            running.kill()
            running.communicate(timeout=30)
    cluster("start-node", NODE)
    _green(urls)
    assert stats(config)["messages"] == _unique_messages(tmp_path, urls, archive)


def test_sigkill_during_bulk_then_rerun_has_exact_counts(
    urls: list[str], config: Path, archive: Path, tmp_path: Path,
) -> None:
    running = popen("--config", str(config), "index", str(archive))
    try:
        deadline = time.monotonic() + 300
        while _indexed_operations(urls, config) == 0 and running.poll() is None:
            assert time.monotonic() < deadline, "indexing never reached the cluster"
            time.sleep(0.05)
        running.send_signal(signal.SIGKILL)
    finally:
        running.communicate(timeout=30)
    assert running.returncode == -signal.SIGKILL, "the run ended before it could be killed"
    done = govmail("--config", str(config), "index", str(archive))
    assert done.returncode == 0, done.stderr
    expected = _unique_messages(tmp_path, urls, archive)
    found = client(urls)
    try:
        found.indices.refresh(index=index_name(config))
        assert found.count(index=index_name(config))["count"] == expected
    finally:
        found.close()
    assert stats(config)["messages"] == expected
