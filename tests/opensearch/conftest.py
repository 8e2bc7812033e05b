"""Real-cluster tests: the OpenSearch backend through the real command line and real nodes.

They need the cluster named by ``GOVMAIL_OPENSEARCH_URLS`` (``.ci/run`` starts a 3-node one
with ``contrib/opensearch/cluster.sh``) and skip with that reason without it. Tests that
stop and restart a node also need that cluster to be the script's (they drive it).
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
CLUSTER = ROOT / "contrib" / "opensearch" / "cluster.sh"
_COUNTER = itertools.count()
# Every wait on a subprocess is bounded; a node restart on a busy 2-core machine takes ~1 min.
CLI_TIMEOUT = 600


def cluster_urls() -> list[str]:
    urls = os.environ.get("GOVMAIL_OPENSEARCH_URLS", "")
    if not urls:
        pytest.skip("no OpenSearch cluster: set GOVMAIL_OPENSEARCH_URLS (.ci/run starts one)")
    pytest.importorskip("opensearchpy", reason="opensearch-py is not installed")
    return [u.strip() for u in urls.split(",") if u.strip()]


@pytest.fixture(scope="session")
def urls() -> list[str]:
    return cluster_urls()


@pytest.fixture(scope="session")
def script_cluster(urls: list[str]) -> list[str]:
    """The URLs, when the cluster is cluster.sh's own (so a test may stop a node)."""
    found = subprocess.run([str(CLUSTER), "urls"], capture_output=True, text=True, timeout=30)
    if found.returncode or found.stdout.split() != urls:
        pytest.skip("GOVMAIL_OPENSEARCH_URLS is not the cluster of contrib/opensearch/cluster.sh")
    if len(urls) < 3:
        pytest.skip("node-loss tests need 3 nodes (cluster.sh start 3)")
    return urls


def cluster(*args: str) -> str:
    done = subprocess.run([str(CLUSTER), *args], capture_output=True, text=True,
                          timeout=CLI_TIMEOUT)
    assert done.returncode == 0, done.stderr
    return done.stdout


def environment() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT)
    env.pop("GOVMAIL_INDEX", None)
    return env


def govmail(*args: str, check: bool = True, timeout: float = CLI_TIMEOUT
            ) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([sys.executable, "-m", "govmail.cli", *args], capture_output=True,
                          text=True, env=environment(), timeout=timeout, cwd=ROOT)
    if check:
        assert done.returncode in (0, 1), done.stderr
    return done


def popen(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "govmail.cli", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=environment(), cwd=ROOT)


def write_config(folder: Path, urls: list[str], backend: str = "opensearch") -> Path:
    """A configuration file for one test: its own index (alias) on the cluster."""
    name = f"govmail-test-{os.getpid()}-{next(_COUNTER)}"
    lines = [f'backend = "{backend}"', f'index_dir = "{folder / (backend + "-state")}"']
    if backend == "opensearch":
        quoted = ", ".join(json.dumps(u) for u in urls)
        lines += ["[opensearch]", f"url = [{quoted}]", f'index = "{name}"',
                  "shards = 3", "replicas = 1"]
    path = folder / f"{backend}.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def index_name(config: Path) -> str:
    for line in config.read_text(encoding="utf-8").splitlines():
        if line.startswith("index = "):
            return json.loads(line.split("=", 1)[1])
    raise AssertionError("no index in " + str(config))


def client(urls: list[str]) -> Any:
    from backends.opensearch import connect

    return connect(urls)


def drop(urls: list[str], config: Path) -> None:
    from backends.opensearch.store import drop as drop_index

    found = client(urls)
    try:
        drop_index(found, index_name(config))
    finally:
        found.close()


@pytest.fixture
def config(tmp_path: Path, urls: list[str]) -> Iterator[Path]:
    path = write_config(tmp_path, urls)
    yield path
    drop(urls, path)


@pytest.fixture(scope="session")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated archive (1,000 messages, seed 11), shared by the tests of a session."""
    folder = tmp_path_factory.mktemp("archive") / "archive"
    govmail("sample", str(folder), "--messages", "1000", "--seed", "11")
    return folder


def stats(config: Path) -> dict[str, Any]:
    return json.loads(govmail("--config", str(config), "stats", "--format", "json").stdout)


def search_json(config: Path, query: str, sort: str = "-date") -> dict[str, Any]:
    done = govmail("--config", str(config), "search", query, "--format", "json", "--facets",
                   "--limit", "20", "--sort", sort)
    return json.loads(done.stdout)
