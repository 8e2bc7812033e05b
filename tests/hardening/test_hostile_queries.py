"""Queries built to be expensive answer fast: a QueryError (a 400 with a reason) or hits.

Every query here runs against a 6,000-word index (``conftest.wide_index``), through
``search.engine.Engine`` and through the web app's ``/search``, ``/api/search`` and
``/feed.atom``. The bound is wall time per query (QUICK) and, for the engine, the
peak of Python allocations (tracemalloc). A failure of the bound is a bug: one slow
query holds the engine's lock, so every other visitor waits with it.
"""

from __future__ import annotations

import select
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.config import Settings
from core.errors import QueryError
from core.results import SearchRequest
from search.engine import Engine
from tests.conftest import REPO
from tests.hardening.corpus import vocabulary

# Seconds one query may take, hostile or not, on the 2-core CI machine.
QUICK = 2.0
# Peak bytes Python may allocate while refusing or answering one hostile query.
QUERY_MEMORY = 32 * 1024 * 1024
WORDS = vocabulary(6000)

# (name, query, the QueryError's whole text)
REFUSED = [
    ("leading-wildcard", "*a",
     "a word cannot begin with a wildcard: *a (write at least one letter before * or ?)"),
    ("leading-any", "?*",
     "a word cannot begin with a wildcard: ?* (write at least one letter before * or ?)"),
    ("short-prefix", "a*", "a* matches too many words (more than 64); make it longer"),
    ("thousands-of-terms", " ".join(WORDS[:3000]),
     f"query too long: {len(' '.join(WORDS[:3000]))} characters, at most 1000"),
    ("too-many-terms", " ".join(WORDS[:100]), "query has too many terms: at most 64"),
    ("huge-or-list", " OR ".join(WORDS[:90]), "query has too many terms: at most 64"),
    ("long-string", "x" * 1001, "query too long: 1001 characters, at most 1000"),
    ("deep-nesting-long", "(" * 600 + "word" + ")" * 600,
     "query too long: 1204 characters, at most 1000"),
    ("unbalanced", "(" * 400 + "word", "unclosed '(' at position 400"),
    ("unclosed-quote", '"' * 99, "unclosed quote at position 99"),
    # Every word of the field, walked: 1.8 s here before it was refused.
    ("field-star", "quoted:*", "quoted:* matches too many words (more than 64); make it longer"),
    ("field-range", "quoted:[a to z]",
     "quoted:[a TO z] matches too many words (more than 64); make it longer"),
]
# (name, query) that may be answered or refused, but quickly.
ANSWERED_QUICKLY = [
    ("deep-nesting", "(" * 450 + WORDS[5] + ")" * 450),
    ("fuzzy", WORDS[10] + "~9"),
    ("long-phrase", '"' + " ".join(WORDS[:60]) + '"'),
    ("wide-date-range", "date:[1900 to 2100]"),
    ("many-fields", " ".join("subject:" + w for w in WORDS[:60])),
    ("or-list-60", " OR ".join(WORDS[:60])),
    ("boost", WORDS[3] + "^99999999"),
    ("stacked-nots", "NOT " * 100 + WORDS[1]),
    ("colons", ":" * 500),
    ("long-id", "id:" + "x" * 900),
    ("field-wildcard", "from:*"),
]
# Slow cases this file found (all fixed); each runs the same check.
SLOW_BUGS = [
    pytest.param("one-1000-char-word", "g" * 1000),
    pytest.param("twenty-unknown-words", " ".join("zq" + w for w in WORDS[:20])),
    pytest.param("same-word-100-times", " OR ".join(["zqabc"] * 100)),
]
PAGING = [
    (SearchRequest(query="word", page=10**9), "page must be between 1 and 500"),
    (SearchRequest(query="word", page=0), "page must be between 1 and 500"),
    (SearchRequest(query="word", page=-5), "page must be between 1 and 500"),
    (SearchRequest(query="word", page_size=10**6), "page size must be between 1 and 100"),
    (SearchRequest(query="word", page_size=0), "page size must be between 1 and 100"),
    (SearchRequest(query="word", sort="score; DROP"),
     "unknown sort 'score; DROP' (use relevance, date, -date)"),
]


def timed(call: Callable[[], object]) -> tuple[object, float]:
    started = time.perf_counter()
    try:
        outcome: object = call()
    except QueryError as exc:
        outcome = exc
    return outcome, time.perf_counter() - started


@pytest.mark.parametrize(("name", "query", "reason"), REFUSED, ids=[r[0] for r in REFUSED])
def test_engine_refuses_expensive_queries_fast(wide_engine: Engine, name: str, query: str,
                                               reason: str) -> None:
    tracemalloc.start()
    try:
        outcome, seconds = timed(lambda: wide_engine.search(SearchRequest(query=query)))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert isinstance(outcome, QueryError), outcome
    assert str(outcome) == reason
    assert seconds < QUICK, seconds
    assert peak < QUERY_MEMORY, peak


