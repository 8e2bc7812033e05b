"""The walking skeleton: a generated archive goes through `govmail index`, and a known message is
found again through `govmail search` (a real subprocess) and through the Flask app."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote

import pytest
from bs4 import BeautifulSoup

from tests.conftest import REPO

MESSAGES = 300


def govmail(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "govmail.cli", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def indexed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    root = tmp_path_factory.mktemp("e2e")
    env = {**os.environ, "GOVMAIL_INDEX": str(root / "index"), "GOVMAIL_CONFIG": ""}
    made = govmail("sample", str(root / "archive"), "--messages", str(MESSAGES), env=env)
    assert made.returncode == 0, made.stderr
    done = govmail("index", str(root / "archive"), "--quiet", env=env)
    assert done.returncode == 0, done.stderr
    assert "read" in done.stderr and "indexed" in done.stderr
    return root, env


def known_message() -> tuple[str, str]:
    """A thread-starting message of the sample and an 8-word run of its own words."""
    from sample.generator import generate

    for sample in generate(MESSAGES, seed=1):
        words = sample.original_text.split()
        if not sample.in_reply_to and not sample.is_bare_body and len(words) > 20:
            return sample.message_id.strip("<>"), " ".join(words[5:13])
    raise AssertionError("the sample has no thread starter")


def test_cli_finds_a_known_message(indexed: tuple[Path, dict[str, str]]) -> None:
    _, env = indexed
    message_id, words = known_message()
    found = govmail("search", words, "--format", "json", env=env)
    assert found.returncode == 0, found.stderr
    result = json.loads(found.stdout)
    assert result["total"] >= 1
    assert result["hits"][0]["message_id"] == message_id


def test_cli_exit_status_without_hits(indexed: tuple[Path, dict[str, str]]) -> None:
    _, env = indexed
    assert govmail("search", "zzxqvw", env=env).returncode == 1


def test_stats_counts_the_archive(indexed: tuple[Path, dict[str, str]]) -> None:
    _, env = indexed
    shown = govmail("stats", "--format", "json", env=env)
    assert shown.returncode == 0, shown.stderr
    stats = json.loads(shown.stdout)
    # Cross-posts become one record, so there are at most MESSAGES records.
    assert 0.9 * MESSAGES <= stats["messages"] <= MESSAGES


def test_web_finds_a_known_message(indexed: tuple[Path, dict[str, str]]) -> None:
    from core.config import load
    from web import create_app

    root, env = indexed
    settings = load(env={"GOVMAIL_INDEX": env["GOVMAIL_INDEX"]})
    client = create_app(settings).test_client()
    message_id, words = known_message()
    page = client.get("/search", query_string={"q": words})
    assert page.status_code == 200
    soup = BeautifulSoup(page.get_data(as_text=True), "lxml")
    linked = [unquote(a["href"]) for a in soup.find_all("a", href=True) if "/message/" in a["href"]]
    assert linked, "the results page links to no message"
    assert linked[0].endswith(message_id)
    api = client.get("/api/search", query_string={"q": words}).get_json()
    assert api["hits"][0]["message_id"] == message_id
    shown = client.get(f"/api/message/{message_id}")
    assert shown.status_code == 200
