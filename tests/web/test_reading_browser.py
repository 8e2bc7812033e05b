"""Reading the argument in a real Chromium, at 1366 px and at 390 px, over the mbox of
point-by-point replies: answers right after what they answer, a quote opening in place,
whole threads, the thread's mbox byte for byte, and axe-core on every page type.

axe-core comes from npm into a cache outside the repository (``make axe``); the test
injects that local file (the page's CSP is bypassed for the injection only) and fails
on any serious or critical violation. Screenshots go to $GOVMAIL_SCREENSHOTS.
"""

from __future__ import annotations

import gzip
import os
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from tests.web import archive
from tests.web.test_browser import browser, screenshot_dir, serving  # noqa: F401 - the fixture
from tests.web.test_reading import read_mbox, source_messages

pytestmark = pytest.mark.browser

VIEWPORTS = {"desktop": (1366, 900), "phone": (390, 844)}
ROOT = "ec-root@itforchange.example"
REPLY = "ec-reply-1@syr.example"


def axe_path() -> Path:
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return Path(os.environ.get("GOVMAIL_AXE") or
                cache / "govmail" / "npm" / "node_modules" / "axe-core" / "axe.min.js")


@pytest.fixture(scope="module")
def archive_server(archive_app: Flask) -> Iterator[str]:
    with serving(archive_app) as url:
        yield url


@pytest.fixture(params=list(VIEWPORTS))
def page(request: pytest.FixtureRequest, browser: Any) -> Iterator[Any]:  # noqa: F811
    width, height = VIEWPORTS[request.param]
    # bypass_csp: axe is injected as an inline script, which the pages' CSP refuses.
    context = browser.new_context(viewport={"width": width, "height": height}, bypass_csp=True)
    tab = context.new_page()
    tab.viewport_name = request.param
    problems: list[str] = []
    tab.on("pageerror", lambda e: problems.append(str(e)))
    try:
        yield tab
    finally:
        context.close()
    assert problems == []


def shoot(page: Any, name: str) -> Path:
    path = screenshot_dir() / f"{name}-{page.viewport_name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def blocks(page: Any) -> list[dict[str, Any]]:
    """The message body's blocks as laid out: kind, first words, top and bottom."""
    return page.evaluate("""() => Array.from(
        document.querySelectorAll('section.body > div.original, section.body > .quote-block'))
        .map(e => { const r = e.getBoundingClientRect(), q = e.matches('.quote-block');
          return {kind: q ? 'quote' : 'own',
                  text: (q ? e.querySelector('.text').textContent
                         : e.textContent).trim().slice(0, 12),
                  top: r.top + scrollY, bottom: r.bottom + scrollY}; })""")


def test_each_answer_follows_its_passage_and_quotes_open_in_place(
        archive_server: str, page: Any) -> None:
    page.goto(f"{archive_server}/message/{REPLY}")
    laid_out = blocks(page)
    assert [(b["kind"], b["text"]) for b in laid_out] == [
        ("quote", "First, the I"), ("own", "Agreed, but "), ("quote", "Second, mult"),
        ("own", "No. It means"), ("quote", "Third, the 2"), ("own", "A working gr")]
    # On screen too: each block below the one before it.
    assert all(a["bottom"] <= b["top"] + 1 for a, b in pairwise(laid_out))
    second = page.locator("section.body > .quote-block > details.quote").nth(1)
    assert not second.locator(".text").is_visible()
    assert "Parminder Jeet Singh wrote" in second.locator("> summary").inner_text()
    second.locator("> summary .quoted-author").click()
    assert second.evaluate("d => d.open") and second.locator(".text").is_visible()
    opened = blocks(page)
    # In place: the passage opened between the answer before it and its own answer.
    assert opened[1]["bottom"] <= opened[2]["top"] + 1
    assert opened[2]["bottom"] <= opened[3]["top"] + 1
    assert opened[2]["bottom"] - opened[2]["top"] > laid_out[2]["bottom"] - laid_out[2]["top"]
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]
    shoot(page, "message")


def test_thread_page_reads_whole(archive_server: str, page: Any) -> None:
    for view in ("", "?view=flat"):
        page.goto(f"{archive_server}/thread/{ROOT}{view}")
        text = " ".join(page.locator("ol.tree").inner_text().split())
        for message in archive.messages():
            for paragraph in message.original_text.split("\n\n"):
                assert " ".join(paragraph.split()) in text, (view, message.message_id)
        assert page.evaluate("document.documentElement.scrollWidth") <= \
            page.viewport_size["width"]
    shoot(page, "thread")


