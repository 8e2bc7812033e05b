"""The HTML pages over the real Engine and a real index of tests/data/web/messages.json.

Pages are parsed with BeautifulSoup into plain structures and compared whole.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

import pytest
from bs4 import BeautifulSoup, Tag
from flask.testing import FlaskClient

from core.config import Settings
from tests.indexing import write_messages
from tests.web.conftest import build_index, fixture_messages, to_message

ALL_IDS = [spec["id"] for spec in fixture_messages()]


def soup_of(client: FlaskClient, url: str, status: int = 200, **kwargs: object) -> BeautifulSoup:
    response = client.get(url, **kwargs)  # type: ignore[arg-type]
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    return BeautifulSoup(response.get_data(as_text=True), "lxml")


def hit_ids(soup: BeautifulSoup) -> list[str]:
    links = soup.select("ol.hits a.subject")
    return [unquote(a["href"]).removeprefix("/message/") for a in links]


def sidebar(soup: BeautifulSoup) -> dict[str, list[tuple[str, int, bool]]]:
    """{facet: [(value, count, selected)]} as the sidebar shows it."""
    found = {}
    for section in soup.select("aside.facets section.facet"):
        name = next(c for c in section["class"] if c.startswith("facet-")).removeprefix("facet-")
        found[name] = [
            (li.select_one(".value").get_text(), int(li.select_one(".count").get_text()),
             "selected" in (li.get("class") or []))
            for li in section.select("li")
        ]
    return found


def args_of(href: str) -> list[tuple[str, str]]:
    return parse_qsl(urlsplit(href).query)


def test_home_page_counts_the_archive(client: FlaskClient) -> None:
    soup = soup_of(client, "/")
    assert soup.select_one(".welcome p").get_text(" ", strip=True).startswith(
        "8 messages, from 2009-11-02 to 2014-03-15."
    )
    # Browsing starts here: every list, and the threads most recently written to.
    assert [a.get_text() for a in soup.select(".home-lists a")] == ["governance", "icann", "ietf"]
    threads = [a.get_text() for a in soup.select(".recent a.subject")]
    assert threads[0] == "IANA transition and accountability" and "Enhanced cooperation and the IGF" in threads
    form = soup.select_one("form.searchbox")
    assert (form["action"], form.select_one("input")["name"]) == ("/search", "q")
    assert soup.select_one("a.syntax")["href"] == "/help"


def test_search_lists_hits_with_date_author_list_subject_snippet(client: FlaskClient) -> None:
    soup = soup_of(client, "/search?q=cooperation")
    assert hit_ids(soup) == [
        "xss-1@evil.example", "root-1@example.org", "a/b+c$d@example.net",
        "x?y#z%41 w@example.org", "icann-1@icann.example",
    ]
    first_root = soup.select("ol.hits li.hit")[1]
    assert {
        "date": first_root.select_one("time").get_text(),
        "author": first_root.select_one("a.author").get_text(),
        "author_href": first_root.select_one("a.author")["href"],
        "lists": [s.get_text() for s in first_root.select(".list")],
        "subject": first_root.select_one("a.subject").get_text(),
        "marks": [m.get_text().lower() for m in first_root.select(".snippet mark")],
    } == {
        "date": "2010-02-18",
        "author": "Milton Mueller",
        "author_href": "/author/Milton%20Mueller",
        "lists": ["governance"],
        "subject": "Enhanced cooperation and the IGF",
        "marks": ["cooperation"] * len(first_root.select(".snippet mark")),
    }
    assert first_root.select(".snippet mark")
    count = soup.select_one(".summary .count").get_text(" ", strip=True)
    assert count.startswith("5 messages, page 1 of 1 (") and count.endswith(" ms)")


def test_sidebar_counts_and_selection(client: FlaskClient) -> None:
    soup = soup_of(client, "/search?q=cooperation")
    assert sidebar(soup) == {
        "author": [("Milton Mueller", 2, False), ("<img src=x onerror=alert(1)>", 1, False),
                   ("Avri Doria", 1, False), ("Parminder Jeet Singh", 1, False)],
        "list": [("governance", 4, False), ("icann", 1, False)],
        "year": [("2011", 1, False), ("2010", 3, False), ("2009", 1, False)],
        "quoted_author": [("<svg onload=alert(2)>", 1, False),
                          ("Bertrand de La Chapelle", 1, False), ("Milton Mueller", 1, False),
                          ("Parminder Jeet Singh", 1, False)],
        "group": [("academia", 2, False), ("civil society", 2, False)],
        # A one-line message is too short to name a language.
        "lang": [("en", 4, False), ("und", 1, False)],
    }


def test_choosing_a_facet_adds_a_removable_chip_and_shows_months(client: FlaskClient) -> None:
    soup = soup_of(client, "/search?q=cooperation")
    year_2010 = next(a for a in soup.select("section.facet-year a") if "2010" in a.get_text())
    assert args_of(year_2010["href"]) == [("q", "cooperation"), ("year", "2010")]
    narrowed = soup_of(client, year_2010["href"])
    assert hit_ids(narrowed) == ["root-1@example.org", "a/b+c$d@example.net",
                                 "x?y#z%41 w@example.org"]
    assert sidebar(narrowed)["year"] == [("2010", 3, True)]
    assert sidebar(narrowed)["month"] == [("2010-02", 3, False)]
    chips = [(a.get_text(" ", strip=True), args_of(a["href"])) for a in narrowed.select(".chips a")]
    assert chips == [("Year: 2010 ×", [("q", "cooperation")])]
    # The query box keeps the filter, so a new query stays inside it.
    assert [(i["name"], i["value"]) for i in narrowed.select("form.searchbox input[type=hidden]")] \
        == [("year", "2010")]
    # Two values of one facet are OR-ed; two facets are AND-ed.
    both = soup_of(client, "/search?q=cooperation&list=icann&list=governance&author=Avri+Doria")
    assert hit_ids(both) == ["icann-1@icann.example"]


def test_timeline_has_a_bar_per_month_linking_to_that_month(client: FlaskClient) -> None:
    soup = soup_of(client, "/search?q=cooperation")
    svg = soup.select_one("svg.timeline")
    bars = svg.select("a")
    assert [a.select_one("title").get_text() for a in bars] == [
        "2009-11: 1 hit", "2010-02: 3 hits", "2011-06: 1 hit"]
    # 2009-11 .. 2011-06 is 20 months: the bars sit at their month, gaps left empty.
    assert [float(a.select_one("rect.bar")["x"]) for a in bars] == [0.0, 3 * 24.0, 19 * 24.0]
    heights = [float(a.select_one("rect.bar")["height"]) for a in bars]
    assert [round(h, 2) for h in heights] == [21.33, 64.0, 21.33]
    # Labels and scale are HTML beside the SVG, so they keep their size on a phone.
    assert [t.get_text() for t in soup.select(".timeline-axis span")] == ["2009-11", "2011-06"]
    assert soup.select_one(".timeline-scale").get_text() == "Hits per month, highest 3"
    assert args_of(bars[1]["href"]) == [("q", "cooperation"), ("month", "2010-02")]
    assert hit_ids(soup_of(client, bars[1]["href"])) == [
        "root-1@example.org", "a/b+c$d@example.net", "x?y#z%41 w@example.org"]


def test_a_long_timeline_counts_years(web_index: Path, tmp_path: Path) -> None:
    """Past five years of months a month bar is a hairline at 390 px: years instead."""
    from web import create_app

    specs = [{**fixture_messages()[0], "id": f"y{year}@example.org", "thread": f"y{year}",
              "date": f"{year}-06-01T00:00:00Z"} for year in range(2001, 2013)]
    client = create_app(Settings(index_dir=build_index(tmp_path / "years", specs))).test_client()
    soup = soup_of(client, "/search?q=mandate")
    bars = soup.select("svg.timeline a")
    assert len(bars) == 12 and bars[0]["aria-label"] == "2001: 1 hit"
    assert args_of(bars[0]["href"]) == [("q", "mandate"), ("year", "2001")]
    assert soup.select_one(".timeline-scale").get_text() == "Hits per year, highest 1"


def test_sort_switch(client: FlaskClient) -> None:
    soup = soup_of(client, "/search?q=cooperation")
    links = {a.get_text(): args_of(a["href"]) for a in soup.select("nav.sort a")}
    assert links == {
        "Newest": [("q", "cooperation"), ("sort", "-date")],
        "Oldest": [("q", "cooperation"), ("sort", "date")],
    }
    assert soup.select_one("nav.sort strong").get_text() == "Relevance"
    oldest = soup_of(client, "/search?q=cooperation&sort=date")
    assert hit_ids(oldest) == [
        "icann-1@icann.example", "root-1@example.org", "a/b+c$d@example.net",
        "x?y#z%41 w@example.org", "xss-1@evil.example",
    ]


def test_empty_query_lists_everything_newest_first_with_pagination(client: FlaskClient) -> None:
    first = soup_of(client, "/search?size=3")
    assert hit_ids(first) == ["ietf-2@ietf.example", "ietf-1@ietf.example", "xss-1@evil.example"]
    pages = [(a.get_text(), args_of(a["href"])) for a in first.select("nav.pagination a")]
    assert pages == [("2", [("size", "3"), ("page", "2")]), ("3", [("size", "3"), ("page", "3")]),
                     ("Next →", [("size", "3"), ("page", "2")])]
    last = soup_of(client, "/search?size=3&page=3")
    assert hit_ids(last) == ["icann-2@icann.example", "icann-1@icann.example"]
    assert last.select_one("ol.hits")["start"] == "7"
    assert [a.get_text() for a in last.select("nav.pagination a")] == ["← Previous", "1", "2"]


def test_search_quoted_text_too(client: FlaskClient) -> None:
    own = soup_of(client, "/search?q=summit")
    assert hit_ids(own) == ["root-1@example.org"]
    toggle = own.select_one("a.switch")
    assert (toggle["aria-checked"], args_of(toggle["href"])) == (
        "false", [("q", "summit"), ("quoted", "1")])
    both = soup_of(client, toggle["href"])
    assert sorted(hit_ids(both)) == ["a/b+c$d@example.net", "root-1@example.org"]
    assert both.select_one("a.switch")["aria-checked"] == "true"
    quoted_hit = next(li for li in both.select("li.hit") if "a/b+c$d" in unquote(
        li.select_one("a.subject")["href"]))
    assert "quoted" in quoted_hit.select_one(".snippet")["class"]


def message_page(soup: BeautifulSoup) -> dict[str, object]:
    article = soup.select_one("article.message")

    def text(selector: str) -> str | None:
        node = article.select_one(selector)
        return node.get_text() if isinstance(node, Tag) else None

    return {
        "subject": text("h1"),
        "author": (text("a.author"), article.select_one("a.author")["href"]),
        "email": text(".email"),
        "date": text("time"),
        "lists": [a.get_text() for a in article.select("a.list")],
        # Own words come as paragraphs, in one block or in several between quotes.
        "original": "\n\n".join(p.get_text() for p in article.select(".original p"))
        or None,
        # Each quote is a block: the <details> and, beside it, the quoted message's link.
        "quotes": [
            (b.details.select_one(".quoted-author").get_text(),
             unquote(b.find("a", class_="quoted-message", recursive=False)["href"])
             if b.find("a", class_="quoted-message", recursive=False) else None,
             "\n\n".join(p.get_text() for p in b.details.select_one(".text").select("p")),
             b.details.has_attr("open"))
            for b in article.select(".quote-block")
        ],
        "signature": "\n\n".join(p.get_text() for p in article.select(".signature p"))
        or None,
        "footer": "\n\n".join(p.get_text() for p in article.select(".footer p")) or None,
        "prev": unquote(article.select_one("a[rel=prev]")["href"]) if article.select_one(
            "a[rel=prev]") else None,
        "next": unquote(article.select_one("a[rel=next]")["href"]) if article.select_one(
            "a[rel=next]") else None,
    }


def test_message_page_original_first_quotes_collapsible_and_linked(client: FlaskClient) -> None:
    soup = soup_of(client, "/search?q=disagree")
    href = soup.select_one("a.subject")["href"]
    assert href == "/message/a/b+c$d@example.net"
    page = soup_of(client, href)
    assert message_page(page) == {
        "subject": "Re: Enhanced cooperation and the IGF",
        "author": ("Parminder Jeet Singh", "/author/Parminder%20Jeet%20Singh"),
        "email": "<parminder at itforchange.example>",
        "date": "2010-02-19 08:00 UTC",
        "lists": ["governance"],
        "original": "I disagree. Enhanced cooperation is about public policy on the Internet, "
        "and the renewal of the mandate should say so.\n\n"
        "Write to anriette at apc.example for the APC statement.",
        "quotes": [
            ("Milton Mueller", "/message/root-1@example.org",
             "Enhanced cooperation was never defined by the summit.", False),
            # Not in the index: labelled, but not linked.
            ("Bertrand de La Chapelle", None, "The summit left it open on purpose.", False),
        ],
        "signature": None,
        "footer": None,
        "prev": "/message/root-1@example.org",
        "next": "/message/x?y#z%41 w@example.org",
    }
    # Quotes with no known place ("at") keep the old layout: own words first, then the
    # quotes, the depth-2 one inside the depth-1 one it follows.
    article = page.select_one("article.message")
    order = article.select_one("section.body").find_all(["div", "details"], recursive=False)
    assert [c.get("class")[0] for c in order] == ["original", "quote-block"]
    assert order[1].details.find("div", class_="quote-block").select_one(".quoted-author").get_text() == \
        "Bertrand de La Chapelle"
    assert article.select_one(".thread-link")["href"] == \
        "/thread/root-1@example.org?m=a/b%2Bc$d@example.net#current"


def test_signature_and_footer_are_set_apart(client: FlaskClient) -> None:
    page = message_page(soup_of(client, "/message/root-1@example.org"))
    assert page["signature"] == "Milton L Mueller\nSyracuse University School of Information Studies"
    assert page["footer"] == ("____________________________________________________\n"
                              "governance mailing list\ngovernance at lists.igcaucus.example")
    assert (page["prev"], page["next"]) == (None, "/message/a/b+c$d@example.net")


@pytest.mark.parametrize("message_id", ALL_IDS)
def test_every_id_round_trips_through_its_link(client: FlaskClient, message_id: str) -> None:
    everything = soup_of(client, "/search?size=20")
    link = next(a["href"] for a in everything.select("a.subject")
                if unquote(a["href"]) == f"/message/{message_id}")
    spec = next(s for s in fixture_messages() if s["id"] == message_id)
    assert soup_of(client, link).select_one("h1").get_text() == spec["subject"]
    raw = client.get(soup_of(client, link).select_one("p.source a.raw")["href"])
    assert raw.status_code == 200 and raw.mimetype == "text/plain"
    assert f"Message-ID: <{message_id}>" in raw.get_data(as_text=True).replace(" at ", "@")


def test_raw_source_is_decoded_text_with_quotes_marked(client: FlaskClient) -> None:
    raw = client.get("/message/a/b+c$d@example.net/raw")
    assert raw.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert raw.get_data(as_text=True) == (
        "From: Parminder Jeet Singh <parminder at itforchange.example>\n"
        "Subject: Re: Enhanced cooperation and the IGF\n"
        "Message-ID: <a/b+c$d at example.net>\n"
        "Date: 2010-02-19T08:00:00Z\n"
        "\n"
        "I disagree. Enhanced cooperation is about public policy on the Internet, and the renewal "
        "of the mandate should say so.\n\nWrite to anriette at apc.example for the APC statement.\n"
        "\nMilton Mueller wrote:\n> Enhanced cooperation was never defined by the summit.\n"
        "\nBertrand de La Chapelle wrote:\n> > The summit left it open on purpose.\n"
    )


def test_thread_page_is_a_tree_with_the_current_message_marked(client: FlaskClient) -> None:
    soup = soup_of(client, "/thread/root-1@example.org?m=a/b%2Bc$d@example.net")
    rows = [(unquote(li.select_one("a.when")["href"]).removeprefix("/message/"),
             li["class"], li.get("aria-current")) for li in soup.select("ol.tree > li")]
    assert rows == [
        ("root-1@example.org", ["node", "indent-0"], None),
        ("a/b+c$d@example.net", ["node", "indent-1", "current"], "true"),
        ("x?y#z%41 w@example.org", ["node", "indent-2"], None),
    ]
    # Every message's own words are on the page; the subject shows once, where it is new.
    nodes = [(n.select_one(".author").get_text(), n.select_one("time").get_text()[:10],
              n.select_one(".original p").get_text(), bool(n.select_one("h2.subject")))
             for n in soup.select(".tree .node")]
    assert nodes == [
        ("Milton Mueller", "2010-02-18", "The mandate of the IGF ends this year.", True),
        ("Parminder Jeet Singh", "2010-02-19", "I disagree. Enhanced cooperation is about public "
         "policy on the Internet, and the renewal of the mandate should say so.", False),
        ("Milton Mueller", "2010-02-20",
         "Public policy is exactly what the governments want to own. Multistakeholder means "
         "otherwise.", False),
    ]
    assert soup.select_one("h1").get_text() == "Enhanced cooperation and the IGF"


def test_author_page(client: FlaskClient) -> None:
    soup = soup_of(client, "/author/Milton%20Mueller")
    page = soup.select_one("article.author-page")
    assert page.select_one("h1").get_text() == "Milton Mueller"
    assert page.select_one(".about").get_text(" ", strip=True) == (
        "Syracuse University · academia · 3 messages · milton at syr.example")
    years = [(tr.th.get_text(strip=True), int(tr.select_one(".num").get_text()))
             for tr in page.select("table.years tr")]
    assert years == [("2010", 2), ("2014", 1)]
    sections = {s.h2.get_text(): [(a.get_text(), int(a.find_next_sibling("span").get_text()))
                                  for a in s.select("li a")]
                for s in page.select(".author-facts section") if s.ul}
    assert sections == {
        "Lists": [("governance", 2), ("ietf", 1)],
        "Quotes most": [("Avri Doria", 1), ("Parminder Jeet Singh", 1)],
        "Quoted most by": [("Parminder Jeet Singh", 1)],
    }
    assert hit_ids(soup) == ["ietf-2@ietf.example", "x?y#z%41 w@example.org",
                             "root-1@example.org"]


def test_help_page_documents_every_prefix(client: FlaskClient) -> None:
    soup = soup_of(client, "/help")
    written = " ".join(code.get_text() for code in soup.select("table.syntax code"))
    for prefix in ("quoted:", "all:", "from:", "author:", "subject:", "list:", "thread:", "id:",
                   "quotes:", "group:", "date:"):
        assert prefix in written


def test_healthz(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert (response.status_code, response.get_json()) == (200, {"ok": True, "messages": 8})


def test_addresses_shown_when_obfuscation_is_off(web_index: Path) -> None:
    from web import create_app

    client = create_app(Settings(index_dir=web_index, obfuscate_addresses=False)).test_client()
    page = message_page(soup_of(client, "/message/a/b+c$d@example.net"))
    assert page["email"] == "<parminder@itforchange.example>"
    assert str(page["original"]).endswith("Write to anriette@apc.example for the APC statement.")
    assert client.get("/api/message/a/b+c$d@example.net").get_json()["email"] == \
        "parminder@itforchange.example"


def test_a_commit_shows_up_without_a_new_app(tmp_path: Path) -> None:
    from web import create_app

    specs = fixture_messages()
    directory = build_index(tmp_path / "index", specs[:2])
    client = create_app(Settings(index_dir=directory)).test_client()
    engine = client.application.extensions["govmail"]
    assert hit_ids(soup_of(client, "/search?q=guidebook")) == []
    added = next(s for s in specs if s["id"] == "icann-1@icann.example")
    write_messages(directory, [to_message(added)])
    assert hit_ids(soup_of(client, "/search?q=guidebook")) == ["icann-1@icann.example"]
    # Same engine object: refreshed, not rebuilt.
    assert client.application.extensions["govmail"] is engine


def test_a_thread_thousands_deep_renders(tmp_path: Path) -> None:
    """A reply chain deeper than Python's recursion limit: flat rows, indentation capped."""
    from web import create_app

    depth = 1500
    root = {"id": "deep-0@example.org", "lists": ["governance"], "subject": "Deep",
            "author": "Avri Doria", "email": "avri@acm.example", "date": "2012-01-01T00:00:00Z",
            "original": "Start."}
    specs = [root] + [
        {**root, "id": f"deep-{i}@example.org", "subject": "Re: Deep",
         "in_reply_to": f"deep-{i - 1}@example.org", "thread": "deep-0@example.org",
         "date": f"2012-01-01T{i // 3600 % 24:02d}:{i // 60 % 60:02d}:{i % 60:02d}Z",
         "original": f"Reply {i}."}
        for i in range(1, depth)
    ]
    client = create_app(Settings(index_dir=build_index(tmp_path / "deep", specs))).test_client()
    soup = soup_of(client, "/thread/deep-0@example.org")
    rows = soup.select("ol.tree > li")
    assert len(rows) == depth
    assert [r["class"][1] for r in rows[:3]] == ["indent-0", "indent-1", "indent-2"]
    assert rows[-1]["class"][1] == "indent-12" and rows[-1]["data-depth"] == str(depth - 1)


def test_related_messages_come_from_other_threads(client: FlaskClient) -> None:
    soup = soup_of(client, "/message/root-1@example.org")
    related = [unquote(a["href"]).removeprefix("/message/") for a in soup.select(".related a")]
    # Both share "cooperation" with the root; its own replies are left out.
    assert related == ["xss-1@evil.example", "icann-1@icann.example"]
    assert soup.select_one(".related a").get_text() == \
        '<script>alert("subject")</script> cooperation'
