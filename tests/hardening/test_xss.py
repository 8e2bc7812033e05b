"""XSS payloads in every mail field and in query strings come back as inert text.

A real mbox (made here) puts each payload into the subject, the author's name, the
address, the body, an attribution line (the quoted author), the List-Id, an
attachment's file name, the signature and the Message-ID, and goes through the real
pipeline and indexer. Every page that shows the message is then parsed with bs4:
only the site's own script, no ``on*`` attribute, no ``javascript:``/``data:`` URL and
no element mail could have smuggled in. The Atom feed must be well-formed XML with
text-only content, and the JSON API must give the payloads back as the strings they
were. Every response carries the security headers, and no route reads a file outside
the index, whatever path or Message-ID asks it to.
"""

from __future__ import annotations

import base64
import json
import xml.etree.ElementTree as ET
from email.header import Header
from urllib.parse import quote

import pytest
from bs4 import BeautifulSoup
from flask import Flask
from flask.testing import FlaskClient

from core.config import Settings
from index.indexer import index_paths
from tests.conftest import REPO
from tests.hardening import hostile

PAYLOADS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(2)>",
    "<svg onload=alert(3)>",
    "\"><script>alert(4)</script>",
    "'><img src=x onerror=alert(5)>",
    "<a href=\"javascript:alert(6)\">x</a>",
    "javascript:alert(7)",
    "<iframe src=\"javascript:alert(8)\"></iframe>",
    "<body onload=alert(9)>",
    "<div style=\"width:expression(alert(10))\">",
    "<object data=\"data:text/html;base64,PHNjcmlwdD5hbGVydCgxMSk8L3NjcmlwdD4=\">",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(12)>",
    "<details open ontoggle=alert(13)>",
    "<a href=\"&#106;avascript:alert(14)\">y</a>",
    "]]><script>alert(15)</script><![CDATA[",
    "</title><script>alert(16)</script>",
    "</textarea><script>alert(17)</script>",
    "{{7*7}} {% raw %}${alert(18)}",
    "<base href=\"//evil.example/\">",
    "<meta http-equiv=\"refresh\" content=\"0;url=javascript:alert(19)\">",
    "<form action=\"javascript:alert(20)\"><button>go</button></form>",
    "<input autofocus onfocus=alert(21)>",
    "<link rel=stylesheet href=\"//evil.example/x.css\">",
    "&lt;script&gt;alert(22)&lt;/script&gt;",
    "<scr<script>ipt>alert(23)</scr</script>ipt>",
    "\u202e<script>alert(24)</script>",
    "<video><source onerror=\"alert(25)\"></video>",
    "<marquee onstart=alert(26)>",
    "data:text/html,<script>alert(27)</script>",
    "<a href=\"vbscript:msgbox(28)\">z</a>",
]
# Markup the site itself never renders; found in a page, it came from mail.
# (The site's own forms, buttons, <details> and timeline <svg> are checked by attributes.)
FOREIGN = ["iframe", "object", "embed", "img", "math", "video", "audio", "source", "base",
           "meta", "link", "textarea", "marquee", "style", "frame", "frameset", "applet",
           "mglyph"]
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
BAD_SCHEMES = ("javascript:", "data:", "vbscript:")


def encoded(text: str) -> str:
    return Header(text, "utf-8").encode(maxlinelen=10_000)


