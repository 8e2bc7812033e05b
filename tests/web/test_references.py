"""Issue 20's reader side: references marked on the message page, a page per cited document,
the author's most-cited, and references in exports and the API.

The archive (tests/data/web/references.mbox, groups from references-aliases.csv; the
``refs_index`` fixture) is indexed by the real indexer, so every mark and count comes from the extractor's own output; the
expected numbers are recounted here by brute force over the parsed records.
"""

from __future__ import annotations

import csv
import html
import io
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient

from core.config import Settings
from core.records import Message
from govmail.cli import cli
from index import references as R
from index.pipeline import parse_one
from index.sources import iter_raw
from tests.web.conftest import REFERENCES_ALIASES as ALIASES
from tests.web.conftest import REFERENCES_MBOX as MBOX

DOCUMENT = "tunis-agenda"


@pytest.fixture(scope="module")
def records() -> list[Message]:
    return [parse_one(raw, Settings(), "governance") for raw in iter_raw(MBOX)]


@pytest.fixture(scope="module")
def groups() -> dict[str, str]:
    with ALIASES.open(encoding="utf-8") as handle:
        return {row["name"]: row["group"] for row in csv.DictReader(handle)}


def page(client: FlaskClient, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    assert "Content-Security-Policy" in response.headers
    return response.get_data(as_text=True)


MARK = re.compile(r'<a class="ref" href="(?P<href>[^"]+)" title="[^"]*">(?P<text>[^<]*)</a>')


def marks(text: str) -> list[tuple[str, str]]:
    """(shown text, search query) of every reference mark."""
    out = []
    for match in MARK.finditer(text):
        href = html.unescape(match["href"])
        assert href.startswith("/search?q=")
        from urllib.parse import parse_qs, urlsplit

        out.append((html.unescape(match["text"]), parse_qs(urlsplit(href).query)["q"][0]))
    return out


# ---- the message page ----------------------------------------------------------------


def test_the_message_page_marks_each_reference_with_its_search(refs: FlaskClient) -> None:
    text = page(refs, "/message/refs-2@mofa.example")
    body = text[text.index('<section class="body"'):text.index("</section>")]
    # The quote (in place, before the reply) first, then the own words, in reading order.
    assert marks(body) == [
        ("Paragraph 69", "quoted_cites:tunis-agenda/69"),
        ("Tunis Agenda", "quoted_cites:tunis-agenda"), ("para 72", "cites:tunis-agenda/72"), ("Tunis Agenda", "cites:tunis-agenda"),
        ("IGF", "mentions:igf"), ("ECOSOC", "mentions:ecosoc"),
    ]
    assert body.index('class="quote-block') < body.index("Read it with")
    # An address before a reference shifts nothing: it is hidden, the mark still fits.
    assert "ndesai at mofa.example" in body and "ndesai@mofa.example" not in text
    # The list under the text, each linked to its search and its document's page.
    assert 'href="/search?q=quoted_cites%3Atunis-agenda%2F69"' in text
    assert 'href="/references/tunis-agenda"' in text


def test_own_words_view_and_thread_page_mark_too(refs: FlaskClient) -> None:
    own = page(refs, "/message/refs-2@mofa.example?view=own")
    assert ("para 72", "cites:tunis-agenda/72") in marks(own)
    assert [m for m in marks(own) if m[0] == "Paragraph 69"] == []
    thread = page(refs, "/thread/refs-1@apc.example")
    assert ("Para 71", "cites:tunis-agenda/71") in marks(thread)


def test_marks_link_to_searches_that_find_the_message(refs: FlaskClient) -> None:
    for shown, query in marks(page(refs, "/message/refs-4@mcade.example")):
        found = refs.get("/api/search", query_string={"q": query}).get_json()
        assert "refs-4@mcade.example" in {h["message_id"] for h in found["hits"]}, shown


def test_mail_stays_escaped_around_marks(refs: FlaskClient) -> None:
    text = page(refs, "/message/refs-5@apc.example")
    assert "<script>alert" not in text and "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert ("ITU", "mentions:itu") in marks(text)
    assert ("paragraphe 72", "cites:tunis-agenda/72") in marks(text)


def test_a_reference_inside_a_url_stays_the_urls_link(refs: FlaskClient) -> None:
    text = page(refs, "/message/refs-3@isoc.example")
    assert '<a href="https://www.rfc-editor.org/rfc/rfc7258" rel="nofollow' in text
    assert [m for m in marks(text) if "rfc7258" in m[0]] == []
    assert ("RFC 2026", "cites:rfc-2026") in marks(text)


# ---- the references pages ----------------------------------------------------------


def brute_force(records: list[Message], groups: dict[str, str], document: str) -> dict[str, Any]:
    """The references page's numbers, counted over the parsed records one by one."""
    counts: dict[str, Counter[str]] = {k: Counter() for k in (
        "own", "quoted", "own_parts", "quoted_parts", "own_years", "quoted_years",
        "own_groups", "quoted_groups")}
    for record in records:
        for side, where in (("own", "original"), ("quoted", "quoted")):
            cited = [c for c in record.cites if c.document == document and c.where == where]
            if not cited:
                continue
            counts[side][document] += 1
            for part in {c.part for c in cited if c.part}:
                counts[f"{side}_parts"][part] += 1
            counts[f"{side}_years"][f"{record.date.year}"] += 1
            counts[f"{side}_groups"][groups.get(record.author.name or "", "(none)")] += 1
    return counts


def rows(table: dict[str, Counter[str]], side: str) -> dict[str, list[int]]:
    own, quoted = table[f"own_{side}"], table[f"quoted_{side}"]
    return {k: [own[k], quoted[k]] for k in own.keys() | quoted.keys()}


def html_rows(text: str, css: str) -> dict[str, list[int]]:
    table = text[text.index(f'<table class="counts {css}">'):]
    table = table[:table.index("</table>")]
    found = {}
    for row in re.findall(r"<tr><th scope=\"row\">(.*?)</th>(.*?)</tr>", table, re.S):
        key, cells = row
        found[html.unescape(key)] = [int(n) for n in re.findall(r">(\d+)<", cells)]
    return found


def test_document_page_counts_equal_a_brute_force_count(
        refs: FlaskClient, records: list[Message], groups: dict[str, str]) -> None:
    expected = brute_force(records, groups, DOCUMENT)
    data = refs.get(f"/api/references/{DOCUMENT}").get_json()
    assert (data["own"], data["quoted"]) == (expected["own"][DOCUMENT], expected["quoted"][DOCUMENT])
    for side in ("parts", "years", "groups"):
        assert {r["key"]: [r["own"], r["quoted"]] for r in data[side]} == rows(expected, side), side
    # Most cited first: paragraph 72, in five messages' own words.
    assert data["parts"][0] == {"key": "72", "own": 5, "quoted": 2}
    text = page(refs, f"/references/{DOCUMENT}")
    assert "<h1>How tunis-agenda is cited</h1>" in text
    for side in ("parts", "years", "groups"):
        assert html_rows(text, side) == rows(expected, side), side
    # One bar a year and side that has messages, each linked to its search.
    bars = re.findall(r'<a href="([^"]+)" aria-label="(\d{4}): (\d+) (in own words|quoted)">',
                      text)
    assert {(y, int(n), w) for _, y, n, w in bars} == {
        (y, n, "in own words") for y, n in expected["own_years"].items()} | {
        (y, n, "quoted") for y, n in expected["quoted_years"].items()}


def test_references_index_lists_every_cited_document(
        refs: FlaskClient, records: list[Message]) -> None:
    own: Counter[str] = Counter()
    quoted: Counter[str] = Counter()
    for record in records:
        own.update({c.document for c in record.cites if c.where == "original"})
        quoted.update({c.document for c in record.cites if c.where == "quoted"})
    text = page(refs, "/references")
    assert "<h1>Cited documents</h1>" in text
    found = {}
    for key, cells in re.findall(r'<th scope="row"><a href="/references/([^"]+)">.*?</th>(.*?)</tr>',
                                 text, re.S):
        found[key] = [int(n) for n in re.findall(r">(\d+)<", cells)][:2]
    assert found == {d: [own[d], quoted[d]] for d in own.keys() | quoted.keys()}


def test_the_cites_facet_links_to_the_document_page(refs: FlaskClient) -> None:
    text = page(refs, "/search?q=cites:tunis-agenda")
    facet = text[text.index('class="facet facet-cites"'):]
    facet = facet[:facet.index("</section>")]
    assert 'href="/references/tunis-agenda"' in facet and 'href="/references"' in facet
    assert 'href="/references/tunis-agenda/' not in facet


@pytest.mark.parametrize("url", ["/references/no-such-doc", "/references/Tunis%20Agenda",
                                 "/references/" + "a" * 300])
def test_unknown_or_malformed_documents_are_404(refs: FlaskClient, url: str) -> None:
    response = refs.get(url)
    assert response.status_code == 404
    assert "Content-Security-Policy" in response.headers


# ---- the author page ------------------------------------------------------------------


def test_author_page_lists_what_the_author_cites_most(
        refs: FlaskClient, records: list[Message]) -> None:
    mine = [r for r in records if r.author.name == "Anriette Esterhuysen"]
    documents: Counter[str] = Counter()
    organisations: Counter[str] = Counter()
    parts: Counter[str] = Counter()
    for record in mine:
        own = [c for c in record.cites if c.where == "original"]
        documents.update({c.document for c in own})
        parts.update({f"{c.document}/{c.part}" for c in own if c.part})
        organisations.update(record.mentions)
    text = page(refs, "/author/Anriette%20Esterhuysen")

    def listed(heading: str) -> list[tuple[str, int]]:
        section = text[text.index(f"<h2>{heading}</h2>"):]
        section = section[:section.index("</section>")]
        return [(v, int(n)) for v, n in re.findall(
            r'<a href="/search\?q=[^"]*author=[^"]*">([^<]+)</a> <span class="count">(\d+)', section)]

    def most(counter: Counter[str]) -> list[tuple[str, int]]:
        return sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))

    assert listed("Documents cited most") == most(documents)
    assert listed("Paragraphs and sections cited most") == most(parts)
    assert listed("Organisations named most") == most(organisations)
    assert listed("Paragraphs and sections cited most")[0] == ("tunis-agenda/69", 2)


