"""End to end in a real headless Chromium: search, pick a facet, open a message, expand a
quote, follow the thread; screenshots of the search and message pages.

The app runs under waitress (the production server of `govmail serve`) on 127.0.0.1,
over the same real index as the other web tests. Screenshots go to
$GOVMAIL_SCREENSHOTS (default: screenshots/ at the repository root).
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from tests.conftest import REPO

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def screenshot_dir() -> Path:
    folder = Path(os.environ.get("GOVMAIL_SCREENSHOTS") or REPO / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@contextmanager
def serving(app: Flask) -> Iterator[str]:
    """The app under waitress on a free loopback port, stopped on exit."""
    waitress = pytest.importorskip("waitress")
    served = waitress.create_server(app, host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=served.run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{served.effective_port}"
    finally:
        served.close()
        thread.join(timeout=5)


@pytest.fixture(scope="module")
def server(app: Flask) -> Iterator[str]:
    with serving(app) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.is_file() and not shutil.which("chromium"):
        pytest.skip(f"no Chromium at {CHROMIUM}: install Debian's chromium package to run this")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM if CHROMIUM.is_file() else shutil.which("chromium")),
            args=CHROMIUM_ARGS,
        )
        try:
            yield launched
        finally:
            launched.close()


def test_search_facet_message_quote_thread(server: str, browser: Any,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    folder = screenshot_dir()
    try:
        page.goto(server + "/")
        page.keyboard.press("/")  # app.js: "/" focuses the search box
        assert page.evaluate("document.activeElement.id") == "q"
        page.keyboard.type("cooperation")
        page.keyboard.press("Enter")
        page.wait_for_selector("ol.hits")
        assert page.locator("ol.hits li.hit").count() == 5
        assert page.locator("svg.timeline a").count() == 3  # months with hits

        page.locator("section.facet-year a", has_text="2010").click()
        page.wait_for_selector(".chips")
        assert page.locator(".chips a").all_inner_texts() == ["Year: 2010 ×"]
        assert page.locator("ol.hits li.hit").count() == 3
        page.keyboard.press("j")  # app.js: j selects the first hit
        assert page.locator("li.hit.active a.subject").inner_text() == \
            "Enhanced cooperation and the IGF"
        search_shot = folder / "search.png"
        page.screenshot(path=str(search_shot), full_page=True)

        page.locator("a.subject", has_text="Re: Enhanced cooperation and the IGF").first.click()
        page.wait_for_selector("article.message")
        assert page.locator("h1").inner_text() == "Re: Enhanced cooperation and the IGF"
        assert page.url.endswith("/message/a/b+c$d@example.net")
        quote = page.locator("details.quote").first
        assert not quote.evaluate("d => d.open")
        assert not page.locator("details.quote .text").first.is_visible()
        quote.locator("> summary").click(position={"x": 10, "y": 10})
        assert quote.evaluate("d => d.open")
        assert page.locator("details.quote .text").first.inner_text() == \
            "Enhanced cooperation was never defined by the summit."
        page.keyboard.press("e")  # app.js: e opens every quote
        assert page.locator("details.quote[open]").count() == 2
        message_shot = folder / "message.png"
        page.screenshot(path=str(message_shot), full_page=True)

        page.locator("a.thread-link").click()
        page.wait_for_selector("ol.tree")
        # The reply repeats its parent's subject, so only the root shows one.
        assert page.locator(".tree li.current .author").inner_text() == "Parminder Jeet Singh"
        assert page.locator(".tree .node").count() == 3
        page.locator(".tree li").nth(2).locator("a.when").click()
        page.wait_for_selector("article.message")
        assert page.locator("h1").inner_text() == "Re: Re: Enhanced cooperation and the IGF"

        # A phone: the sidebar moves under the results instead of squeezing them.
        phone = browser.new_context(viewport={"width": 390, "height": 844})
        small = phone.new_page()
        small.goto(server + "/search?q=cooperation")
        width = small.evaluate("document.documentElement.scrollWidth")
        phone.close()
        assert width <= 390
    finally:
        context.close()
    # CSP refusals and script errors reach the console.
    assert problems == []
    assert search_shot.stat().st_size > 10_000 and message_shot.stat().st_size > 10_000
    with capsys.disabled():
        print(f"\nbrowser screenshots: {search_shot} {message_shot}")
