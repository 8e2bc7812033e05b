"""Issue 19: `govmail serve` answers at once and reads every segment in the background; a
damage it finds then answers every request; its socket goes with it.

The real-process tests start the real server (127.0.0.1, a free port) on an index of a
generated archive, slow its check with the documented ``check_rate`` setting, damage a
segment's bytes as tests/hardening/test_damage.py does, and stop it by its process id.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from core.config import Settings
from govmail import resident
from sample.generator import write_sample
from tests.conftest import REPO
from tests.search.archive import build_messages, write_index

LINE = "index damaged: segment <b>MAIN_x.seg</b> & co: its bytes changed since written"


# ---- in process: the hooks the server hands to the app and to the resident -------------


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    # Short: a unix socket's path is at most 107 bytes.
    directory = Path(os.environ.get("TMPDIR", "/tmp")) / f"gm-ss-{os.getpid()}"
    write_index(directory, build_messages())
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


def test_the_app_answers_503_with_the_line_once_damage_is_known(small: Path) -> None:
    from web import create_app

    found: list[str | None] = [None]
    client = create_app(Settings(index_dir=small), damage=lambda: found[0]).test_client()
    assert client.get("/search?q=marker07").status_code == 200
    found[0] = LINE
    page = client.get("/search?q=marker07")
    assert page.status_code == 503
    assert page.headers["Content-Security-Policy"].startswith("default-src 'self'")
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["Cache-Control"] == "no-store"
    html = page.get_data(as_text=True)
    assert "<b>MAIN_x.seg</b>" not in html and "&lt;b&gt;MAIN_x.seg&lt;/b&gt; &amp; co" in html
    assert BeautifulSoup(html, "html.parser").select_one("p.message").get_text() == LINE
    api = client.get("/api/search?q=marker07")
    assert api.status_code == 503
    assert api.get_json() == {"ok": False, "error": LINE, "status": 503}
    assert client.get("/healthz").status_code == 503
    assert client.get("/message/anything").status_code == 503
    # What needs no index still loads (the error page's own stylesheet).
    style = client.get("/static/style.css")
    style.close()
    assert style.status_code == 200


def test_the_resident_answers_the_refusal_instead_of_searching(small: Path) -> None:
    from govmail.cli import search_command

    settings = Settings(index_dir=small)
    refusal: list[tuple[int, str] | None] = [None]
    server = resident.Resident(
        settings, lambda args: search_command.make_context("search", args).params,
        refusal=lambda: refusal[0])
    assert server.start()
    try:
        def ask(*args: str) -> dict | None:
            return resident.ask(str(small), None, {"GOVMAIL_CONFIG": ""}, list(args), 100,
                                False)

        assert ask("marker07")["status"] == 0
        refusal[0] = (6, f"Error: {LINE}\n")
        assert ask("marker07") == {"status": 6, "stdout": "", "stderr": f"Error: {LINE}\n"}
        # A usage error is still the command line's to word; a bad query is refused first
        # there too (the damage is checked before the query is read).
        assert ask("marker07", "--limit", "0") is None
        assert ask("from:")["status"] == 6
    finally:
        server.close()


def test_close_removes_only_its_own_socket(small: Path) -> None:
    from govmail.cli import search_command

    def parse(args: list[str]) -> dict:
        return search_command.make_context("search", args).params

    settings = Settings(index_dir=small)
    first, second = resident.Resident(settings, parse), resident.Resident(settings, parse)
    assert first.start()
    try:
        os.unlink(first.path)  # someone removed it; another server then took the path
        assert second.start()
    finally:
        first.close()
    try:
        assert os.path.exists(second.path)
        assert resident.ask(str(small), None, {"GOVMAIL_CONFIG": ""}, ["marker07"], 100,
                            False)["status"] == 0
    finally:
        second.close()
    assert not os.path.exists(second.path)


# ---- real processes ------------------------------------------------------------------


def _env(**extra: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO), "GOVMAIL_CONFIG": "", **extra}


def _govmail(*args: str, module: str = "govmail.cli", env: dict[str, str] | None = None,
             timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-X", "importtime", "-m", module, *args], cwd=REPO,
                          capture_output=True, text=True, timeout=timeout,
                          env=env or _env())


def _messages(done: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in done.stderr.splitlines() if not line.startswith("import time:")]


def _loaded(done: subprocess.CompletedProcess[str], module: str) -> bool:
    return any(line.rstrip().endswith(f"| {module}") or line.rstrip().endswith(f" {module}")
               for line in done.stderr.splitlines() if line.startswith("import time:"))


@pytest.fixture(scope="module")
def sound(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("serve-start")
    write_sample(base / "archive", messages=120, seed=9, formats={"mbox"})
    done = _govmail("index", "--index", str(base / "ix"), str(base / "archive"), "--quiet")
    assert done.returncode == 0, done.stderr[-2000:]
    return base / "ix"


def _copy(sound: Path, tmp_path: Path) -> Path:
    index = tmp_path / "ix"
    shutil.copytree(sound, index)
    return index


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Serve:
    """One real `govmail serve`, its stderr in a file; stopped by its pid, bounded."""

    def __init__(self, index: Path, log: Path, **env: str) -> None:
        self.index, self.log, self.port = index, log, _free_port()
        self.started = time.monotonic()
        with open(log, "wb") as err:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "govmail.cli", "serve", "--index", str(index),
                 "--port", str(self.port), "--threads", "2"],
                cwd=REPO, stdout=subprocess.DEVNULL, stderr=err, env=_env(**env),
                # A shell's background job inherits SIGINT ignored, and serve keeps it so.
                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))

    def text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def wait_for(self, words: str, seconds: float = 120) -> float:
        """Seconds since start when ``words`` first appeared in the log."""
        deadline = time.monotonic() + seconds
        while words not in self.text():
            assert self.process.poll() is None, self.text()
            assert time.monotonic() < deadline, f"no {words!r} in: {self.text()}"
            time.sleep(0.05)
        return time.monotonic() - self.started

    def get(self, path: str) -> tuple[int, dict[str, str], bytes]:
        """Status (0: not listening yet), headers and body."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}",
                                        timeout=10) as answer:
                return answer.status, dict(answer.headers), answer.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read()
        except OSError:
            return 0, {}, b""

    def first_answer(self, path: str, seconds: float = 120) -> tuple[int, float]:
        """The first status other than 0, and the seconds since start it came at."""
        deadline = time.monotonic() + seconds
        while not (status := self.get(path)[0]):
            assert self.process.poll() is None, self.text()
            assert time.monotonic() < deadline, f"{path} never answered: {self.text()}"
            time.sleep(0.05)
        return status, time.monotonic() - self.started

    def check_pid(self) -> int:
        words = "in the background (process "
        self.wait_for(words)
        return int(self.text().split(words)[1].split(")")[0])

    def stop(self, how: int = signal.SIGTERM) -> int:
        if self.process.poll() is None:
            self.process.send_signal(how)
        try:
            return self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=30)
            raise


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _nice(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[16])


