"""Reading the argument: quotes in place, whole threads, exports, reply links, browsing,
over a real mbox of point-by-point replies (tests/web/archive.py)."""

from __future__ import annotations

import gzip
import mailbox
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from bs4 import BeautifulSoup
from flask.testing import FlaskClient

from tests.web import archive

ROOT = "ec-root@itforchange.example"
REPLY = "ec-reply-1@syr.example"


def soup_of(client: FlaskClient, url: str) -> BeautifulSoup:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def reading_order(container) -> list[str]:
    """The body as the reader meets it: 'Q:' + quoted text, or own words, block by block."""
    out = []
    for child in container.find_all("div", recursive=False):
        if "quote-block" in child["class"]:
            out.append("Q: " + child.select_one(".text").get_text(" ", strip=True)[:30])
        elif "original" in child["class"]:
            out.append(child.get_text(" ", strip=True)[:30])
    return out


def test_each_answer_follows_the_passage_it_answers(archive_client: FlaskClient) -> None:
    soup = soup_of(archive_client, f"/message/{REPLY}")
    assert reading_order(soup.select_one("section.body")) == [
        "Q: First, the IGF cannot be the v",
        "Agreed, but a venue that takes",
        "Q: Second, multistakeholder does ",
        "No. It means that no stakehold",
        "Q: Third, the 2010 review is the ",
        "A working group of whom? Say w",
    ]
    block = soup.select_one(".quote-block")
    first = block.details
    assert not first.has_attr("open")
    summary = first.select_one("summary")
    assert summary.select_one(".quoted-author").get_text() == "Parminder Jeet Singh"
    link = block.find("a", class_="quoted-message", recursive=False)
    assert unquote(link["href"]) == f"/message/{ROOT}"
    assert link.get_text() == "Parminder Jeet Singh’s message"
    assert summary.select_one(".first-words").get_text().startswith("First, the IGF cannot")
    # Hard-wrapped prose is one paragraph again.
    assert soup.select_one(".original p").get_text() == (
        "Agreed, but a venue that takes no decisions can still shape the ones taken "
        "elsewhere, and that is what the IGF has done since Athens.")


def test_nested_quote_sits_inside_its_parent_and_own_words_toggle(
        archive_client: FlaskClient) -> None:
    soup = soup_of(archive_client, "/message/ec-reply-2@itforchange.example")
    outer = soup.select_one("section.body > .quote-block > details.quote")
    inner = outer.select_one(".quote-block")
    assert inner is not None and "depth-2" in inner.details["class"]
    assert unquote(inner.select_one("a.quoted-message")["href"]) == f"/message/{ROOT}"
    own = soup_of(archive_client, soup.select_one(".view-switch a")["href"])
    assert own.select("details.quote") == []
    assert "The Tunis text is what governments signed" in own.select_one(".original").get_text()


def test_thread_page_shows_every_message_own_words(archive_client: FlaskClient) -> None:
    for url in (f"/thread/{ROOT}", f"/thread/{ROOT}?view=flat"):
        soup = soup_of(archive_client, url)
        bodies = [n.select_one(".thread-body").get_text(" ", strip=True)
                  for n in soup.select(".tree .node")]
        assert len(bodies) == 4
        for message in archive.messages():
            for paragraph in message.original_text.split("\n\n"):
                assert " ".join(paragraph.split()) in " ".join(bodies), message.message_id
        # Only the root's subject is shown; the replies repeat it.
        assert len(soup.select(".tree h2.subject")) == 1
    flat = soup_of(archive_client, f"/thread/{ROOT}?view=flat")
    dates = [t["datetime"] for t in flat.select(".tree .node header time")]
    assert dates == sorted(dates)


def read_mbox(data: bytes, folder: Path) -> dict[str, bytes]:
    """Message-ID -> bytes, as Python's mailbox reads them (from a copy: it opens rb+)."""
    path = folder / "copy.mbox"
    path.write_bytes(data)
    box = mailbox.mbox(str(path))
    try:
        return {m["Message-ID"].strip("<>"): box.get_bytes(key) for key, m in box.items()}
    finally:
        box.close()


def source_messages(folder: Path) -> dict[str, bytes]:
    (folder / "source").mkdir(exist_ok=True)
    return read_mbox(archive.MBOX.read_bytes(), folder / "source")


def test_thread_mbox_holds_every_message_byte_identical(archive_client: FlaskClient,
                                                        tmp_path: Path) -> None:
    response = archive_client.get(f"/thread/{ROOT}.mbox.gz")
    assert response.status_code == 200 and response.mimetype == "application/gzip"
    exported = read_mbox(gzip.decompress(response.get_data()), tmp_path)
    assert exported == source_messages(tmp_path)


def test_eml_is_the_original_bytes(archive_client: FlaskClient, tmp_path: Path) -> None:
    response = archive_client.get(f"/message/{REPLY}.eml")
    assert response.status_code == 200 and response.mimetype == "message/rfc822"
    assert response.get_data().rstrip(b"\n") == source_messages(tmp_path)[REPLY].rstrip(b"\n")


def test_search_mbox_is_bounded_to_the_hits(archive_client: FlaskClient, tmp_path: Path) -> None:
    link = soup_of(archive_client, "/search?q=tunis").select_one(".feeds a.mbox")
    assert link.get_text() == "Download the first 3 as mbox"
    response = archive_client.get(link["href"])
    ids = sorted(read_mbox(gzip.decompress(response.get_data()), tmp_path))
    assert ids == sorted(["ec-reply-1@syr.example", "ec-reply-2@itforchange.example",
                          ROOT])


