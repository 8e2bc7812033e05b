"""Issue 18, item 6: damage is found, named in one line, refused, and rebuilt away.

Real console-script runs over an index of a generated archive: flipped bytes in the
segment, a truncated segment, a catalog overwritten. ``govmail check`` names the file
and exits 6; ``search`` and ``serve`` refuse a truncated segment with one line (no
traceback, no 500; flipped bytes, which only reading them finds, are what serve's
background check answers, tests/govmail/test_serve_start.py); ``index`` refuses a damaged
catalog; ``govmail rebuild`` makes a sound index with the same messages.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sample.generator import write_sample
from tests.conftest import REPO

pytestmark = pytest.mark.slow


def _govmail(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "govmail.cli", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "PYTHONPATH": str(REPO)})


@pytest.fixture(scope="module")
def sound(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("damage")
    write_sample(base / "archive", messages=120, seed=9, formats={"mbox"})
    done = _govmail("index", "--index", str(base / "ix"), str(base / "archive"), "--quiet")
    assert done.returncode == 0, done.stderr
    return base / "archive", base / "ix"


def _copy(sound: tuple[Path, Path], tmp_path: Path) -> tuple[Path, Path]:
    index = tmp_path / "ix"
    shutil.copytree(sound[1], index)
    return index, next(index.glob("MAIN_*.seg"))


def _one_line(done: subprocess.CompletedProcess[str], status: int, *words: str) -> str:
    assert done.returncode == status, done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    for word in words:
        assert word in lines[0]
    return lines[0]


def test_sound_index_checks_ok(sound: tuple[Path, Path]) -> None:
    done = _govmail("check", "--index", str(sound[1]))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("ok: 120 messages")


def test_flipped_bytes(sound: tuple[Path, Path], tmp_path: Path) -> None:
    index, segment = _copy(sound, tmp_path)
    data = bytearray(segment.read_bytes())
    for i in range(len(data) // 3, len(data) // 3 + 64):
        data[i] ^= 0xFF
    segment.write_bytes(bytes(data))
    done = _govmail("check", "--index", str(index))
    assert f"damaged: segment {segment.name}: its bytes changed" in done.stdout
    _one_line(done, 6, "run `govmail rebuild`")


def test_truncated_segment(sound: tuple[Path, Path], tmp_path: Path) -> None:
    index, segment = _copy(sound, tmp_path)
    os.truncate(segment, segment.stat().st_size // 2)
    done = _govmail("search", "--index", str(index), "governance")
    _one_line(done, 6, "index damaged", segment.name, "truncated")
    # Sizes are a stat a file: serve still refuses before it answers anything.
    done = _govmail("serve", "--index", str(index), "--port", "1")
    _one_line(done, 6, "index damaged", segment.name, "truncated")
    assert _govmail("check", "--index", str(index)).returncode == 6


def test_damaged_catalog_then_rebuild(sound: tuple[Path, Path], tmp_path: Path) -> None:
    index, _ = _copy(sound, tmp_path)
    catalog = index / "catalog.sqlite"
    data = bytearray(catalog.read_bytes())
    data[:100] = b"x" * 100
    catalog.write_bytes(bytes(data))
    for name in ("catalog-wal", "catalog-shm"):
        (index / f"catalog.sqlite{name[7:]}").unlink(missing_ok=True)
    done = _govmail("index", "--index", str(index), str(sound[0]))
    _one_line(done, 6, "catalog", "is damaged", "govmail rebuild")
    done = _govmail("rebuild", "--index", str(index), "--quiet", str(sound[0]))
    assert done.returncode == 0, done.stderr
    check = _govmail("check", "--index", str(index))
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout.startswith("ok: 120 messages")
    assert not index.with_name("ix.rebuild").exists()
    assert not index.with_name("ix.replaced").exists()
