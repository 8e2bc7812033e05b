"""Shared fixtures: paths to the repository's own data and to ../shared (when present)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "tests" / "data"
# The corpora live beside the checkout (../shared); tests that read them skip without it.
# $GOVMAIL_SHARED points elsewhere (a worktree under another folder than the checkout's).
SHARED = Path(os.environ.get("GOVMAIL_SHARED") or REPO.parent / "shared")
SEED = SHARED / "corpora" / "seed" / "000_914dd06c372cf517.txt"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="Rewrite the expected JSON of golden tests from the current output.",
    )


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))


@pytest.fixture
def shared_corpora() -> Path:
    corpora = SHARED / "corpora"
    if not corpora.is_dir():
        pytest.skip(f"{corpora} is absent")
    return corpora


@pytest.fixture
def seed_path() -> Path:
    if not SEED.is_file():
        pytest.skip(f"{SEED} is absent")
    return SEED