def test_thread_mbox_from_the_server_is_byte_identical(archive_server: str, page: Any,
                                                       tmp_path: Path) -> None:
    page.goto(f"{archive_server}/thread/{ROOT}")
    response = page.request.get(archive_server + page.locator("a.mbox").get_attribute("href"))
    assert response.ok and response.headers["content-type"] == "application/gzip"
    assert read_mbox(gzip.decompress(response.body()), tmp_path) == source_messages(tmp_path)


def test_phone_filter_button_opens_the_facets_above_the_hits(archive_server: str,
                                                             page: Any) -> None:
    page.goto(f"{archive_server}/search?q=tunis")
    facets, hit = page.locator("aside.facets"), page.locator("li.hit").first
    if page.viewport_name == "desktop":
        assert facets.is_visible() and not page.locator("button.filter-button").is_visible()
        return
    assert not facets.is_visible()
    page.locator("button.filter-button").click()
    assert facets.is_visible()
    assert facets.bounding_box()["y"] < hit.bounding_box()["y"]
    shoot(page, "search-filters")


AXE_PAGES = {
    "home": "/",
    "search": "/search?q=tunis",
    "message": f"/message/{REPLY}",
    "nested-quote": "/message/ec-reply-2@itforchange.example",
    "thread": f"/thread/{ROOT}",
    "author": "/author/Milton Mueller",
    "lists": "/lists",
    "list": "/list/governance",
    "list-month": "/list/governance/2010/02",
    "help": "/help",
    "error": "/search?q=(((",
    "references": "/references",
    "document-references": "/references/tunis-agenda",
}
# Issue 20's pages over an archive that cites paragraphs: marks in own words and in an open
# quote, the per-document page with its chart and tables, the author's most-cited lists.
REFERENCE_PAGES = {
    "refs-message": "/message/refs-2@mofa.example",
    "refs-document": "/references/tunis-agenda",
    "refs-author": "/author/Anriette Esterhuysen",
    "refs-search": "/search?q=cites:tunis-agenda",
}


@pytest.fixture(scope="module")
def refs_server(refs_app: Flask) -> Iterator[str]:
    with serving(refs_app) as url:
        yield url


@pytest.mark.parametrize("name", list(AXE_PAGES))
def test_axe_finds_nothing_serious(archive_server: str, page: Any, name: str,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    page.goto(archive_server + AXE_PAGES[name])
    if name == "message":
        page.locator("details.quote").first.evaluate("d => d.open = true")
    if name == "error":
        assert page.locator("#q").input_value() == "((("
    assert run_axe(page, name, capsys) == []


@pytest.mark.parametrize("name", list(REFERENCE_PAGES))
def test_axe_on_the_reference_pages(refs_server: str, page: Any, name: str,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    page.goto(refs_server + REFERENCE_PAGES[name])
    assert page.locator("h1").count() == 1
    if name == "refs-message":
        # The marks in the quote are checked open, as a reader sees them.
        page.locator("details.quote").first.evaluate("d => d.open = true")
        assert page.locator("a.ref").count() >= 6
    assert run_axe(page, name, capsys) == []


def run_axe(page: Any, name: str, capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    """The serious or critical violations axe-core finds on the page (screenshot taken)."""
    axe = axe_path()
    if not axe.is_file():
        # CI sets GOVMAIL_REQUIRE_AXE=1, so a missing axe fails there instead of skipping.
        if os.environ.get("GOVMAIL_REQUIRE_AXE"):
            pytest.fail(f"no axe-core at {axe} and GOVMAIL_REQUIRE_AXE is set: run `make axe`")
        pytest.skip(f"no axe-core at {axe}: run `make axe`")
    page.add_script_tag(path=str(axe))
    found = page.evaluate("""async () => (await axe.run(document, {
        runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa',
                                        'wcag22aa', 'best-practice']}}))
        .violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                               nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}))""")
    serious = [v for v in found if v["impact"] in ("serious", "critical")]
    shot = shoot(page, f"axe-{name}")
    with capsys.disabled():
        print(f"\naxe {name} {page.viewport_name}: {[v['id'] for v in found]} "
              f"({len(serious)} serious or critical) {shot}")
    return serious
