"""Issue 18, items 3 and 4: a source's bad entries are reported and the run goes on.

Through the real console entry point: a symlink loop, symlinks to /etc/passwd and
/proc/1/mem outside the source, a FIFO, a file name that is not UTF-8, 600 nested
folders, a README.md, and (as an unprivileged user, when setpriv exists) an unreadable
file and folder. Each is one "reported" line or, for the README, nothing; every message
is indexed once; a second run reads nothing again. And a Maildir message moved from
new/ to cur/ between the scan and the read is read where it went.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from core.config import Settings
from index import incremental
from index.catalog import Catalog
from index.scan import walk
from tests.conftest import REPO
from tests.indexing import stored_documents

MAIL = "From: a@example.org\nSubject: {s}\nMessage-ID: <{s}@scan.example>\n\nbody of {s}\n"


def _eml(path: Path, name: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(MAIL.format(s=name), encoding="utf-8")


def _hostile(root: Path) -> set[str]:
    _eml(root / "plain.eml", "plain")
    (root / "loop").symlink_to(root)
    (root / "passwd").symlink_to("/etc/passwd")
    (root / "mem").symlink_to("/proc/1/mem")
    (root / "inside").symlink_to(root / "plain.eml")  # within the source: followed
    os.mkfifo(root / "fifo")
    with open(os.fsencode(root) + b"/bad-\xff\xfe.eml", "w", encoding="utf-8") as f:
        f.write(MAIL.format(s="badname"))
    deep = root.joinpath(*["d"] * 600)
    _eml(deep / "deep.eml", "deep")
    (root / "README.md").write_text("# not mail\n\nFrom: someone\n", encoding="utf-8")
    return {"plain@scan.example", "badname@scan.example", "deep@scan.example"}


def _govmail(*args: str, user: bool = False) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "govmail.cli", *args]
    if user:
        command = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *command]
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(REPO)})


def _config(tmp_path: Path, source: Path, follow: str = "within") -> Path:
    config = tmp_path / "govmail.toml"
    config.write_text(f'index_dir = "{tmp_path / "ix"}"\n[index]\njobs = 1\n'
                      f'follow_symlinks = "{follow}"\n[[source]]\npath = "{source}"\n'
                      'list = "scan"\n', encoding="utf-8")
    return config


@pytest.mark.parametrize("command", ["index", "reindex"])
def test_hostile_entries_are_reported_and_the_rest_indexed(tmp_path: Path, command: str) -> None:
    source = tmp_path / "src"
    expected = _hostile(source)
    config = _config(tmp_path, source)
    args = ["--config", str(config), command] + ([str(source)] if command == "index" else [])
    done = _govmail(*args)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert set(stored_documents(tmp_path / "ix")) == expected
    reported = [line for line in done.stderr.splitlines() if line.startswith("reported: ")]
    reasons = {line.split(" [source] ")[0].removeprefix("reported: "): line for line in reported}
    assert set(reasons) == {str(source / n) for n in ("loop", "passwd", "mem", "fifo")}, reported
    assert "outside the source" in reasons[str(source / "passwd")]
    summary = done.stderr.splitlines()[0 if command == "index" else -len(reported) - 1]
    # read = indexed + duplicates + reported: plain.eml is read twice (via "inside").
    assert summary.startswith("read 8, indexed 3, duplicates 1, reported 4"), done.stderr
    again = _govmail(*args)
    assert again.returncode == 0, again.stderr
    assert len(stored_documents(tmp_path / "ix")) == 3
    # The non-UTF-8 name is in the catalog exactly, so the second run skips it.
    catalog = Catalog(tmp_path / "ix")
    names = {s.path for s in catalog.sources_under(str(source.resolve()))}
    catalog.close()
    assert os.fsdecode(os.fsencode(source.resolve()) + b"/bad-\xff\xfe.eml") in names


def test_follow_symlinks_all_and_false(tmp_path: Path) -> None:
    source = tmp_path / "src"
    _eml(source / "a.eml", "a")
    outside = tmp_path / "outside"
    _eml(outside / "b.eml", "b")
    (source / "b").symlink_to(outside)
    assert [e.path.name for e in walk(source, "all").plain] == ["a.eml", "b.eml"]
    assert [e.path.name for e in walk(source, "within").plain] == ["a.eml"]
    scan = walk(source, "false")
    assert [e.path.name for e in scan.plain] == ["a.eml"]
    assert scan.problems == [(str(source / "b"), "symlink not followed (follow_symlinks = false)")]


@pytest.fixture
def open_tmp() -> Iterator[Path]:
    """A folder under /tmp, not pytest's tmp_path: its parents are closed to other users,
    and these tests read the source as nobody."""
    folder = Path(tempfile.mkdtemp(prefix="govmail-scan-", dir="/tmp"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("setpriv"),
                    reason="needs root to drop to an unprivileged user")
def test_unreadable_entries_as_an_unprivileged_user(open_tmp: Path) -> None:
    _unreadable(open_tmp)


def _unreadable(tmp_path: Path) -> None:
    os.chmod(tmp_path, 0o755)
    source = tmp_path / "src"
    _eml(source / "ok.eml", "ok")
    _eml(source / "secret.eml", "secret")
    _eml(source / "closed" / "inner.eml", "inner")
    os.chmod(source / "secret.eml", 0o000)
    os.chmod(source / "closed", 0o000)
    (tmp_path / "ix").mkdir()
    os.chown(tmp_path / "ix", 65534, 65534)
    done = _govmail("index", "--index", str(tmp_path / "ix"), str(source), user=True)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert f"reported: {source / 'closed'} [source] unreadable folder: Permission denied" \
        in done.stderr
    assert any(line.startswith(f"reported: {source / 'secret.eml'}")
               for line in done.stderr.splitlines()), done.stderr
    assert set(stored_documents(tmp_path / "ix")) == {"ok@scan.example"}


def test_maildir_message_moved_during_reindex_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    maildir = tmp_path / "md"
    for sub in ("cur", "new", "tmp"):
        (maildir / sub).mkdir(parents=True)
    for i in range(20):
        _eml(maildir / "new" / f"1700000000.{i}.host", f"m{i}")
    real = incremental.read_works
    moved: list[str] = []

    def move_then_read(works, settings, list_name, jobs=None):  # type: ignore[no-untyped-def]
        # A mail client marks half the new messages seen after the scan chose them.
        for work in works[::2]:
            target = maildir / "cur" / (work.path.name + ":2,S")
            os.rename(work.path, target)
            moved.append(target.name)
        return real(works, settings, list_name, jobs)

    monkeypatch.setattr(incremental, "_read", move_then_read)
    config = _config(tmp_path, maildir)
    from core import config as config_module

    settings = config_module.load(config)
    report = incremental.reindex_configured(settings, progress=False)
    assert len(moved) == 10
    assert (report.read, report.indexed, report.reported) == (20, 20, 0), report.rejections
    assert len(stored_documents(Settings(index_dir=tmp_path / "ix").index_dir)) == 20
    monkeypatch.setattr(incremental, "_read", real)
    again = incremental.reindex_configured(settings, progress=False)
    assert (again.read, again.indexed) == (0, 0)



WATCH_CYCLES = 3
SUMMARY = re.compile(r"govmail watch: \S+Z (read \d+, indexed (\d+).*)")


@pytest.mark.slow
def test_watch_reports_bad_entries_every_cycle_and_keeps_indexing(open_tmp: Path) -> None:
    _watch_hostile(open_tmp)


def _watch_hostile(tmp_path: Path) -> None:
    os.chmod(tmp_path, 0o755)
    source = tmp_path / "src"
    expected = _hostile(source) | {"later@scan.example"}
    # Each bad entry, and a word its reason must hold.
    bad = {str(source / name): why for name, why in (
        ("loop", "loop"), ("passwd", "outside the source"), ("mem", "outside the source"),
        ("fifo", "FIFO"))}
    # A file closed to its reader: root reads anything, so root runs the watch as nobody.
    as_user = os.geteuid() == 0 and shutil.which("setpriv") is not None
    if as_user or os.geteuid() != 0:
        _eml(source / "secret.eml", "secret")
        os.chmod(source / "secret.eml", 0o000)
        bad[str(source / "secret.eml")] = "Permission denied"
    (tmp_path / "ix").mkdir()
    if as_user:
        os.chown(tmp_path / "ix", 65534, 65534)
    command = [sys.executable, "-m", "govmail.cli", "--config", str(_config(tmp_path, source)),
               "watch", "--every", "1s"]
    if as_user:
        command = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *command]
    log = tmp_path / "watch.log"
    with open(log, "w", encoding="utf-8") as stderr:
        watch = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=stderr,
                                 env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        _wait(log, watch, lambda cycles: len(cycles) >= 1)
        # Mail that arrives while watch runs is indexed by a later cycle, bad entries
        # and all: written beside the source, then renamed in whole.
        _eml(tmp_path / "later.eml", "later")
        os.rename(tmp_path / "later.eml", source / "later.eml")
        _wait(log, watch, lambda cycles: len(cycles) >= WATCH_CYCLES
              and sum(indexed for _, indexed, _ in cycles) == len(expected))
        watch.send_signal(signal.SIGTERM)
        assert watch.wait(timeout=60) == 0, log.read_text(encoding="utf-8")
    finally:
        if watch.poll() is None:
            watch.kill()
            watch.wait(timeout=30)
    text = log.read_text(encoding="utf-8")
    assert "Traceback" not in text
    # Exited: every cycle's lines are whole now, the one SIGTERM let finish too.
    cycles = _cycles(text)
    assert len(cycles) >= WATCH_CYCLES
    assert cycles[0][1] == len(expected) - 1, cycles[0][0]
    for summary, _, reported in cycles:
        # Each bad entry once a cycle, by path, with its reason after the source's name.
        reasons = dict(line.split(" [source] ", 1) for line in reported)
        assert len(reasons) == len(reported) and set(reasons) == set(bad), (summary, reported)
        assert all(bad[path] in why for path, why in reasons.items()), reported
    assert set(stored_documents(tmp_path / "ix")) == expected
    assert text.splitlines()[-2:] == ["govmail watch: SIGTERM, stopping",
                                      f"govmail watch: stopped after {len(cycles)} runs"]


def _cycles(text: str) -> list[tuple[str, int, list[str]]]:
    """(summary, messages indexed, reported entries) of each cycle in watch's stderr."""
    cycles: list[tuple[str, int, list[str]]] = []
    for line in text.splitlines():
        found = SUMMARY.fullmatch(line)
        if found:
            cycles.append((found.group(1), int(found.group(2)), []))
        elif line.startswith("govmail watch: reported: ") and cycles:
            cycles[-1][2].append(line.removeprefix("govmail watch: reported: "))
    return cycles


def _wait(log: Path, watch: subprocess.Popen[bytes],
          done: Callable[[list[tuple[str, int, list[str]]]], bool]) -> None:
    """Until ``done`` holds for the cycles finished so far, while watch keeps running."""
    deadline = time.monotonic() + 180
    while True:
        text = log.read_text(encoding="utf-8", errors="replace")
        # The last summary's reported lines may still be coming: only whole cycles count.
        if done(_cycles(text)[:-1]):
            return
        assert watch.poll() is None, f"watch exited {watch.returncode}: {text[-500:]}"
        assert time.monotonic() < deadline, f"watch after 180 s: {text[-500:]}"
        time.sleep(0.2)