@pytest.mark.parametrize(("name", "query"), ANSWERED_QUICKLY, ids=[a[0] for a in ANSWERED_QUICKLY])
def test_engine_answers_costly_looking_queries_fast(wide_engine: Engine, name: str,
                                                    query: str) -> None:
    outcome, seconds = timed(lambda: wide_engine.search(SearchRequest(query=query)))
    assert seconds < QUICK, f"{name}: {seconds:.2f} s ({outcome!r:.100})"


# The child opens the engine, says "ready", runs one query and says how long it took;
# the parent kills it once QUICK has passed, so a query that hangs costs the suite
# QUICK seconds, not minutes.
CHILD = """
import sys, time
from pathlib import Path
from core.config import Settings
from search.engine import Engine
from core.errors import QueryError
from core.results import SearchRequest
engine = Engine(Settings(index_dir=Path(sys.argv[1])))
engine.search(SearchRequest(query="warm"))
query = sys.stdin.read()
print("ready", flush=True)
started = time.perf_counter()
try:
    engine.search(SearchRequest(query=query))
except QueryError:
    pass
print(f"{time.perf_counter() - started:.3f}", flush=True)
"""


def seconds_in_child(index_dir: Path, query: str) -> float:
    """How long the query took in a fresh process, or inf when it outlived 1.5 * QUICK."""
    with subprocess.Popen(
        [sys.executable, "-c", CHILD, str(index_dir)], cwd=REPO, text=True,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
    ) as child:
        assert child.stdin is not None and child.stdout is not None
        try:
            child.stdin.write(query)
            child.stdin.close()
            assert child.stdout.readline().strip() == "ready"
            ready, _, _ = select.select([child.stdout], [], [], 1.5 * QUICK)
            return float(child.stdout.readline()) if ready else float("inf")
        finally:
            child.kill()


@pytest.mark.parametrize(("name", "query"), SLOW_BUGS)
def test_pathological_queries_answer_fast(wide_index: Path, name: str, query: str) -> None:
    assert seconds_in_child(wide_index, query) < QUICK


@pytest.mark.parametrize("query", ["*", "subject:*", "all:*"])
def test_a_lone_star_is_not_a_walk_over_every_term(query: str) -> None:
    from core import query as q
    from search.query import parse

    try:
        parsed = parse(query)
    except QueryError:
        return
    fielded = [leaf for leaf in q.leaves(parsed.query) if isinstance(leaf, q.Every) and leaf.field]
    assert fielded == []


def test_a_star_beside_words_leaves_the_words() -> None:
    from core import query as q
    from search.query import parse

    # "* word" must stay "word" (Whoosh's normalize once turned And([Every(), x]) into Every()).
    assert parse("* word").query == parse("word").query
    assert parse("word OR *").query == q.Every()
    assert parse("* NOT word").query == q.And((q.Every(), q.Not(parse("word").query)))
    # "quoted:*" asks for messages that quote something: that meaning is kept.
    assert parse("quoted:*").query == q.Every("quoted")


@pytest.mark.parametrize("query", ["*", "subject:*", "all:*"])
def test_a_lone_star_lists_every_message_fast(wide_engine: Engine, query: str) -> None:
    outcome, seconds = timed(lambda: wide_engine.search(SearchRequest(query=query)))
    everything, _ = timed(lambda: wide_engine.search(SearchRequest(query="")))
    assert outcome.total == everything.total == 400  # type: ignore[attr-defined]
    assert seconds < QUICK, seconds


def test_a_word_repeated_past_the_bound_is_refused_before_parsing(wide_index: Path) -> None:
    # One distinct term, but Whoosh's parse cost grows with every repetition.
    engine = Engine(Settings(index_dir=wide_index, max_query_length=100_000))
    outcome, seconds = timed(lambda: engine.search(SearchRequest(query=" OR ".join(["zq"] * 3000))))
    assert (type(outcome), str(outcome)) == (QueryError, "query has too many terms: at most 64")
    assert seconds < QUICK, seconds


def test_a_range_too_wide_is_refused_naming_the_range(wide_engine: Engine) -> None:
    outcome, seconds = timed(lambda: wide_engine.search(SearchRequest(query="subject:[a to z]")))
    assert isinstance(outcome, QueryError) and seconds < QUICK
    assert str(outcome).endswith(" matches too many words (more than 64); make it longer")
    assert str(outcome).startswith(("[a TO z]", "subject:[a TO z]")), str(outcome)


@pytest.mark.parametrize(("request_", "reason"), PAGING, ids=[r for _, r in PAGING])
def test_enormous_pages_are_refused(wide_engine: Engine, request_: SearchRequest,
                                    reason: str) -> None:
    outcome, seconds = timed(lambda: wide_engine.search(request_))
    assert (type(outcome), str(outcome)) == (QueryError, reason)
    assert seconds < QUICK