def message_bytes(i: int, payload: str) -> bytes:
    """One message carrying ``payload`` in every field mail has."""
    name = encoded(payload)
    filename = quote(payload, safe="")
    attachment = base64.b64encode(payload.encode()).decode()
    body = (
        f"xsscanary{i} governance {payload}\n\n"
        f"On Mon, 3 Jan 2011, {payload} wrote:\n> {payload}\n> quoted xsscanary{i}\n\n"
        f"-- \n{payload}\n"
    )
    html = (
        f"<html><body><p>xsscanary{i} html part {payload}</p>"
        f"<blockquote type=\"cite\" cite=\"mid:{quote(payload)}\">{payload}</blockquote>"
        f"</body></html>"
    )
    return (
        f"From: {name} <xss{i}@evil.example>\n"
        f"To: list@example.org\n"
        f"Subject: {encoded(payload)}\n"
        f"Date: Mon, 3 Jan 2011 10:{i % 60:02d}:00 +0000\n"
        f"Message-ID: <xss{i}@evil.example>\n"
        f"List-Id: {encoded(payload)} <xss{i}.lists.evil.example>\n"
        f"MIME-Version: 1.0\n"
        f"Content-Type: multipart/mixed; boundary=\"xssb\"\n\n"
        f"--xssb\nContent-Type: multipart/alternative; boundary=\"alt\"\n\n"
        f"--alt\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n\n"
        f"{base64.b64encode(body.encode()).decode()}\n"
        f"--alt\nContent-Type: text/html; charset=utf-8\nContent-Transfer-Encoding: base64\n\n"
        f"{base64.b64encode(html.encode()).decode()}\n--alt--\n"
        f"--xssb\nContent-Type: application/octet-stream\n"
        f"Content-Disposition: attachment; filename*=utf-8''{filename}\n"
        f"Content-Transfer-Encoding: base64\n\n{attachment}\n--xssb--\n"
    ).encode()


# Message-IDs that look like URLs or paths: a link built from them must stay a link to us.
HOSTILE_IDS = [
    "javascript:alert(30)",
    "../../../../etc/passwd",
    "..%2F..%2Fwsgi.py",
    "//evil.example/x",
    "\"onmouseover=alert(31)",
]


def id_message(i: int, message_id: str) -> bytes:
    return (
        f"From: Raw <raw{i}@evil.example>\nSubject: hostile id xssid{i}\n"
        f"Date: Tue, 4 Jan 2011 10:00:00 +0000\nMessage-ID: <{message_id}>\n"
        f"In-Reply-To: <{message_id}>\nReferences: <{HOSTILE_IDS[0]}>\n\n"
        f"xssid{i} body\n"
    ).encode()


UNENCODED = (
    b"From: \"><script>alert(40)</script> <raw@evil.example>\n"
    b"Subject: <script>alert(41)</script> xssraw\n"
    b"Date: Wed, 5 Jan 2011 10:00:00 +0000\nMessage-ID: <xssraw@evil.example>\n"
    b"Content-Type: text/html\n\n"
    b"<p>xssraw <script>alert(42)</script><img src=x onerror=alert(43)></p>\n"
)


# C0 controls are not allowed in XML 1.0, nor NUL anywhere in HTML; mail carries them.
CONTROL_SUBJECT = "ctrl\x00nul \x01\x0b\x1b\x7f xssctrl"
CONTROLS = (
    f"From: Ctrl <ctrl@evil.example>\nSubject: {encoded(CONTROL_SUBJECT)}\n"
    f"Date: Thu, 6 Jan 2011 10:00:00 +0000\nMessage-ID: <xssctrl@evil.example>\n\n"
    f"xssctrl body \x01\x0b\x1b\x7f with controls\n"
).encode()


@pytest.fixture(scope="module")
def xss_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    folder = tmp_path_factory.mktemp("xss")
    mbox = folder / "xss.mbox"
    mails = [message_bytes(i, p) for i, p in enumerate(PAYLOADS)]
    mails += [id_message(i, m) for i, m in enumerate(HOSTILE_IDS)]
    mails += [UNENCODED, CONTROLS]
    written = hostile.write_mbox(mbox, mails)
    settings = Settings(index_dir=folder / "index", jobs=1)
    report = index_paths([mbox], settings, list_name="xss", progress=False)
    assert (report.read, report.indexed, report.reported) == (written, written, 0), report
    return settings


@pytest.fixture(scope="module")
def xss_app(xss_settings: Settings) -> Flask:
    from web import create_app

    return create_app(xss_settings)


@pytest.fixture
def client(xss_app: Flask) -> FlaskClient:
    return xss_app.test_client()


def assert_site_head(soup: BeautifulSoup, where: str) -> None:
    """The <head> holds only the site's own kinds of element, all pointing at this site."""
    if soup.head is None:
        return
    for tag in soup.head.find_all(True):
        assert tag.name in ("title", "meta", "link", "script"), (where, str(tag)[:200])
        if tag.name == "meta":
            assert set(tag.attrs) <= {"charset", "name", "content"}, (where, str(tag)[:200])
        if tag.name == "link":
            href = tag.get("href", "")
            assert set(tag.get("rel", [])) <= {"stylesheet", "icon", "alternate", "search"}
            assert href == "data:," or (href.startswith("/") and not href.startswith("//")), href


