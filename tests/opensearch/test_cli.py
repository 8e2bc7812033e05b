"""`govmail index/search/stats/serve` with backend = "opensearch", end to end through the CLI.

The same archive is indexed by the real command line into Whoosh and into the cluster;
search (totals, facet counts, the page's ids), stats and the web app's JSON API must agree.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from tests.opensearch.conftest import (
    environment,
    govmail,
    search_json,
    stats,
    write_config,
)

pytestmark = [pytest.mark.opensearch, pytest.mark.slow]

QUERIES = ("governance", '"internet governance"', "icann OR iana", "quoted:privacy",
           "from:mueller", "council date:2010", "all:whois list:governance", "dns NOT icann")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory, urls: list[str], archive: Path):
    folder = tmp_path_factory.mktemp("cli")
    whoosh = write_config(folder, urls, backend="whoosh")
    cluster = write_config(folder, urls)
    for config in (whoosh, cluster):
        done = govmail("--config", str(config), "index", str(archive))
        assert done.returncode == 0, done.stderr
    yield whoosh, cluster
    from tests.opensearch.conftest import drop

    drop(urls, cluster)


def test_index_reports_and_stats_agree(both: tuple[Path, Path]) -> None:
    whoosh, cluster = both
    left, right = stats(whoosh), stats(cluster)
    for key in ("messages", "authors", "lists", "first_date", "last_date"):
        assert left[key] == right[key], key
    assert right["messages"] == 1000


@pytest.mark.parametrize("query", QUERIES)
@pytest.mark.parametrize("sort", ["-date", "date"])
def test_search_same_totals_facets_and_page(both: tuple[Path, Path], query: str, sort: str
                                            ) -> None:
    left, right = (search_json(c, query, sort) for c in both)
    assert left["total"] == right["total"], query
    # Messages of the same second may tie at the page's edge; each engine breaks ties its
    # own way, so the page is compared by its dates, and by its ids away from the edge.
    assert [h["date"] for h in left["hits"]] == [h["date"] for h in right["hits"]], query
    edge = left["hits"][-1]["date"] if left["hits"] else None
    assert ({h["message_id"] for h in left["hits"] if h["date"] != edge}
            == {h["message_id"] for h in right["hits"] if h["date"] != edge}), query
    assert left["facets"] == right["facets"], query


def test_reindex_of_the_same_archive_adds_nothing(both: tuple[Path, Path], archive: Path
                                                  ) -> None:
    _, cluster = both
    done = govmail("--config", str(cluster), "index", str(archive))
    assert done.returncode == 0, done.stderr
    assert stats(cluster)["messages"] == 1000


def test_serve_answers_from_the_cluster(both: tuple[Path, Path]) -> None:
    whoosh, cluster = both
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "govmail.cli", "--config", str(cluster), "serve", "--host", "127.0.0.1",
         "--port", str(port)],
        env=environment(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=5) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.5)
        for query in QUERIES[:4]:
            url = f"{base}/api/search?" + urllib.parse.urlencode({"q": query})
            with urllib.request.urlopen(url, timeout=60) as answer:
                served = json.loads(answer.read())
            assert served["total"] == search_json(whoosh, query)["total"], query
        with urllib.request.urlopen(f"{base}/search?q=governance", timeout=60) as answer:
            page = answer.read().decode()
        assert "governance" in page and "<mark>" in page
    finally:
        server.terminate()
        server.communicate(timeout=30)
