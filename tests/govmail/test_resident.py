"""Issue 19: `govmail serve` answers `govmail search` on the index's socket, and the search
falls back to its own process whenever that socket does not answer or declines.

The real-process test starts the real server and real `python -m govmail` processes;
`-X importtime` shows which path answered (the resident's never loads click or Whoosh).
"""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.config import Settings
from govmail import resident
from tests.conftest import REPO
from tests.search.archive import build_messages, write_index


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Short: a unix socket's path is at most 107 bytes.
    directory = Path(os.environ.get("TMPDIR", "/tmp")) / f"gm-res-{os.getpid()}"
    write_index(directory, build_messages())
    yield directory
    import shutil

    shutil.rmtree(directory, ignore_errors=True)


def _params(args: list[str]) -> dict:
    from govmail.cli import search_command

    return search_command.make_context("search", args).params


def _ask(settings: Settings, *args: str, **env: str) -> dict | None:
    return resident.ask(str(settings.index_dir), None, {"GOVMAIL_CONFIG": "", **env},
                        list(args), 100, False)


def test_answers_what_the_command_line_prints_and_declines_other_settings(
        index: Path) -> None:
    settings = Settings(index_dir=index)
    server = resident.Resident(settings, _params)
    assert server.start()
    try:
        assert server.path == str(index / resident.SOCKET_NAME)
        mode = stat.S_IMODE(os.stat(server.path).st_mode)
        assert stat.S_ISSOCK(os.stat(server.path).st_mode) and mode == 0o600
        answer = _ask(settings, "marker07", "--format", "json")
        assert answer is not None and answer["status"] == 0, answer
        shown = json.loads(answer["stdout"])
        assert shown["total"] >= 1 and shown["facets"] == {}
        none = _ask(settings, "zzzzqqq", "--format", "json")
        assert none is not None and none["status"] == 1
        # Another setting (here a page bound) might answer differently: declined.
        assert _ask(settings, "marker07", GOVMAIL_MAX_PAGE="3") is None
        # A bad query or usage is declined: the in-process run words the error.
        assert _ask(settings, "from:") is None
        assert _ask(settings, "marker07", "--limit", "0") is None
        assert _ask(settings, "--help") is None
        # A second server on the same index leaves the first one answering.
        other = resident.Resident(settings, _params)
        assert not other.start()
        other.close()
        assert _ask(settings, "marker07")["status"] == 0
        # Oversized requests are cut off, not read whole.
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(10)
            conn.connect(server.path)
            try:
                conn.sendall(b"x" * (resident.MAX_REQUEST + 70000))
            except OSError:
                pass
            reply = conn.recv(1000)
        assert b"declined" in reply or reply == b""
    finally:
        server.close()
    assert not os.path.exists(server.path)
    assert _ask(settings, "marker07") is None


def _govmail(index: Path, *args: str, module: str = "govmail") -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-X", "importtime", "-m", module, "search", *args, "--index",
         str(index)],
        cwd=REPO, capture_output=True, text=True, timeout=300,
        env={**os.environ, "PYTHONPATH": str(REPO), "GOVMAIL_CONFIG": ""},
    )


def _loaded(done: subprocess.CompletedProcess, module: str) -> bool:
    return any(line.rstrip().endswith(f"| {module}") or line.rstrip().endswith(f" {module}")
               for line in done.stderr.splitlines() if line.startswith("import time:"))


def _output(done: subprocess.CompletedProcess) -> dict:
    found = json.loads(done.stdout)
    found.pop("elapsed_ms")
    return found


@pytest.mark.slow
def test_real_processes_resident_then_killed(index: Path, tmp_path: Path) -> None:
    alone = _govmail(index, "marker07", "--format", "json", module="govmail.cli")
    assert alone.returncode == 0, alone.stderr[-2000:]
    # The search path loads none of what only indexing or the web needs.
    for heavy in ("flask", "waitress", "web", "multiprocessing", "bs4", "chardet",
                  "py3langid", "opensearchpy", "index.indexer"):
        assert not _loaded(alone, heavy), heavy
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    log = tmp_path / "serve.log"
    with open(log, "wb") as err:
        server = subprocess.Popen(
            [sys.executable, "-m", "govmail.cli", "serve", "--index", str(index), "--port",
             str(port), "--threads", "2"],
            cwd=REPO, stdout=subprocess.DEVNULL, stderr=err,
            env={**os.environ, "PYTHONPATH": str(REPO), "GOVMAIL_CONFIG": ""},
        )
    try:
        deadline = time.monotonic() + 120
        while not (index / resident.SOCKET_NAME).exists():
            assert server.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "no socket"
            time.sleep(0.1)
        fast = _govmail(index, "marker07", "--format", "json")
        assert fast.returncode == 0, fast.stderr[-2000:]
        assert not _loaded(fast, "click") and not _loaded(fast, "whoosh")
        assert _output(fast) == _output(alone)
        table = _govmail(index, "marker07", "--columns", "date,subject")
        assert table.returncode == 0 and not _loaded(table, "click")
        assert "marker07" not in table.stdout or table.stdout.strip()
        missing = _govmail(index, "zzzzqqq", "--format", "json")
        assert missing.returncode == 1 and not _loaded(missing, "click")
        # An error is declined by the resident and worded by the process itself.
        bad = _govmail(index, "from:")
        assert bad.returncode == 2 and _loaded(bad, "click")
        assert [line for line in bad.stderr.splitlines() if not line.startswith("import")] \
            == [line for line in _govmail(index, "from:", module="govmail.cli").stderr
                .splitlines() if not line.startswith("import")]
    finally:
        server.kill()  # as a crash would: the socket file stays behind
        server.wait(timeout=30)
    assert (index / resident.SOCKET_NAME).exists()
    after = _govmail(index, "marker07", "--format", "json")
    assert after.returncode == 0 and _loaded(after, "click")
    assert _output(after) == _output(alone)
