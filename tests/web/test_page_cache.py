"""Kept search pages (web/caching.PageCache): served again only while they are true.

A kept page must be the page a fresh render would give (addresses hidden, escaping
intact, this request's timing), and a commit to the index must show at once.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from core.config import Settings
from tests.web.conftest import build_index, fixture_messages, to_message
from web import caching, pages

TIMING = re.compile(r'<span class="timing">\(\d+ ms\)</span>')


def without_timing(body: str) -> str:
    assert len(TIMING.findall(body)) == 1, "the timing appears once"
    return TIMING.sub("", body)


@pytest.fixture
def renders(app: Flask, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The URLs the search page was rendered for (not served from the kept pages), from
    an empty cache (the app is the session's)."""
    monkeypatch.setitem(app.extensions, "govmail.pages", caching.PageCache())
    seen: list[str] = []
    real = pages.render_search

    def counting() -> tuple[str, float]:
        from flask import request

        seen.append(request.full_path)
        return real()

    monkeypatch.setattr(pages, "render_search", counting)
    return seen


def test_a_page_asked_again_is_not_rendered_again(client: FlaskClient, renders: list[str]) -> None:
    first = client.get("/search?q=anriette")
    again = client.get("/search?q=anriette")
    assert first.status_code == again.status_code == 200
    assert renders == ["/search?q=anriette"]
    assert without_timing(again.get_data(as_text=True)) == without_timing(
        first.get_data(as_text=True))
    # Hidden once when kept, still hidden when served again.
    assert "anriette at apc.example" in again.get_data(as_text=True)
    assert "anriette@apc.example" not in again.get_data(as_text=True)


def test_what_the_page_reads_tells_pages_apart(client: FlaskClient, renders: list[str]) -> None:
    # The view reads the first q: an empty one lists everything.
    everything = client.get("/search?q=&q=cooperation").get_data(as_text=True)
    matching = client.get("/search?q=cooperation").get_data(as_text=True)
    assert "All messages" in everything and "All messages" not in matching
    by_date = client.get("/search?q=cooperation&sort=date").get_data(as_text=True)
    assert by_date != matching
    # Arguments the page never reads share its kept copy.
    client.get("/search?q=cooperation&utm_source=x")
    assert renders == ["/search?q=&q=cooperation", "/search?q=cooperation",
                       "/search?q=cooperation&sort=date"]


def test_the_timing_marker_cannot_come_from_the_request(client: FlaskClient) -> None:
    for _ in range(2):
        body = client.get("/search", query_string={"q": "<elapsed> cooperation"}).get_data(
            as_text=True)
        assert "<elapsed>" not in body
        assert "&lt;elapsed&gt; cooperation" in body
        without_timing(body)


def test_a_commit_shows_at_once(tmp_path: Path) -> None:
    from web import create_app

    specs = fixture_messages()
    index = build_index(tmp_path / "index", specs[:4])
    app: Flask = create_app(Settings(index_dir=index))
    client = app.test_client()
    before = client.get("/search?q=accountability").get_data(as_text=True)
    assert "IANA transition" not in before
    added = [s for s in specs if s["id"] == "ietf-1@ietf.example"]
    from tests.indexing import write_messages

    write_messages(index, (to_message(s) for s in added))
    after = client.get("/search?q=accountability").get_data(as_text=True)
    assert "IANA transition and accountability" in after


def test_the_bound_drops_the_least_recently_used() -> None:
    cache = caching.PageCache(max_bytes=10)
    cache.put("a", ("12345",))
    cache.put("b", ("123",))
    assert cache.get("a") == ("12345",)  # "a" is now the most recent
    cache.put("c", ("1234",))
    assert cache.get("b") is None and cache.get("a") and cache.get("c")
    cache.put("huge", ("x" * 11,))  # larger than the whole bound: not kept at all
    assert cache.get("huge") is None and len(cache) == 2
