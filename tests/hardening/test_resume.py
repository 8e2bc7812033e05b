"""Issue 18: after a SIGKILL, the next run resumes from what the catalog committed.

Each file's state is committed with the batch holding its last messages, so a `govmail
reindex` killed after a few commits leaves those files recorded: the next one reads only
the rest (not the whole archive again) and ends with every message exactly once.
(`govmail index` reads every path it is given by design; reindex is the cron path.)
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from index.catalog import Catalog
from sample.generator import generate, write_mbox
from tests.conftest import REPO
from tests.indexing import document_count

pytestmark = pytest.mark.slow

FILES, PER_FILE = 24, 25


def _run(config: Path, archive: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "govmail.cli", "--config", str(config), "reindex"],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )


def _committed(index: Path) -> int:
    if not (index / "catalog.sqlite").exists():
        return 0
    try:
        catalog = Catalog(index)
    except Exception:
        return 0
    try:
        return catalog.count()
    finally:
        catalog.close()


def test_a_killed_index_run_resumes(tmp_path: Path) -> None:
    truth = [m for m in generate(FILES * PER_FILE, 41) if m.message_id and not m.is_bare_body]
    archive = tmp_path / "archive"
    for number in range(FILES):
        write_mbox(archive / f"list-{number:02d}.mbox",
                   truth[number * PER_FILE:(number + 1) * PER_FILE])
    copies = sum(len(m.copies) for m in truth)
    index = tmp_path / "ix"
    config = tmp_path / "govmail.toml"
    config.write_text(f'index_dir = "{index}"\n[index]\nbatch_size = 40\njobs = 1\n'
                      f'[[source]]\npath = "{archive}"\n', encoding="utf-8")
    first = _run(config, archive)
    deadline = time.monotonic() + 120
    while _committed(index) < len(truth) // 3:
        assert first.poll() is None, first.stderr.read() if first.stderr else ""
        assert time.monotonic() < deadline, "no commits came"
        time.sleep(0.05)
    first.send_signal(signal.SIGKILL)
    first.communicate(timeout=30)
    done_before = _committed(index)
    assert 0 < done_before < len(truth)

    second = _run(config, archive)
    _, err = second.communicate(timeout=300)
    assert second.returncode == 0, err
    read = int(err.strip().splitlines()[-1].split(",")[0].removeprefix("read "))
    # Files committed before the kill are not read again (a file in flight may be).
    assert read <= copies - done_before + 2 * PER_FILE, (read, copies, done_before)
    assert document_count(index) == len(truth)
    assert _committed(index) == len(truth)