# ---- exports and the API ---------------------------------------------------------------


def inspected() -> dict[str, dict[str, list[str]]]:
    """What `govmail inspect` says each message cites, as index values."""
    result = CliRunner().invoke(cli, ["inspect", "--format", "json", str(MBOX)])
    assert result.exit_code == 0, result.stderr
    out = {}
    for record in json.loads(result.stdout):
        from core.records import Cite

        cites = tuple(Cite(**c) for c in record["cites"])
        out[record["message_id"]] = {"cites": R.values(cites, "original"),
                                     "quoted_cites": R.values(cites, "quoted"),
                                     "mentions": record["mentions"]}
    return out


def export(index: Path, fmt: str) -> str:
    result = CliRunner().invoke(cli, ["export", "--index", str(index), "--format", fmt])
    assert result.exit_code == 0, result.stderr
    return result.stdout


def test_export_carries_the_references_inspect_finds(refs_index: Path) -> None:
    expected = inspected()
    assert expected["refs-4@mcade.example"]["quoted_cites"] == [
        "rfc-2026", "tunis-agenda", "tunis-agenda/72"]
    lines = [json.loads(line) for line in export(refs_index, "jsonl").splitlines()]
    assert {r["message_id"]: {k: r[k] for k in ("cites", "quoted_cites", "mentions")}
            for r in lines} == expected
    table = list(csv.DictReader(io.StringIO(export(refs_index, "csv"))))
    assert {r["message_id"]: {k: [v for v in r[k].split(";") if v]
                              for k in ("cites", "quoted_cites", "mentions")}
            for r in table} == expected


def test_api_message_carries_the_references_as_lists(refs: FlaskClient) -> None:
    expected = inspected()["refs-2@mofa.example"]
    data = refs.get("/api/message/refs-2@mofa.example").get_json()
    assert {k: data[k] for k in expected} == expected
    assert "reference_spans" not in data