def assert_inert_html(html: str, where: str) -> BeautifulSoup:
    soup = BeautifulSoup(html, "lxml")
    scripts = [(s.get("src"), s.get_text()) for s in soup.find_all("script")]
    assert scripts in ([], [("/static/app.js", "")]), (where, scripts)
    assert_site_head(soup, where)
    body = soup.body or soup
    for tag in body.find_all(True):
        handlers = [a for a in tag.attrs if a.lower().startswith("on")]
        assert handlers == [], (where, str(tag)[:200])
        assert "style" not in tag.attrs, (where, str(tag)[:200])
        for attr in ("href", "src", "action", "formaction", "data", "xlink:href", "cite"):
            value = str(tag.get(attr, "")).strip().lower()
            assert not value.startswith(BAD_SCHEMES), (where, str(tag)[:200])
    foreign = [str(t)[:120] for t in body.find_all(FOREIGN)]
    assert foreign == [], where
    for form in body.find_all("form"):
        assert form.get("action", "").startswith("/") and not form["action"].startswith("//")
    return soup


def assert_headers(response: object, where: str) -> None:
    headers = {k: response.headers.get(k) for k in SECURITY_HEADERS}  # type: ignore[attr-defined]
    assert headers == SECURITY_HEADERS, where


def pages_of(i: int) -> list[str]:
    mid = quote(f"xss{i}@evil.example")
    return [
        f"/search?q=xsscanary{i}",
        f"/search?q=xsscanary{i}&quoted=1",
        f"/search?q=all:xsscanary{i}",
        f"/message/{mid}",
        f"/thread/{mid}",
    ]


@pytest.mark.parametrize("i", range(len(PAYLOADS)), ids=[f"p{i}" for i in range(len(PAYLOADS))])
def test_payload_in_every_field_is_inert_html(client: FlaskClient, i: int) -> None:
    for url in pages_of(i):
        response = client.get(url)
        assert response.status_code == 200, url
        assert_headers(response, url)
        assert_inert_html(response.get_data(as_text=True), url)
    # The author page, reached by the payload as the author's name.
    response = client.get("/author/" + quote(PAYLOADS[i], safe=""))
    assert response.status_code in (200, 404), response.status_code
    assert_inert_html(response.get_data(as_text=True), "author")


@pytest.mark.parametrize("i", range(len(PAYLOADS)), ids=[f"p{i}" for i in range(len(PAYLOADS))])
def test_payload_comes_back_as_text(client: FlaskClient, i: int) -> None:
    payload = PAYLOADS[i]
    view = client.get(f"/api/message/{quote(f'xss{i}@evil.example')}").get_json()
    assert view["subject"] == payload
    assert payload in view["original"]
    soup = assert_inert_html(client.get(f"/message/xss{i}@evil.example").get_data(as_text=True),
                             "message")
    assert payload in soup.get_text()


@pytest.mark.parametrize("name", ["Doe <Jane>", "\"Quoted\" Name", "<script>alert(1)</script>"])
def test_encoded_display_name_keeps_name_and_address(name: str) -> None:
    from core.records import RawMessage, SourceRef
    from index.pipeline import parse_safely

    data = (f"From: {encoded(name)} <hm@example.org>\nSubject: s\nMessage-ID: <n@x>\n\nbody\n")
    message = parse_safely(RawMessage(SourceRef("x"), data.encode(), "eml"), Settings())
    assert (message.author.name, message.author.email) == (name, "hm@example.org")


def test_a_wholly_encoded_from_still_gives_its_address() -> None:
    # No address outside the encoded words: the decoded text is all there is to parse.
    from core.records import RawMessage, SourceRef
    from index.pipeline import parse_safely

    data = f"From: {encoded('Jane Doe <jane@example.org>')}\nMessage-ID: <w@x>\n\nbody\n"
    message = parse_safely(RawMessage(SourceRef("x"), data.encode(), "eml"), Settings())
    assert (message.author.name, message.author.email) == ("Jane Doe", "jane@example.org")