def test_term_bound_holds_when_length_is_lifted(wide_index: Path) -> None:
    engine = Engine(Settings(index_dir=wide_index, max_query_length=100_000))
    query = " OR ".join(WORDS[:300])
    outcome, seconds = timed(lambda: engine.search(SearchRequest(query=query)))
    assert (type(outcome), str(outcome)) == (QueryError, "query has too many terms: at most 64")
    assert seconds < QUICK, seconds


def test_term_bound_is_checked_before_parsing(wide_index: Path) -> None:
    engine = Engine(Settings(index_dir=wide_index, max_query_length=100_000))
    query = " ".join(WORDS[:1200])
    outcome, seconds = timed(lambda: engine.search(SearchRequest(query=query)))
    assert (type(outcome), str(outcome)) == (QueryError, "query has too many terms: at most 64")
    assert seconds < QUICK, seconds


def web_reason(client: FlaskClient, url: str, query: str) -> tuple[int, str, float]:
    started = time.perf_counter()
    response = client.get(url, query_string={"q": query})
    seconds = time.perf_counter() - started
    if response.status_code != 400:
        return response.status_code, "", seconds
    if url.startswith("/api/"):
        body = response.get_json()
        assert (body["ok"], body["status"]) == (False, 400)
        return 400, body["error"], seconds
    soup = BeautifulSoup(response.get_data(as_text=True), "lxml")
    return 400, soup.select_one("section.error .message").get_text(), seconds


@pytest.mark.parametrize("url", ["/search", "/api/search", "/feed.atom"])
@pytest.mark.parametrize(("name", "query", "reason"), REFUSED, ids=[r[0] for r in REFUSED])
def test_web_answers_400_with_the_reason_fast(wide_client: FlaskClient, url: str, name: str,
                                              query: str, reason: str) -> None:
    status, said, seconds = web_reason(wide_client, url, query)
    if reason.startswith("query too long"):
        # params.parse_search checks the length before the engine, in its own words.
        reason = f"the query is {len(query)} characters long; the limit is 1000"
    else:
        reason = f"bad query: {reason}"
    if url == "/feed.atom":
        assert status == 400  # the Atom error is an HTML page too
    else:
        assert (status, said) == (400, reason)
    assert seconds < QUICK, seconds


@pytest.mark.parametrize("url", ["/search", "/api/search"])
@pytest.mark.parametrize(
    ("args", "reason"),
    [
        ({"page": "1000000000"}, "page must be a whole number from 1 to 500, not '1000000000'"),
        ({"page": "501"}, "page must be from 1 to 500, not 501"),
        ({"size": "1000000"}, "size must be from 1 to 100, not 1000000"),
        ({"page": "1e9"}, "page must be a whole number from 1 to 500, not '1e9'"),
        ({"size": "-1"}, "size must be a whole number from 1 to 100, not '-1'"),
        ({"page": "²"}, "page must be a whole number from 1 to 500, not '²'"),
        ({"size": "①"}, "size must be a whole number from 1 to 100, not '①'"),
    ],
)
def test_web_refuses_enormous_pages(wide_client: FlaskClient, url: str, args: dict[str, str],
                                    reason: str) -> None:
    response = wide_client.get(url, query_string={"q": "word", **args})
    if url.startswith("/api/"):
        said = response.get_json()["error"]
    else:
        soup = BeautifulSoup(response.get_data(as_text=True), "lxml")
        said = soup.select_one("section.error .message").get_text()
    assert (response.status_code, said) == (400, reason)


QUERY_ALPHABET = st.sampled_from(
    ["(", ")", '"', "*", "?", "~", "^", ":", "[", "]", "{", "}", " ", " ", "-", "+", "\\",
     "AND", "OR", "NOT", "TO", "to", "date:", "from:", "subject:", "list:", "id:", "thread:",
     "quoted:", "all:", "quotes:", "2010", "2010-13", "<", ">", "=", "\x00", "é", "中",
     *WORDS[:20]]
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pieces=st.lists(QUERY_ALPHABET, max_size=40))
def test_any_query_text_is_answered_or_refused(small_engine: Engine, pieces: list[str]) -> None:
    query = "".join(pieces)
    outcome, seconds = timed(lambda: small_engine.search(SearchRequest(query=query)))
    assert isinstance(outcome, QueryError) or hasattr(outcome, "hits"), outcome
    if isinstance(outcome, QueryError):
        assert str(outcome).strip() != ""
    assert seconds < QUICK, (query, seconds)


@settings(max_examples=100, deadline=None)
@given(query=st.text(max_size=200))
def test_any_unicode_query_is_answered_or_refused(small_engine: Engine, query: str) -> None:
    outcome, seconds = timed(lambda: small_engine.search(SearchRequest(query=query)))
    assert isinstance(outcome, QueryError) or hasattr(outcome, "hits"), outcome
    assert seconds < QUICK, (query, seconds)


@pytest.fixture(scope="module")
def small_engine(small_index: Path) -> Engine:
    return Engine(Settings(index_dir=small_index))
