"""The benchmark harness end to end on a tiny corpus: every section runs and reports figures.

It checks that ``python -m bench`` works and writes the keys issue 7 names, each a
positive number; it asserts nothing about speed (figures come from the benchmark,
never from timed unit tests). Sizes are cut so that the whole run stays under ~40 s.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from sample.generator import generate
from tests.conftest import REPO

pytest.importorskip("tantivy")
pytest.importorskip("psutil")

KEYS = (
    "ingest_msgs_per_s",
    "plain_p50_ms",
    "plain_p95_ms",
    "faceted_p95_ms",
    "highlight_p95_ms",
    "fts5_plain_p95_ms",
    "tantivy_plain_p95_ms",
    "peak_rss_mb",
    "index_bytes_per_msg",
    "web_requests_per_s",
    "incremental_visible_s",
)


@pytest.mark.slow
def test_bench_runs_every_section_and_writes_the_figures(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    markdown = tmp_path / "RESULTS.md"
    command = [
        sys.executable, "-m", "bench", "--messages", "300", "--repeat", "1",
        "--queries", "12", "--increment", "30", "--web-requests", "12", "--web-seconds", "10",
        "--workdir", str(tmp_path / "work"), "--json", str(out), "--markdown", str(markdown),
    ]  # fmt: skip
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    figures = json.loads(out.read_text(encoding="utf-8"))
    run = figures["sizes"]["300"]
    # Every section ran: none skipped or failed (a missing stage would show here first).
    problems = {
        name: run[name]
        for name in ("ingest", "search", "web", "incremental", "baselines")
        if "skipped" in run[name] or "failed" in run[name]
    }
    assert problems == {}
    not_positive = {k: figures.get(k) for k in KEYS if not (figures.get(k) or 0) > 0}
    assert not_positive == {}
    # Every copy in the archive is read once: cross-posts twice, bare bodies once.
    copies = sum(1 if m.is_bare_body else len(m.copies) for m in generate(300, 1))
    assert run["ingest"]["read"] == copies
    # 300 distinct messages; the second copy of each cross-post is a duplicate.
    assert (run["ingest"]["indexed"], run["ingest"]["duplicates"]) == (300, copies - 300)
    assert run["ingest"]["rejected"] == 0
    assert run["incremental"]["visible"] is True
    assert run["web"]["statuses"] == {"200": run["web"]["requests"]}
    assert run["baselines"]["fts5"]["docs"] == 300
    assert run["baselines"]["tantivy"]["docs"] == 300
    assert figures["machine"]["nproc"] >= 1
    text = markdown.read_text(encoding="utf-8")
    assert "| plain query p95 (ms)" in text
    assert "Machine: nproc" in text