def test_header_decoding_drops_controls_but_keeps_the_text() -> None:
    from index.mime import decode_header_value

    assert decode_header_value(b"=?utf-8?q?a=00b=1Bc=7F?= d\x01e\tf") == "abc de f"


@pytest.mark.parametrize("i", range(len(PAYLOADS)), ids=[f"p{i}" for i in range(len(PAYLOADS))])
def test_payload_in_the_query_string_is_inert(client: FlaskClient, i: int) -> None:
    payload = PAYLOADS[i]
    for args in ({"q": payload}, {"q": "governance", "author": payload},
                 {"q": "governance", "list": payload}, {"q": "governance", "sort": payload},
                 {"q": "x", "page": payload}, {"q": "governance", "quoted_author": payload}):
        response = client.get("/search", query_string=args)
        assert response.status_code in (200, 400, 404), (args, response.status_code)
        assert_headers(response, str(args))
        assert_inert_html(response.get_data(as_text=True), str(args))
        api = client.get("/api/search", query_string=args)
        assert api.status_code in (200, 400, 404) and api.mimetype == "application/json"
        if api.status_code == 200:
            assert api.get_json()["query"] == args["q"]
        feed = client.get("/feed.atom", query_string=args)
        assert feed.status_code in (200, 400, 404)
        if feed.status_code == 200:
            assert_atom(feed.get_data(as_text=True))


ATOM = "{http://www.w3.org/2005/Atom}"


def assert_atom(text: str) -> list[ET.Element]:
    root = ET.fromstring(text)  # well-formed, or this raises
    for element in root.iter():
        kind = element.get("type")
        if element.tag in (f"{ATOM}title", f"{ATOM}summary", f"{ATOM}content"):
            # type="html" would make a feed reader render the text as markup.
            assert kind in (None, "text"), (element.tag, kind)
        for attr in ("href", "src", "term"):
            assert not (element.get(attr) or "").lower().startswith(BAD_SCHEMES), element.attrib
    return root.findall(f"{ATOM}entry")


def test_atom_carries_payloads_as_text(client: FlaskClient) -> None:
    response = client.get("/feed.atom", query_string={"q": "governance", "size": "50"})
    assert response.status_code == 200
    assert_headers(response, "feed")
    entries = assert_atom(response.get_data(as_text=True))
    titles = {e.findtext(f"{ATOM}title") for e in entries}
    assert set(PAYLOADS) <= titles


def test_json_api_gives_payloads_back_verbatim(client: FlaskClient) -> None:
    response = client.get("/api/search", query_string={"q": "governance", "size": "100"})
    assert (response.status_code, response.mimetype) == (200, "application/json")
    assert_headers(response, "api")
    hits = response.get_json()["hits"]
    assert {h["subject"] for h in hits} >= set(PAYLOADS)
    for hit in hits:
        # The snippet is HTML meant for innerHTML: our <mark> only, the rest escaped.
        snippet = BeautifulSoup(hit["snippet"], "lxml")
        assert {t.name for t in snippet.find_all(True)} <= {"html", "body", "p", "mark"}
    facets = json.dumps(response.get_json()["facets"])
    assert "xss" in facets  # the list facet holds the payload lists, as JSON strings


def test_unencoded_header_payloads(client: FlaskClient) -> None:
    for url in ("/message/xssraw@evil.example", "/search?q=xssraw",
                "/message/xssraw@evil.example/raw"):
        response = client.get(url)
        assert response.status_code == 200, url
        if response.mimetype == "text/html":
            assert_inert_html(response.get_data(as_text=True), url)
        else:
            assert response.mimetype == "text/plain"
    view = client.get("/api/message/xssraw@evil.example").get_json()
    assert view["subject"] == "<script>alert(41)</script> xssraw"
    assert "alert(42)" not in view["original"] and "xssraw" in view["original"]


def test_control_characters_keep_the_feed_well_formed(client: FlaskClient) -> None:
    response = client.get("/feed.atom", query_string={"q": "xssctrl"})
    assert response.status_code == 200
    entries = assert_atom(response.get_data(as_text=True))
    assert len(entries) == 1


