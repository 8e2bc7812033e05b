"""Fixtures of the web tests: a real Whoosh index of hand-made messages, an app, a client.

The messages (tests/data/web/messages.json) go through the indexer's own
``index.document.to_document`` into ``backends.whoosh.schema.SCHEMA``, so the pages are tested
against the real Engine over a real index, not a fake.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from core.config import Settings
from core.records import Author, CharsetReport, Message, Quote, SourceRef
from index.document import Identity
from tests.conftest import DATA
from tests.indexing import write_messages

FIXTURE = DATA / "web" / "messages.json"
# Messages citing the Tunis Agenda's paragraphs, RFCs and the ITU (issue 20's pages), with
# their authors' stakeholder groups.
REFERENCES_MBOX = DATA / "web" / "references.mbox"
REFERENCES_ALIASES = DATA / "web" / "references-aliases.csv"


def fixture_messages() -> list[dict[str, Any]]:
    return json.loads(FIXTURE.read_text(encoding="utf-8"))["messages"]


def to_message(spec: dict[str, Any]) -> tuple[Message, Identity]:
    quotes = tuple(Quote(a, mid, depth, text) for a, mid, depth, text in spec.get("quotes", ()))
    date = datetime.fromisoformat(spec["date"].replace("Z", "+00:00"))
    message = Message(
        message_id=spec["id"],
        source=SourceRef("tests/data/web/messages.json", spec["id"]),
        lists=tuple(spec["lists"]),
        subject=spec["subject"],
        subject_normalized=spec["subject"].removeprefix("Re: ").removeprefix("Re: "),
        author=Author(spec["author"], spec.get("email")),
        date=date,
        date_source="header",
        in_reply_to=spec.get("in_reply_to"),
        references=(spec["in_reply_to"],) if spec.get("in_reply_to") else (),
        original_text=spec["original"],
        quoted_text="\n\n".join(q.text for q in quotes),
        quotes=quotes,
        signature=spec.get("signature", ""),
        footer=spec.get("footer", ""),
        charset=CharsetReport("utf-8", "utf-8"),
        thread_id=spec.get("thread", spec["id"]),
        headers=(
            f"From: {spec['author']} <{spec.get('email', '')}>\n"
            f"Subject: {spec['subject']}\nMessage-ID: <{spec['id']}>\nDate: {spec['date']}"
        ),
    )
    identity = Identity(
        name=spec["author"], email=spec.get("email"), group=spec.get("group"),
        affiliation=spec.get("affiliation"),
    )
    return message, identity


def build_index(directory: Path, specs: list[dict[str, Any]]) -> Path:
    return write_messages(directory, (to_message(spec) for spec in specs))


@pytest.fixture(scope="session")
def web_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_index(tmp_path_factory.mktemp("web") / "index", fixture_messages())


@pytest.fixture(scope="session")
def settings(web_index: Path) -> Settings:
    return Settings(index_dir=web_index)


@pytest.fixture(scope="session")
def app(settings: Settings) -> Flask:
    from web import create_app

    return create_app(settings)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture(scope="session")
def archive_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.web import archive

    return archive.build(tmp_path_factory.mktemp("archive") / "index")


@pytest.fixture(scope="session")
def archive_app(archive_index: Path) -> Flask:
    """The interleaved-replies archive, addresses shown (so exports are byte-identical)."""
    from index.raw import read
    from web import create_app

    return create_app(Settings(index_dir=archive_index, obfuscate_addresses=False),
                      read_original=read)


@pytest.fixture
def archive_client(archive_app: Flask) -> FlaskClient:
    return archive_app.test_client()


@pytest.fixture(scope="session")
def refs_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """REFERENCES_MBOX through the real indexer, groups from REFERENCES_ALIASES."""
    from index.indexer import index_paths

    index_dir = tmp_path_factory.mktemp("refs") / "index"
    settings = Settings(index_dir=index_dir, aliases=REFERENCES_ALIASES)
    report = index_paths([REFERENCES_MBOX], settings, list_name="governance", progress=False)
    assert not report.rejections
    return index_dir


@pytest.fixture(scope="session")
def refs_app(refs_index: Path) -> Flask:
    from web import create_app

    return create_app(Settings(index_dir=refs_index))


@pytest.fixture
def refs(refs_app: Flask) -> FlaskClient:
    return refs_app.test_client()