@pytest.mark.slow
def test_answers_while_the_slowed_check_runs_then_sigterm_cleans_up(
        sound: Path, tmp_path: Path) -> None:
    index = _copy(sound, tmp_path)
    write_sample(tmp_path / "more", messages=20, seed=31, formats={"mbox"})
    megabytes = sum(p.stat().st_size for p in index.glob("MAIN_*.seg")) / 1e6
    # The digests alone then take 12 s: an answer before they end was not made after them.
    rate = str(megabytes / 12)
    serve = Serve(index, tmp_path / "serve.log", GOVMAIL_CHECK_RATE=rate)
    try:
        check = serve.check_pid()
        serving = serve.wait_for("govmail: serving")
        status, answered = serve.first_answer("/search?q=governance")
        assert status == 200
        assert "read whole" not in serve.text(), serve.text()
        assert _alive(check) and _nice(check) == 19
        print(f"\nserving line at {serving:.2f} s, first /search 200 at {answered:.2f} s "
              f"after the process started; check running (process {check}, nice 19)")
        assert answered - serving < 2.0
        done = _govmail("search", "--index", str(index), "governance", "--format", "json",
                        module="govmail", env=_env(GOVMAIL_CHECK_RATE=rate))
        assert done.returncode == 0 and not _loaded(done, "click"), done.stderr[-2000:]
        # A commit during the check: what it read is then of two indexes, so it reads again.
        added = _govmail("index", "--index", str(index), str(tmp_path / "more"), "--quiet")
        assert added.returncode == 0 and "indexed 20" in added.stderr, added.stderr[-2000:]
        assert "read whole" not in serve.text(), "the commit came after the check"
        serve.wait_for("every segment read whole in", seconds=180)
        seconds = float(serve.text().split("every segment read whole in ")[1].split()[0])
        print(f"the check read {megabytes:.2f} MB whole in {seconds:.1f} s: "
              f"{serve.text().split('read whole in ')[1].splitlines()[0]}")
        assert seconds >= 23  # the rate held, twice
        assert "times: a commit came during the others" in serve.text()
        assert "damaged" not in serve.text()
        assert not _alive(check)
    finally:
        status = serve.stop(signal.SIGTERM)
    assert status == 0, serve.text()
    assert not (index / resident.SOCKET_NAME).exists()
    assert "Traceback" not in serve.text()