def test_control_characters_of_the_query_keep_the_feed_well_formed(client: FlaskClient) -> None:
    # The query is echoed in the feed's title: web/feeds drops what XML 1.0 forbids.
    response = client.get("/feed.atom", query_string={"q": "xssctrl\x01\x1b\ufffe"})
    assert response.status_code == 200
    root = ET.fromstring(response.get_data(as_text=True))
    assert root.findtext(f"{ATOM}title") == "govmail: xssctrl"
    assert len(root.findall(f"{ATOM}entry")) == 1


def test_control_characters_are_stripped_at_ingestion(client: FlaskClient) -> None:
    view = client.get("/api/message/xssctrl@evil.example").get_json()
    assert view["subject"] == "ctrlnul   xssctrl"  # \x0b became a space
    assert "xssctrl body \x0b with controls" in view["original"]


def test_control_characters_reach_pages_and_api(client: FlaskClient) -> None:
    api = client.get("/api/search", query_string={"q": "xssctrl"}).get_json()
    assert [h["message_id"] for h in api["hits"]] == ["xssctrl@evil.example"]
    page = client.get("/message/xssctrl@evil.example")
    assert page.status_code == 200
    assert_inert_html(page.get_data(as_text=True), "controls")


@pytest.mark.parametrize("message_id", HOSTILE_IDS)
def test_hostile_message_ids_stay_inside_the_index(client: FlaskClient, message_id: str) -> None:
    i = HOSTILE_IDS.index(message_id)
    hits = client.get("/api/search", query_string={"q": f"xssid{i}"}).get_json()["hits"]
    assert [h["message_id"] for h in hits] == [message_id]
    search = client.get("/search", query_string={"q": f"xssid{i}"}).get_data(as_text=True)
    links = [a["href"] for a in assert_inert_html(search, "search").select(
        "a[href^='/message/'], a[href^='/thread/']")]
    assert links, search
    urls = [*links, f"/api/message/{quote(message_id, safe='')}",
            f"/thread/{quote(hits[0]['thread_id'], safe='')}"]
    for url in urls:
        response = client.get(url)
        body = response.get_data(as_text=True)
        assert response.status_code == 200, (url, response.status_code)
        assert "root:x:0:0" not in body and "create_app" not in body
        if response.mimetype == "text/html":
            soup = assert_inert_html(body, url)
            for a in soup.find_all("a", href=True):
                href = a["href"]
                if href.startswith("mailto:"):
                    # The reply link: mail's own values travel percent-encoded, so no
                    # second scheme, header or markup can hide in it.
                    assert not set(href[len("mailto:"):]) & set(":<>\"' "), a
                    continue
                # Every other link is to this site: no scheme, no protocol-relative host.
                assert href.startswith(("/", "?", "#")) and not href.startswith("//"), a


TRAVERSALS = [
    "../../../../etc/passwd", "..%2f..%2f..%2fetc%2fpasswd", "%2e%2e/%2e%2e/etc/passwd",
    "....//....//etc/passwd", "..\\..\\wsgi.py", "%2e%2e%5c%2e%2e%5cwsgi.py", "/etc/passwd",
    "%2Fetc%2Fpasswd", "..%252f..%252fetc%252fpasswd", "..%c0%af..%c0%afetc%c0%afpasswd",
    "%00../../etc/passwd", "static/../../wsgi.py", "file:///etc/passwd",
]
ROUTES = ["/message/{}", "/message/{}/raw", "/thread/{}", "/author/{}", "/api/message/{}",
          "/api/thread/{}", "/api/author/{}", "/static/{}", "/search?q={}", "/feed.atom?q={}",
          "/api/search?q={}", "/{}"]


@pytest.mark.parametrize("route", ROUTES)
def test_no_path_reaches_outside_the_index(client: FlaskClient, route: str) -> None:
    wsgi = (REPO / "wsgi.py").read_text(encoding="utf-8")
    for attempt in TRAVERSALS:
        url = route.format(attempt)
        response = client.get(url)
        body = response.get_data(as_text=True)
        assert response.status_code in (200, 400, 404), (url, response.status_code)
        assert_headers(response, url)
        assert "root:x:0:0" not in body and wsgi not in body, url
