"""Issue 18, item 8: with obfuscate_addresses on, no fixture address leaves the server.

The fixture puts addresses everywhere one can hide: subjects, an author whose name is
a bare address, the email facet, attachment names, bodies, quotes, thread ids. Every
route (pages, raw source, JSON API, Atom, OpenSearch) and every link on the pages one
click away is fetched; each answer is scanned raw, HTML-unescaped and URL-unquoted.
The obfuscated author and facet links must still work (200, the same author).
"""

from __future__ import annotations

import html
import random
import re
from pathlib import Path
from urllib.parse import unquote, unquote_plus, urlsplit

import pytest
from flask.testing import FlaskClient

from core.config import Settings
from core.records import Attachment, Author
from tests.hardening import corpus
from tests.indexing import write_messages

ADDRESSES = ("leaky.subject@example.net", "bare.author@example.org", "file.name@example.com",
             "in.body@example.info", "quoted.one@example.edu")
ID = "privacy-1@hardening.example"


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> FlaskClient:
    from web import create_app

    rng = random.Random(3)
    words = corpus.vocabulary(200)
    messages = [corpus.message(i, words, rng) for i in range(10)]
    messages.append(corpus.message(
        1, words, rng, message_id=ID, thread_id=ID,
        subject=f"governance: write to {ADDRESSES[0]} today",
        author=Author(ADDRESSES[1], ADDRESSES[1]),
        original_text=f"governance budget, ask {ADDRESSES[3]} or <{ADDRESSES[1]}>",
        quoted_text=f"{ADDRESSES[4]} wrote: governance",
        attachments=(Attachment(f"{ADDRESSES[2]}.pdf", "application/pdf", 1234),),
    ))
    index = write_messages(tmp_path_factory.mktemp("privacy") / "ix",
                           ((m, None) for m in messages))
    app = create_app(Settings(index_dir=Path(index), obfuscate_addresses=True))
    return app.test_client()


def _leaks(text: str) -> list[str]:
    views = (text, html.unescape(text), unquote(html.unescape(text)),
             unquote_plus(html.unescape(text)))
    return sorted({a for a in ADDRESSES for view in views if a in view})


ROUTES = [
    "/", "/search?q=governance", "/search?q=governance&sort=-date", f"/message/{ID}",
    f"/message/{ID}/raw", f"/thread/{ID}", f"/author/{ADDRESSES[1]}", "/feed.atom",
    "/feed.atom?q=governance", "/opensearch.xml", "/api/search?q=governance",
    f"/api/message/{ID}", f"/api/thread/{ID}", f"/api/author/{ADDRESSES[1]}", "/help",
    f"/search?q=governance&author={ADDRESSES[1]}",
]


def test_no_route_shows_an_address(client: FlaskClient) -> None:
    seen: dict[str, int] = {}
    links: set[str] = set()
    for route in ROUTES:
        response = client.get(route)
        text = response.get_data(as_text=True)
        assert not _leaks(text), (route, _leaks(text))
        seen[route] = response.status_code
        for href in re.findall(r'href="([^"]+)"', text):
            href = html.unescape(href)
            if not urlsplit(href).netloc and href.startswith("/"):
                links.add(href)
    assert all(status == 200 for status in seen.values()), seen
    assert len(links) > 20
    for link in sorted(links):
        response = client.get(link)
        text = response.get_data(as_text=True)
        response.close()
        assert not _leaks(text), (link, _leaks(text))
        assert response.status_code in (200, 404), (link, response.status_code)


def test_obfuscated_links_still_work(client: FlaskClient) -> None:
    page = client.get("/search?q=governance").get_data(as_text=True)
    author_links = {html.unescape(h) for h in re.findall(r'href="(/author/[^"]+)"', page)}
    shown = [h for h in author_links if "bare.author" in h]
    assert shown, author_links
    response = client.get(shown[0])
    assert response.status_code == 200
    assert "bare.author at example.org" in response.get_data(as_text=True)
    facet = [html.unescape(h) for h in re.findall(r'href="([^"]*author=bare\.author[^"]*)"',
                                                   page)]
    assert facet, "no author facet link for the bare address"
    found = client.get(facet[0])
    assert found.status_code == 200
    assert "1 message" in found.get_data(as_text=True) or \
        ID.split("@")[0] in found.get_data(as_text=True)