@pytest.mark.slow
def test_sigterm_and_sigint_during_the_check_end_it_and_remove_the_socket(
        sound: Path, tmp_path: Path) -> None:
    index = _copy(sound, tmp_path)
    for how in (signal.SIGTERM, signal.SIGINT):
        serve = Serve(index, tmp_path / f"serve-{how}.log", GOVMAIL_CHECK_RATE="0.01")
        try:
            check = serve.check_pid()
            # An answer: the server's loop runs, where either signal stops it in order.
            assert serve.first_answer("/healthz")[0] == 200
            assert (index / resident.SOCKET_NAME).exists()
            assert _alive(check)
        finally:
            status = serve.stop(how)
        assert status == 0, serve.text()
        assert not (index / resident.SOCKET_NAME).exists(), how
        assert not _alive(check), how
        assert "Traceback" not in serve.text()


@pytest.mark.slow
def test_damage_found_in_the_background_answers_every_request(
        sound: Path, tmp_path: Path) -> None:
    index = _copy(sound, tmp_path)
    segment = next(index.glob("MAIN_*.seg"))
    data = bytearray(segment.read_bytes())
    for i in range(len(data) // 3, len(data) // 3 + 64):
        data[i] ^= 0xFF
    segment.write_bytes(bytes(data))
    serve = Serve(index, tmp_path / "serve.log")
    try:
        serve.wait_for("govmail: serving")
        serve.wait_for("Error: index damaged")
        logged = [line for line in serve.text().splitlines() if "damaged" in line]
        assert logged == [f"Error: index damaged: segment {segment.name}: its bytes changed "
                          "since written; run `govmail check`"], serve.text()
        line = logged[0].removeprefix("Error: ")
        status, headers, body = serve.get("/search?q=governance")
        assert status == 503
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Content-Security-Policy"].startswith("default-src 'self'")
        page = BeautifulSoup(body.decode("utf-8"), "html.parser")
        assert page.select_one("p.message").get_text() == line
        status, _, body = serve.get("/api/search?q=governance")
        assert status == 503 and json.loads(body) == {"ok": False, "error": line,
                                                      "status": 503}
        assert serve.get("/healthz")[0] == 503
        # The console script asks the server's socket, which answers the refusal itself.
        done = _govmail("search", "--index", str(index), "governance", module="govmail")
        assert done.returncode == 6 and not _loaded(done, "click"), done.stderr[-2000:]
        assert _messages(done) == [logged[0]]
        assert done.stdout == ""
    finally:
        status = serve.stop(signal.SIGTERM)
    assert status == 0
    assert not (index / resident.SOCKET_NAME).exists()
    assert "Traceback" not in serve.text()


@pytest.mark.slow
def test_after_sigkill_the_next_serve_takes_the_socket_over(sound: Path, tmp_path: Path) -> None:
    index = _copy(sound, tmp_path)
    first = Serve(index, tmp_path / "first.log", GOVMAIL_CHECK_RATE="0.01")
    try:
        first.wait_for("answering searches on")
        check = first.check_pid()
    finally:
        assert first.stop(signal.SIGKILL) == -signal.SIGKILL
    # Its check, orphaned mid-read, ends itself.
    deadline = time.monotonic() + 10
    while _alive(check):
        assert time.monotonic() < deadline, Path(f"/proc/{check}/status").read_text()
        time.sleep(0.1)
    stale = index / resident.SOCKET_NAME
    assert stale.exists()  # nothing runs after SIGKILL
    # Nobody answers it: the command line searches in its own process, silently.
    alone = _govmail("search", "--index", str(index), "governance", "--format", "json",
                     module="govmail")
    assert alone.returncode == 0 and _loaded(alone, "click") and _messages(alone) == []
    second = Serve(index, tmp_path / "second.log")
    try:
        second.wait_for("answering searches on")
        done = _govmail("search", "--index", str(index), "governance", "--format", "json",
                        module="govmail")
        assert done.returncode == 0 and not _loaded(done, "click"), done.stderr[-2000:]
        found, expected = json.loads(done.stdout), json.loads(alone.stdout)
        found.pop("elapsed_ms"), expected.pop("elapsed_ms")
        assert found == expected
    finally:
        assert second.stop(signal.SIGTERM) == 0, second.text()
    assert not stale.exists()
