"""Real processes: SIGKILL during reindex, two reindexes at once, searching while indexing."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from core.config import Settings
from core.results import SearchRequest
from index.catalog import Catalog
from index.writer import CRASH_HOOK
from sample.generator import SampleMessage, generate, write_maildir, write_mbox
from search.engine import Engine
from tests.conftest import REPO
from tests.index.test_indexer import bare
from tests.indexing import document_count, index_generation, stored_documents

pytestmark = pytest.mark.slow

MESSAGES = 700


def _truth(count: int, seed: int) -> list[SampleMessage]:
    return [m for m in generate(count, seed) if m.message_id and not m.is_bare_body]


def _archive(tmp: Path, truth: list[SampleMessage], batch: int, timeout: float = 60.0) -> Path:
    half = len(truth) // 2
    write_mbox(tmp / "src" / "governance.mbox", truth[:half])
    write_maildir(tmp / "src" / "igf", truth[half:])
    config = tmp / "govmail.toml"
    config.write_text(
        f'index_dir = "ix"\n'
        f"[index]\nbatch_size = {batch}\njobs = 1\nlock_timeout = {timeout}\n"
        f'[[source]]\npath = "src/governance.mbox"\nlist = "governance"\n'
        f'[[source]]\npath = "src/igf"\nlist = "igf-discuss"\n',
        encoding="utf-8",
    )
    return config


def _reindex(config: Path, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "govmail.cli", "--config", str(config), "reindex"],
        cwd=REPO,
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def _check_index(index_dir: Path) -> int:
    """The index opens, answers a search, and holds no Message-ID twice; returns its size."""
    docs = stored_documents(index_dir)
    assert document_count(index_dir) == len(docs)
    engine = Engine(Settings(index_dir=index_dir))
    hits = engine.search(SearchRequest("governance OR internet", page_size=5))
    engine.close()
    assert len(docs) == 0 or hits.total > 0
    return len(docs)


def _generation(index_dir: Path) -> int:
    return index_generation(index_dir)


def _wait_for_generation(index_dir: Path, generation: int, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if _generation(index_dir) >= generation:
            return
        if process.poll() is not None:
            break
        time.sleep(0.02)
    raise AssertionError(f"generation {generation} never came (exit {process.poll()})")


def test_sigkill_at_several_points_then_exact_counts(tmp_path: Path) -> None:
    truth = _truth(MESSAGES, 31)
    config = _archive(tmp_path, truth, batch=100)
    index_dir = tmp_path / "ix"
    # 1. Killed while reading, before any commit.
    process = _reindex(config)
    time.sleep(1.0)
    process.send_signal(signal.SIGKILL)
    process.communicate()
    # 2. Killed between the Whoosh commit and the catalog commit (the hook).
    process = _reindex(config, **{CRASH_HOOK: "between-commits"})
    process.communicate(timeout=300)
    assert process.returncode == -signal.SIGKILL
    assert _check_index(index_dir) > 0
    # 3. Killed in the middle of a later batch, after a commit or two.
    process = _reindex(config)
    _wait_for_generation(index_dir, _generation(index_dir) + 1, process)
    time.sleep(0.2)
    process.send_signal(signal.SIGKILL)
    process.communicate()
    partial = _check_index(index_dir)
    assert 0 < partial < len(truth)

    final = _reindex(config)
    _, err = final.communicate(timeout=600)
    assert final.returncode == 0, err
    assert _check_index(index_dir) == len(truth)
    catalog = Catalog(index_dir)
    assert catalog.count() == len(truth)
    catalog.close()
    assert err.splitlines()[-1].startswith("read ")
    # Nothing left to do, and nothing read twice into the index.
    again = _reindex(config)
    _, err = again.communicate(timeout=120)
    assert again.returncode == 0, err
    assert err.splitlines()[-1].startswith("read 0, indexed 0, duplicates 0, reported 0")


def test_two_reindexes_at_once(tmp_path: Path) -> None:
    truth = _truth(250, 32)
    config = _archive(tmp_path, truth, batch=50, timeout=0.5)
    first, second = _reindex(config), _reindex(config)
    errs = [p.communicate(timeout=300)[1] for p in (first, second)]
    results = sorted([(first.returncode, errs[0]), (second.returncode, errs[1])])
    (ok, ok_err), (locked, locked_err) = results
    assert (ok, locked) == (0, 4), results
    assert "Error: another govmail writer (pid" in locked_err
    assert f"read {len(truth)}, indexed {len(truth)}," in ok_err
    assert _check_index(tmp_path / "ix") == len(truth)


def test_second_reindex_waits_for_the_first(tmp_path: Path) -> None:
    truth = _truth(150, 33)
    config = _archive(tmp_path, truth, batch=50, timeout=300)
    first = _reindex(config)
    time.sleep(0.2)
    second = _reindex(config)
    errs = [p.communicate(timeout=300)[1] for p in (first, second)]
    assert [first.returncode, second.returncode] == [0, 0], errs
    lines = sorted(e.splitlines()[-1].split(" in ")[0] for e in errs)
    assert lines == ["read 0, indexed 0, duplicates 0, reported 0",
                     f"read {len(truth)}, indexed {len(truth)}, duplicates 0, reported 0"]
    assert _check_index(tmp_path / "ix") == len(truth)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, {}


def test_serving_while_reindexing(tmp_path: Path) -> None:
    """Issue 6's test: 5,000 messages (about a minute); GOVMAIL_SERVE_TEST_MESSAGES=400 for a
    quick run while developing."""
    count = int(os.environ.get("GOVMAIL_SERVE_TEST_MESSAGES", "5000"))
    truth = _truth(int(count * 1.1) + 150, 34)
    initial, added = truth[:100], truth[100:100 + count]
    assert len(added) == count
    config = _archive(tmp_path, initial, batch=max(100, count // 6))
    mbox = tmp_path / "src" / "governance.mbox"
    first = _reindex(config)
    assert first.communicate(timeout=300)[0] is None and first.returncode == 0
    port = _free_port()
    log = open(tmp_path / "serve.log", "wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "govmail.cli", "--config", str(config), "serve", "--port",
         str(port), "--threads", "4"],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=log,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while server.poll() is None:
            try:
                if _get(f"{base}/healthz")[0] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "the server never answered"
            time.sleep(0.1)
        assert server.poll() is None, (tmp_path / "serve.log").read_text()
        write_mbox(mbox, added, append=True)
        probes = {bare(m.message_id): f"{base}/api/message/{urllib.parse.quote(bare(m.message_id))}"
                  for m in (added[0], added[-1])}
        commits: list[float] = []
        found: dict[str, float] = {}
        statuses: list[int] = []
        generation = _generation(tmp_path / "ix")
        reindex = _reindex(config)
        finished: float | None = None
        while finished is None or time.monotonic() - finished < 6:
            status, body = _get(f"{base}/api/search?q=governance")
            statuses.append(status)
            current = _generation(tmp_path / "ix")
            if current != generation:
                generation = current
                commits.append(time.monotonic())
            for mid, url in probes.items():
                if mid not in found and _get(url)[0] == 200:
                    found[mid] = time.monotonic()
            if finished is None and reindex.poll() is not None:
                finished = time.monotonic()
            if len(found) == len(probes) and finished is not None:
                break
        _, err = reindex.communicate(timeout=60)
        assert reindex.returncode == 0, err
        assert f"indexed {count}," in err
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
        log.close()
    assert set(statuses) == {200}, statuses
    assert len(statuses) > 5 and commits
    assert set(found) == set(probes), "new messages were never served"
    # Each probe shows up within 5 s of the first commit after which it could.
    assert found[bare(added[0].message_id)] - commits[0] <= 5
    assert found[bare(added[-1].message_id)] - commits[-1] <= 5


def test_watch_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    truth = _truth(30, 35)
    config = _archive(tmp_path, truth, batch=100)
    watch = subprocess.Popen(
        [sys.executable, "-m", "govmail.cli", "--config", str(config), "watch", "--every", "1h"],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    assert watch.stderr is not None
    lines = [watch.stderr.readline() for _ in range(2)]
    assert lines[0] == "govmail watch: reindexing 2 sources every 1h\n"
    assert f"read {len(truth)}, indexed {len(truth)}, duplicates 0" in lines[1]
    watch.send_signal(signal.SIGTERM)
    _, rest = watch.communicate(timeout=60)
    assert watch.returncode == 0
    assert rest.splitlines() == ["govmail watch: SIGTERM, stopping",
                                 "govmail watch: stopped after 1 runs"]
