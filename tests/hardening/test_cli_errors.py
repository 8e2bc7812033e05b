"""Issue 18, the command line for new users: every command on bad input, through the real
console script, leaves one line on stderr, no traceback, and the README's status."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.hardening import corpus

CASES = [
    ("sample-unwritable", ["sample", "/proc/foo"], 74, "cannot use /proc/foo"),
    ("sample-bad-count", ["sample", "{tmp}/s", "--messages", "0"], 2, "--messages"),
    ("index-missing", ["index", "{tmp}/nope"], 2, "does not exist"),
    ("index-unwritable", ["index", "--index", "/proc/ix", "{tmp}"], 74, "/proc/ix"),
    ("inspect-missing", ["inspect", "{tmp}/nope"], 2, "does not exist"),
    ("search-no-index", ["search", "--index", "{tmp}/none", "x"], 3, "no index"),
    ("search-bad-query", ["search", "--index", "{ix}", "(x"], 2, "bad query"),
    ("search-page", ["search", "--index", "{ix}", "x", "--page", "999"], 2, "--page 999"),
    ("search-columns", ["search", "--index", "{ix}", "x", "--columns", "nope"], 2, "--columns"),
    ("search-format", ["search", "--index", "{ix}", "x", "--format", "xml"], 2, "'xml'"),
    ("show-unknown", ["show", "--index", "{ix}", "no-such@id"], 1, "no message with id"),
    ("stats-no-index", ["stats", "--index", "{tmp}/none"], 3, "no index"),
    ("check-no-index", ["check", "--index", "{tmp}/none"], 3, "no index"),
    ("rebuild-nothing", ["rebuild", "--index", "{tmp}/none"], 2, "nothing to rebuild"),
    ("reindex-no-sources", ["reindex"], 2, "no [[source]]"),
    ("watch-bad-every", ["watch", "--every", "soon"], 2, "bad interval"),
    ("config-missing", ["--config", "{tmp}/missing.toml", "stats"], 2, "config file not found"),
    ("config-bad", ["--config", "{bad}", "stats"], 2, "not valid TOML"),
    ("serve-no-index", ["serve", "--index", "{tmp}/none", "--port", "1"], 3, "no index"),
    ("unknown-command", ["frobnicate"], 2, "No such command"),
    ("export-no-index", ["export", "--index", "{tmp}/none", "x"], 3, "no index"),
    ("export-bad-query", ["export", "--index", "{ix}", "(x"], 2, "bad query"),
    ("export-format", ["export", "--index", "{ix}", "--format", "xml"], 2, "'xml'"),
    ("export-bad-filter", ["export", "--index", "{ix}", "--filter", "nope=1"], 2,
     "unknown facet 'nope'"),
    ("export-unwritable", ["export", "--index", "{ix}", "-o", "/proc/nope.csv"], 74,
     "/proc/nope.csv"),
    ("migrate-no-to", ["migrate", "--from", "{tmp}"], 2, "Missing option '--to'"),
    ("migrate-bad-to", ["migrate", "--to", "whoosh", "--from", "{tmp}"], 2, "'whoosh'"),
    ("migrate-from-file", ["migrate", "--to", "opensearch", "--from", "{bad}"], 2,
     "is a file"),
    ("migrate-whoosh-backend", ["migrate", "--to", "opensearch", "--from", "{ix}"], 2,
     'needs backend = "opensearch"'),
    ("migrate-no-whoosh-index",
     ["--config", "{os}", "migrate", "--to", "opensearch", "--from", "{tmp}/none"], 3,
     "no Whoosh index"),
    # A cluster nobody answers for: the client's retries, then one line (its warnings and
    # tracebacks for each failed request stay out of stderr).
    ("opensearch-search-unreachable", ["--config", "{os}", "search", "x"], 2,
     "no OpenSearch node answered at http://127.0.0.1:1"),
    ("opensearch-stats-unreachable", ["--config", "{os}", "stats"], 2,
     "no OpenSearch node answered"),
    ("opensearch-index-unreachable", ["--config", "{os}", "index", "{tmp}"], 2,
     "no OpenSearch node answered"),
    ("opensearch-export-unreachable", ["--config", "{os}", "export", "x"], 2,
     "no OpenSearch node answered"),
]


def _script() -> list[str]:
    found = shutil.which("govmail") or str(Path(sys.executable).with_name("govmail"))
    return [found] if Path(found).exists() else [sys.executable, "-m", "govmail.cli"]


@pytest.fixture(scope="module")
def places(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    tmp = tmp_path_factory.mktemp("cli")
    index = corpus.build(tmp / "ix", messages=20, words=100)
    bad = tmp / "bad.toml"
    bad.write_text("index_dir = [unclosed\n", encoding="utf-8")
    # migrate refuses these before it asks the cluster anything: port 1 answers nobody.
    cluster = 'backend = "opensearch"\n[opensearch]\nurl = ["http://127.0.0.1:1"]\n'
    opensearch = tmp / "os.toml"
    opensearch.write_text(f'index_dir = "{tmp}/os-state"\n{cluster}', encoding="utf-8")
    return {"tmp": str(tmp), "ix": str(index), "bad": str(bad), "os": str(opensearch)}


@pytest.mark.parametrize(("args", "status", "words"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_and_a_documented_status(
    places: dict[str, str], args: list[str], status: int, words: str
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GOVMAIL_")}
    env["PYTHONPATH"] = str(REPO)
    env["XDG_DATA_HOME"] = places["tmp"] + "/xdg"
    done = subprocess.run(_script() + [a.format(**places) for a in args], cwd=REPO,
                          capture_output=True, text=True, timeout=60, env=env)
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("Error: "), lines
    assert words in lines[0]
    assert done.returncode == status, (done.returncode, done.stderr)
