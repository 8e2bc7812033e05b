"""bench.web_peers end to end on a small archive: both real servers built, loaded, stopped."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bench import web_peers

# The bench extra's: a checkout without it skips, never fails to collect.
psutil = pytest.importorskip("psutil")


@pytest.mark.slow
def test_both_servers_answer_the_same_queries_and_are_stopped(tmp_path: Path) -> None:
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    args = web_peers.parse_args(["--messages", "200", "--seed", "3", "--seconds", "2",
                                 "--round", "1", "--queries", "10", "--dir", str(tmp_path)])
    lines: list[str] = []
    figures = web_peers.run(args, say=lines.append)
    mine = figures["govmail"]
    assert mine["requests"] > 0 and mine["statuses"] == {"200": mine["requests"]}
    assert mine["p95_ms"] >= mine["p50_ms"] > 0 and mine["cpu_ms_per_request"] > 0
    if shutil.which("public-inbox-httpd"):
        theirs = figures["public-inbox-httpd"]
        assert theirs["requests"] > 0
        assert set(theirs["statuses"]) <= {"200", "404"}, theirs["statuses"]
        assert figures["ratio"]["requests_per_s"] > 0
    else:
        assert any("skipped public-inbox-httpd" in line for line in lines)
    # Every server process (public-inbox's workers too) is gone.
    left = {p.pid for p in psutil.Process().children(recursive=True)} - before
    assert not left, left
