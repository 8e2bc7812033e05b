"""Fixtures of the hardening tests: a large-vocabulary index, an engine and a web client."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from core.config import Settings
from search.engine import Engine
from tests.hardening import corpus


@pytest.fixture(scope="session")
def wide_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """400 messages over 6,000 distinct words: enough terms to make sloppy queries costly."""
    return corpus.build(tmp_path_factory.mktemp("hardening") / "wide")


@pytest.fixture(scope="session")
def small_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return corpus.build(tmp_path_factory.mktemp("hardening") / "small", messages=40, words=300)


@pytest.fixture(scope="session")
def wide_settings(wide_index: Path) -> Settings:
    return Settings(index_dir=wide_index)


@pytest.fixture(scope="session")
def wide_engine(wide_settings: Settings) -> Engine:
    return Engine(wide_settings)


@pytest.fixture(scope="session")
def wide_app(wide_settings: Settings) -> Flask:
    from web import create_app

    return create_app(wide_settings)


@pytest.fixture
def wide_client(wide_app: Flask) -> FlaskClient:
    return wide_app.test_client()
