"""Issue 18, item 2: a full disk ends a run with one line and status 2, the index unchanged.

The real test mounts a small tmpfs (root only; skipped otherwise), indexes an archive
into it, fills it to several levels and indexes more: every run ends within its timeout
with status 0 or "disk full at PATH (N MB free); the index is unchanged" and status 2,
the previous index intact and the lock free for the next run. A second test injects
ENOSPC into the commit, for machines where no file system can be mounted.
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from core.config import Settings
from core.errors import DiskFull
from index.lock import WriterLock
from index.writer import IndexWriterSession
from sample.generator import write_sample
from tests.conftest import REPO
from tests.hardening.test_writer_child import _messages
from tests.indexing import document_count

FIRST, SECOND = 300, 600


def _govmail(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "govmail.cli", *args],
        cwd=REPO, capture_output=True, text=True, timeout=timeout,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )


@pytest.fixture
def tmpfs(tmp_path: Path):
    mount = tmp_path / "fs"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mount)],
                          capture_output=True)
    if done.returncode != 0:
        pytest.skip("cannot mount a tmpfs here (not root?)")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(mount: Path, leave_kb: int) -> Path:
    filler = mount / "filler"
    free = shutil.disk_usage(mount).free
    with open(filler, "wb") as f:
        os.posix_fallocate(f.fileno(), 0, max(0, free - leave_kb * 1024))
    return filler


def _assert_disk_full(done: subprocess.CompletedProcess[str], index: Path) -> None:
    assert "Traceback" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("Error:")]
    assert errors == [done.stderr.splitlines()[-1]], done.stderr
    assert errors[0].startswith(f"Error: disk full at {index} (")
    assert errors[0].endswith("MB free); the index is unchanged")


@pytest.mark.slow
def test_full_disk_at_several_levels(tmpfs: Path, tmp_path: Path) -> None:
    write_sample(tmp_path / "a", messages=FIRST, seed=3, formats={"mbox"})
    write_sample(tmp_path / "b", messages=SECOND, seed=4, formats={"mbox"})
    index = tmpfs / "ix"
    outcomes = []
    for leave_kb in (0, 40, 150):  # a fresh index: the lock, the catalog, the first segment
        filler = _fill(tmpfs, leave_kb)
        done = _govmail("index", "--index", str(index), str(tmp_path / "a"))
        assert done.returncode == 2, done.stderr
        _assert_disk_full(done, index)
        filler.unlink()
        assert document_count(index) == 0
        outcomes.append(leave_kb)
    assert _govmail("index", "--index", str(index), str(tmp_path / "a")).returncode == 0
    assert document_count(index) == FIRST
    for leave_kb in (50, 400, 1200, 2500):  # an index exists: it must survive each
        filler = _fill(tmpfs, leave_kb)
        done = _govmail("index", "--index", str(index), str(tmp_path / "b"))
        filler.unlink()
        assert done.returncode == 2, done.stderr
        _assert_disk_full(done, index)
        assert document_count(index) == FIRST
        # The lock went with the process: the next writer gets it at once.
        lock = WriterLock(index, 0.0)
        lock.acquire()
        lock.release()
    done = _govmail("index", "--index", str(index), str(tmp_path / "b"))
    assert done.returncode == 0, done.stderr
    indexed = int(done.stderr.splitlines()[-1].split("indexed ")[1].split(",")[0])
    assert indexed >= SECOND  # the generator's bare bodies get an id of their own
    assert document_count(index) == FIRST + indexed


def test_injected_enospc_leaves_the_index_unchanged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from backends.whoosh import store

    settings = Settings(index_dir=tmp_path / "ix", batch_size=100)
    with IndexWriterSession(settings) as session:
        for message in _messages(100):
            session.add(message)

    def no_space(self: object) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(store.WhooshWriter, "commit", no_space)
    with pytest.raises(DiskFull, match=r"disk full at .* MB free\); the index is unchanged"):
        with IndexWriterSession(settings) as session:
            for message in _messages(50, offset=500):
                session.add(message)
    monkeypatch.undo()
    assert document_count(settings.index_dir) == 100
    with IndexWriterSession(settings) as session:  # the lock was released
        for message in _messages(50, offset=500):
            session.add(message)
    assert document_count(settings.index_dir) == 150
