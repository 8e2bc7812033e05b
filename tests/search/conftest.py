"""Fixtures of the search tests: the hand-built archive, its index and one Engine on it."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.config import Settings
from core.records import Message
from search.engine import Engine
from tests.search.archive import build_messages, write_index


@pytest.fixture(scope="session")
def messages() -> list[Message]:
    return build_messages()


@pytest.fixture(scope="session")
def fixture_index(tmp_path_factory: pytest.TempPathFactory, messages: list[Message]) -> Path:
    index_dir = tmp_path_factory.mktemp("fixture") / "index"
    write_index(index_dir, messages)
    return index_dir


@pytest.fixture(scope="session")
def settings(fixture_index: Path) -> Settings:
    return Settings(index_dir=fixture_index)


@pytest.fixture(scope="session")
def engine(settings: Settings) -> Engine:
    return Engine(settings)