def test_reply_link_threads_to_the_list(archive_client: FlaskClient) -> None:
    soup = soup_of(archive_client, f"/message/{REPLY}")
    href = urlsplit(soup.select_one("a.reply")["href"])
    assert (href.scheme, href.path) == ("mailto", "governance@lists.igcaucus.example")
    fields = {k: v[0] for k, v in parse_qs(href.query).items()}
    assert fields == {
        "subject": "Re: Enhanced cooperation: three questions",
        "In-Reply-To": f"<{REPLY}>",
        "References": f"<{ROOT}> <{REPLY}>",
    }


def test_urls_are_links_that_pass_nothing(archive_client: FlaskClient) -> None:
    soup = soup_of(archive_client, f"/message/{ROOT}")
    link = soup.select_one(".original a[href^='https://']")
    assert link["href"] == "https://www.itforchange.example/ec-review"
    assert link["rel"] == ["nofollow", "noopener", "noreferrer"]


def test_list_year_month_pages(archive_client: FlaskClient) -> None:
    lists = soup_of(archive_client, "/lists")
    assert [a.get_text() for a in lists.select("table.counts a")] == ["governance"]
    home = soup_of(archive_client, "/list/governance")
    assert [a.get_text() for a in home.select("table.years a")] == ["2010"]
    year = soup_of(archive_client, "/list/governance/2010")
    assert [a.get_text() for a in year.select("table.years a")] == ["February"]
    month = soup_of(archive_client, "/list/governance/2010/02")
    assert month.select_one("h1").get_text() == "governance, February 2010"
    assert [a.get_text() for a in month.select(".threads a.subject")] == [
        "Enhanced cooperation: three questions"]
    assert "Parminder Jeet Singh" in [a.get_text() for a in month.select(".browse-facts a")]
    assert archive_client.get("/list/governance/2010/13").status_code == 404


def test_api_message_hides_server_paths_and_pages_revalidate(
        archive_client: FlaskClient) -> None:
    data = archive_client.get(f"/api/message/{REPLY}").get_json()
    assert str(archive.MBOX.parent) not in str(data)
    assert data["source"] == {"file": "interleaved.mbox", "key": "932"}
    first = archive_client.get(f"/message/{REPLY}")
    assert first.headers["Cache-Control"].startswith("public")
    again = archive_client.get(f"/message/{REPLY}", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304


def test_api_thread_with_bodies(archive_client: FlaskClient) -> None:
    plain = archive_client.get(f"/api/thread/{ROOT}").get_json()
    assert "message" not in plain["messages"][0]
    full = archive_client.get(f"/api/thread/{ROOT}?bodies=1").get_json()
    assert [m["message_id"] for m in full["messages"]] == \
        [m["message_id"] for m in plain["messages"]]
    reply = next(m for m in full["messages"] if m["message_id"] == REPLY)["message"]
    assert reply["original"].startswith("Agreed, but") and len(reply["quotes"]) == 3
    assert "path" not in reply["source"]


def test_downloads_hide_addresses_when_pages_do(archive_index: Path) -> None:
    from core.config import Settings
    from index.raw import read
    from web import create_app

    client = create_app(Settings(index_dir=archive_index), read_original=read).test_client()
    eml = client.get(f"/message/{REPLY}.eml").get_data(as_text=True)
    assert "milton@syr.example" not in eml and "milton at syr.example" in eml
    # Message ids are not addresses: threading headers stay as written.
    assert f"Message-ID: <{REPLY}>" in eml and f"References: <{ROOT}>" in eml
    mbox = gzip.decompress(client.get(f"/thread/{ROOT}.mbox.gz").get_data()).decode()
    assert "@itforchange.example>\n" in mbox and "parminder@itforchange" not in mbox


def test_undated_mail_is_counted_apart_never_new(tmp_path: Path) -> None:
    import dataclasses

    from core.config import Settings
    from tests.indexing import write_messages
    from tests.web.conftest import fixture_messages, to_message
    from web import create_app

    pairs = [to_message(spec) for spec in fixture_messages()]
    message, identity = pairs[0]
    pairs.append((dataclasses.replace(message, message_id="undated@example.org", date=None,
                                      thread_id="undated@example.org",
                                      subject="Undated cooperation"), identity))
    client = create_app(Settings(index_dir=write_messages(tmp_path / "i", pairs))).test_client()
    home = soup_of(client, "/")
    assert home.select_one(".welcome p").get_text(" ", strip=True).startswith(
        "9 messages, from 2009-11-02 to 2014-03-15 (1 undated).")
    assert "Undated cooperation" not in [a.get_text() for a in home.select(".recent a")]
    feed = client.get("/feed.atom?q=cooperation").get_data(as_text=True)
    assert "undated@example.org" not in feed and feed.count("<entry>") == 5
    listing = soup_of(client, "/list/governance")
    assert "and 1 undated" in listing.select_one(".about").get_text(" ", strip=True)
    # In the hits, an undated message says so instead of showing a date.
    hits = soup_of(client, "/search?q=undated")
    assert hits.select_one("li.hit time").get_text() == "undated"
    # Newest first: dated mail first, the undated message last, the total unchanged.
    pages = [[t.get_text() for t in soup_of(client, f"/search?size=3&page={n}").select(
        "li.hit time")] for n in (1, 2, 3)]
    assert pages[0][0] == "2014-03-15" and pages[2][-1] == "undated"
    assert sum(pages, []).count("undated") == 1 and len(sum(pages, [])) == 9
    assert sum(pages, [])[:8] == sorted(sum(pages, [])[:8], reverse=True)
    one = soup_of(client, "/search?size=3&q=cooperation&sort=-date")
    assert one.select_one(".count strong").get_text() == "6"
    assert [t.get_text() for t in one.select("li.hit time")][0] != "undated"
