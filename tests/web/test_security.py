"""Mail is hostile input: payloads in subjects, names and bodies come back as text.

Also: security headers on every response, no inline script or style for the CSP to
forbid, 4xx pages (never a 500) for bad input, and no URL that reaches a file
outside the static folder.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from flask import Flask
from flask.testing import FlaskClient

from core.config import Settings
from tests.conftest import REPO

XSS_SUBJECT = '<script>alert("subject")</script> cooperation'
XSS_AUTHOR = "<img src=x onerror=alert(1)>"
XSS_BODY = "<script>alert('body')</script> cooperation & \"quotes\" <b>bold</b>"
XSS_QUOTED_AUTHOR = "<svg onload=alert(2)>"
XSS_QUOTE = "<iframe src=javascript:alert(3)></iframe>"
XSS_SIGNATURE = '<a href="javascript:alert(4)">sig</a>'
XSS_FOOTER = "</summary><script>alert(5)</script>"

PAGES_WITH_PAYLOADS = [
    "/search?q=cooperation",
    "/search?q=cooperation&quoted=1&year=2011",
    "/message/xss-1@evil.example",
    "/thread/xss-1@evil.example",
    "/message/root-1@example.org",
    "/author/%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E",
    "/search?author=%3Cimg+src%3Dx+onerror%3Dalert(1)%3E",
    "/search?q=%3Cscript%3Ealert(9)%3C/script%3E",
    "/message/%3Cscript%3Ealert(9)%3C/script%3E",
]
EVERY_KIND_OF_RESPONSE = [
    "/", "/search?q=cooperation", "/message/root-1@example.org",
    "/message/root-1@example.org/raw", "/thread/root-1@example.org", "/author/Avri%20Doria",
    "/help", "/healthz", "/api/search?q=x", "/api/message/root-1@example.org",
    "/feed.atom?q=x", "/opensearch.xml", "/static/style.css", "/static/app.js",
    "/message/unknown", "/search?q=(((", "/api/nothing", "/no/such/page",
]


def html_of(client: FlaskClient, url: str) -> BeautifulSoup:
    response = client.get(url)
    assert response.status_code in (200, 404), (url, response.status_code)
    return BeautifulSoup(response.get_data(as_text=True), "lxml")


def assert_inert(soup: BeautifulSoup) -> None:
    """Only our own script, no event handlers, no active elements mail could have smuggled."""
    scripts = soup.find_all("script")
    assert [(s.get("src"), s.get_text()) for s in scripts] == [("/static/app.js", "")]
    for tag in soup.find_all(True):
        handlers = [a for a in tag.attrs if a.lower().startswith("on")]
        assert handlers == [], tag
        assert "style" not in tag.attrs, tag
        for attr in ("href", "src"):
            assert not str(tag.get(attr, "")).lower().startswith("javascript:"), tag
    assert soup.find_all(["iframe", "img", "object", "embed", "style", "b"]) == []
    assert soup.select("svg[onload]") == []


@pytest.mark.parametrize("url", PAGES_WITH_PAYLOADS)
def test_payloads_are_inert_in_html(client: FlaskClient, url: str) -> None:
    assert_inert(html_of(client, url))


def test_payloads_come_back_as_the_text_they_were(client: FlaskClient) -> None:
    soup = html_of(client, "/message/xss-1@evil.example")
    article = soup.select_one("article.message")
    assert article.select_one("h1").get_text() == XSS_SUBJECT
    assert article.select_one("a.author").get_text() == XSS_AUTHOR
    assert article.select_one(".original").get_text() == XSS_BODY
    assert article.select_one(".quoted-author").get_text() == XSS_QUOTED_AUTHOR
    assert article.select_one("details.quote .text").get_text() == XSS_QUOTE
    assert article.select_one(".signature").get_text() == XSS_SIGNATURE
    assert article.select_one(".footer").get_text() == XSS_FOOTER
    results = html_of(client, "/search?q=cooperation")
    assert results.select_one("a.subject").get_text() == XSS_SUBJECT
    assert results.select_one("li.hit a.author").get_text() == XSS_AUTHOR
    authors = [v.get_text() for v in results.select("section.facet-author .value")]
    assert XSS_AUTHOR in authors
    assert XSS_QUOTED_AUTHOR in [v.get_text() for v in results.select(
        "section.facet-quoted_author .value")]


def test_raw_source_is_plain_text_never_sniffed(client: FlaskClient) -> None:
    response = client.get("/message/xss-1@evil.example/raw")
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert XSS_BODY in response.get_data(as_text=True)


def test_payloads_are_text_in_atom(client: FlaskClient) -> None:
    feed = ET.fromstring(client.get("/feed.atom?q=cooperation").data)
    atom = "{http://www.w3.org/2005/Atom}"
    entry = feed.find(f"{atom}entry")
    assert entry.findtext(f"{atom}title") == XSS_SUBJECT
    assert entry.findtext(f"{atom}author/{atom}name") == XSS_AUTHOR
    assert entry.find(f"{atom}summary").get("type") == "text"
    # Escaped text, not markup: no element from the payloads entered the tree.
    assert {el.tag.split("}")[-1] for el in feed.iter()} <= {
        "feed", "title", "id", "link", "updated", "generator", "entry", "author", "name",
        "category", "summary"}


def test_payloads_are_strings_in_json(client: FlaskClient) -> None:
    response = client.get("/api/message/xss-1@evil.example")
    assert response.headers["Content-Type"] == "application/json"
    data = response.get_json()
    assert (data["subject"], data["author"], data["original"], data["footer"]) == (
        XSS_SUBJECT, XSS_AUTHOR, XSS_BODY, XSS_FOOTER)
    hits = client.get("/api/search?q=cooperation").get_json()["hits"]
    assert hits[0]["subject"] == XSS_SUBJECT
    # The HTML snippet of the API is escaped by the engine: no tag but <mark>.
    assert re.sub("</?mark>", "", hits[0]["snippet"]).count("<") == 0
    assert "&lt;/script&gt;" in hits[0]["snippet"]


@pytest.mark.parametrize("url", EVERY_KIND_OF_RESPONSE)
def test_security_headers_on_every_response(client: FlaskClient, url: str) -> None:
    with client.get(url) as response:
        headers = response.headers
    assert {name: headers.get(name) for name in (
        "Content-Security-Policy", "X-Content-Type-Options", "Referrer-Policy")} == {
        "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
        "style-src 'self'; script-src 'self'; frame-ancestors 'none'; base-uri 'none'",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
    }


@pytest.mark.parametrize("url", [u for u in EVERY_KIND_OF_RESPONSE if not u.startswith((
    "/static", "/api", "/healthz", "/feed", "/opensearch")) and not u.endswith("/raw")])
def test_no_inline_script_or_style(client: FlaskClient, url: str) -> None:
    soup = BeautifulSoup(client.get(url).get_data(as_text=True), "lxml")
    assert soup.find_all("style") == []
    assert [s for s in soup.find_all("script") if not s.get("src") or s.get_text()] == []
    assert [t.name for t in soup.find_all(True) if "style" in t.attrs] == []
    assert soup.select_one("meta[name=viewport]")["content"] == \
        "width=device-width, initial-scale=1"
    external = [t.get("href") or t.get("src") for t in soup.find_all(["link", "script"])
                if "//" in (t.get("href") or t.get("src") or "")]
    assert external == []


@pytest.mark.parametrize(
    ("url", "status", "says"),
    [
        ("/message/nobody@nowhere", 404, "no message with id 'nobody@nowhere' is in the index"),
        ("/thread/nobody@nowhere", 404, "no thread with id 'nobody@nowhere' is in the index"),
        ("/author/Nobody", 404, "no author named 'Nobody' is in the index"),
        ("/message/nobody@nowhere/raw", 404,
         "no message with id 'nobody@nowhere' is in the index"),
        ("/search?q=cooperation&page=3", 404, "page 3 is beyond the end: 5 hits make 1 page"),
        ("/search?q=zzxqvw&page=2", 404, "page 2 is beyond the end: 0 hits make 1 page"),
        ("/search?page=501", 400, "page must be from 1 to 500, not 501"),
        ("/search?page=-1", 400, "page must be a whole number from 1 to 500, not '-1'"),
        ("/search?page=99999999999999999999", 400,
         "page must be a whole number from 1 to 500, not '99999999999999999999'"),
        ("/search?size=0", 400, "size must be from 1 to 100, not 0"),
        ("/search?sort=%3Cscript%3E", 400,
         "sort must be one of relevance, -date, date, not '<script>'"),
        ("/search?q=" + "a" * 1001, 400, "the query is 1001 characters long; the limit is 1000"),
        ("/search?author=" + "x" * 201, 400, "a author value is longer than 200 characters"),
        ("/search?" + "&".join(f"list=l{i}" for i in range(21)), 400,
         "at most 20 values of list at once"),
        ("/message/" + "m" * 1001, 400, "a message id is at most 1000 characters long"),
    ],
)
def test_bad_input_gets_a_4xx_page_that_says_why(client: FlaskClient, url: str, status: int,
                                                 says: str) -> None:
    response = client.get(url)
    assert response.status_code == status
    soup = BeautifulSoup(response.get_data(as_text=True), "lxml")
    assert soup.select_one("section.error .message").get_text() == says
    assert_inert(soup)


@pytest.mark.parametrize("query", ["(((", "date:[2010 to", 'subject:"unclosed', "date:2010-13"])
def test_malformed_queries_are_400_with_the_reason(client: FlaskClient, query: str) -> None:
    response = client.get("/search", query_string={"q": query})
    assert response.status_code == 400, response.status_code
    message = BeautifulSoup(response.get_data(as_text=True), "lxml").select_one(
        "section.error .message").get_text()
    assert message.startswith("bad query: ") and len(message) > len("bad query: ")


@pytest.mark.parametrize("query", ["a* OR b* OR c*", " OR ".join(f"w{i}" for i in range(40))])
def test_too_many_terms_is_a_400(web_index: Path, query: str) -> None:
    from web import create_app

    client = create_app(Settings(index_dir=web_index, max_query_terms=5)).test_client()
    for url in ("/api/search", "/search"):
        response = client.get(url, query_string={"q": query})
        assert response.status_code == 400
    assert response.get_data(as_text=True).count("bad query: ") == 1


@pytest.mark.parametrize(
    "url",
    [
        "/static/../wsgi.py", "/static/%2e%2e/wsgi.py", "/static/..%2fwsgi.py",
        "/static/%2e%2e/%2e%2e/etc/passwd", "/message/../../etc/passwd",
        "/message/..%2F..%2Fetc%2Fpasswd", "/thread/..%2f..%2fetc%2fpasswd",
        "/message/%2Fetc%2Fpasswd/raw", "/static//etc/passwd", "/author/..%2f..%2fwsgi.py",
    ],
)
def test_no_path_reaches_outside(client: FlaskClient, url: str) -> None:
    with client.get(url) as response:
        status, body = response.status_code, response.get_data(as_text=True)
    assert status in (400, 404), (url, status)
    assert "root:" not in body and "create_app()" not in body
    assert (REPO / "wsgi.py").read_text(encoding="utf-8") not in body


def test_a_bug_is_a_500_page_without_internals(settings: Settings) -> None:
    from web import create_app

    app: Flask = create_app(settings)

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("secret internal detail")

    app.extensions["govmail"].search = broken  # type: ignore[method-assign]
    for url, kind in (("/search?q=x", "text/html"), ("/api/search?q=x", "application/json")):
        response = app.test_client().get(url)
        assert (response.status_code, response.mimetype) == (500, kind)
        body = response.get_data(as_text=True)
        assert "secret internal detail" not in body and "Traceback" not in body
        assert "the server failed on this request" in body
        assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_the_address_finder_finds_what_finditer_finds() -> None:
    """web.privacy._finditer starts from each "@" (or "%40") instead of every offset:
    the same matches, over text dense in the characters that make the regex backtrack."""
    import random

    from web import privacy

    rng = random.Random(19)
    pieces = ["a", "Zq", "9", ".", "-", "_", "+", "@", "%40", "%", "4", " ", "<", "/", "x.y",
              "example.org", "..", "@@", "é"]
    texts = ["".join(rng.choice(pieces) for _ in range(rng.randrange(1, 60)))
             for _ in range(5000)]
    texts += ["a@b.c@d.e", "x%40y.z%40w.v", "a" * 300 + "@", "@b.c", "m@x-.y-", "a@b"]
    for text in texts:
        for pattern, at in ((privacy.ADDRESS, "@"), (privacy.ENCODED, "%40")):
            assert [m.span() for m in privacy._finditer(pattern, at, text)] == [
                m.span() for m in pattern.finditer(text)], text
