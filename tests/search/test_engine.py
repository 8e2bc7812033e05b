"""Engine behaviour on the hand-built archive: paging, sorting, filters, snippets, views."""

from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path

import pytest

from backends import open_store
from core.config import Settings
from core.errors import IndexNotFound, QueryError
from core.records import Message
from core.results import FacetValue, SearchRequest
from index.document import to_document
from search.engine import Engine
from tests.search.archive import identity


def ids(results: object) -> list[str]:
    return [hit.message_id for hit in results.hits]  # type: ignore[attr-defined]


def test_pages_cover_the_result_set_once(engine: Engine) -> None:
    whole = ids(engine.search(SearchRequest(query="discuss", page_size=100, sort="date")))
    pages = []
    for page in range(1, 5):
        pages += ids(engine.search(SearchRequest(query="discuss", page=page, page_size=10,
                                                 sort="date")))
    assert (len(whole), pages) == (32, whole)


def test_sort_by_date_both_ways(engine: Engine, messages: list[Message]) -> None:
    dated = sorted(
        (m for m in messages if "DNSSEC" in m.original_text), key=lambda m: m.date  # type: ignore[arg-type, return-value]
    )
    oldest = engine.search(SearchRequest(query="dnssec", sort="date"))
    newest = engine.search(SearchRequest(query="dnssec", sort="-date"))
    assert ids(oldest) == [m.message_id for m in dated]
    assert ids(newest) == [m.message_id for m in reversed(dated)]
    assert {h.score for h in oldest.hits} == {None}


def test_relevance_scores_descend(engine: Engine) -> None:
    scores = [h.score for h in engine.search(SearchRequest(query="icann OR dnssec")).hits]
    assert scores == sorted(scores, reverse=True)  # type: ignore[type-var]
    assert all(isinstance(s, float) for s in scores)


def test_filters_or_within_and_across(engine: Engine, messages: list[Message]) -> None:
    request = SearchRequest(
        query="",
        filters={"list": ("ietf", "igf"), "year": ("2010",)},
        page_size=100,
    )
    results = engine.search(request)
    want = {
        m.message_id
        for m in messages
        if {"ietf", "igf"} & set(m.lists) and m.date is not None and m.date.year == 2010
    }
    assert set(ids(results)) == want
    assert results.total == len(want)
    selected = {(name, v.value) for name, vs in results.facets.items() for v in vs if v.selected}
    assert selected == {("list", "ietf"), ("list", "igf"), ("year", "2010")}


def test_filters_are_exact_terms_not_query_text(engine: Engine) -> None:
    results = engine.search(SearchRequest(filters={"author": ("Bertrand de La Chapelle",)},
                                          page_size=100))
    assert {h.author for h in results.hits} == {"Bertrand de La Chapelle"}
    assert results.total == 7
    # "de" alone is no author: exact, not word, matching.
    assert engine.search(SearchRequest(filters={"author": ("de",)})).total == 0


def test_facets_of_a_small_result(engine: Engine) -> None:
    results = engine.search(SearchRequest(query="quoted:marker07"))
    assert results.facets == {
        "author": (FacetValue("Avri Doria", 1, False),),
        "list": (FacetValue("governance", 1, False),),
        "year": (FacetValue("2010", 1, False),),
        "month": (FacetValue("2010-03", 1, False),),
        "quoted_author": (FacetValue("Milton Mueller", 1, False),),
        "group": (FacetValue("technical community", 1, False),),
        # The fixture messages cite nothing (the reference facets: tests/search/
        # test_references_search.py).
        "cites": (),
        "mentions": (),
        "lang": (FacetValue("en", 1, False),),
    }


def test_cross_post_counts_once_per_list(engine: Engine, messages: list[Message]) -> None:
    results = engine.search(SearchRequest(query="id:fixture05@govmail.test"))
    assert results.facets["list"] == (
        FacetValue("governance", 1, False),
        FacetValue("igf", 1, False),
    )


def test_without_facets(engine: Engine) -> None:
    assert engine.search(SearchRequest(query="icann", with_facets=False)).facets == {}


def test_snippet_marks_matches_and_escapes_markup(engine: Engine) -> None:
    hit = engine.search(SearchRequest(query="markup99")).hits[0]
    assert hit.snippet_parts == (
        ("Compare <b>AT&T</b> & ", False),
        ("markup99", True),
        (" rules <script>alert(1)</script>", False),
    )
    assert hit.snippet == (
        "Compare &lt;b&gt;AT&amp;T&lt;/b&gt; &amp; <mark>markup99</mark> rules "
        "&lt;script&gt;alert(1)&lt;/script&gt;"
    )
    assert hit.snippet_field == "original"


def test_snippet_from_quoted_text_when_only_it_matched(engine: Engine) -> None:
    hit = engine.search(SearchRequest(query="quoted:marker07")).hits[0]
    assert hit.snippet_field == "quoted"
    assert [text for text, matched in hit.snippet_parts if matched] == ["marker07"]


def test_no_highlight_gives_the_opening_words(engine: Engine) -> None:
    hit = engine.search(SearchRequest(query="marker07", highlight=False)).hits[0]
    assert hit.snippet_parts == ((
        "Dear all, marker07 about funding the IGF secretariat through voluntary "
        "contributions. I think we should discuss this further at the next meeting.",
        False,
    ),)


def test_hit_fields(engine: Engine) -> None:
    hit = engine.search(SearchRequest(query="marker05")).hits[0]
    assert (hit.message_id, hit.subject, hit.author, hit.email, hit.date, hit.list, hit.lists,
            hit.thread_id) == (
        "fixture05@govmail.test", "Re: Network question 1", "Parminder Jeet Singh",
        "parminder@itforchange.net", "2010-02-14T14:30:00Z", "igf", ("igf", "governance"),
        "fixture03@govmail.test",
    )


@pytest.mark.parametrize(
    ("query", "suggestion"),
    [("dnssex", "dnssec"), ("verisgn", "verisign"), ("secretriat fundng", "secretariat funding")],
)
def test_did_you_mean(engine: Engine, query: str, suggestion: str) -> None:
    results = engine.search(SearchRequest(query=query))
    assert (results.total, results.suggestion) == (0, suggestion)
    assert engine.search(SearchRequest(query=suggestion)).total > 0


def test_no_suggestion_for_known_words(engine: Engine) -> None:
    assert engine.search(SearchRequest(query="dnssec")).suggestion is None


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        (SearchRequest(page=0), "page must be between 1 and 500"),
        (SearchRequest(page=501), "page must be between 1 and 500"),
        (SearchRequest(page_size=101), "page size must be between 1 and 100"),
        (SearchRequest(sort="size"), "unknown sort 'size' (use relevance, date, -date)"),
        (SearchRequest(filters={"colour": ("red",)}),
         "unknown facet 'colour' (facets: author, list, year, month, quoted_author, group, "
         "cites, mentions, lang)"),
        (SearchRequest(query="g*"), "g* matches too many words"),
    ],
)
def test_bad_requests(request_: SearchRequest, message: str) -> None:
    engine_ = Engine(Settings(index_dir=_shared_index, max_query_terms=1))
    with pytest.raises(QueryError) as raised:
        engine_.search(request_)
    assert str(raised.value).startswith(message)


_shared_index = Path()


@pytest.fixture(autouse=True)
def _remember_index(fixture_index: Path) -> None:
    global _shared_index
    _shared_index = fixture_index


def test_missing_index(tmp_path: Path) -> None:
    with pytest.raises(IndexNotFound, match="^no index at "):
        Engine(Settings(index_dir=tmp_path / "nothing"))


def test_message_view(engine: Engine) -> None:
    view = engine.message("fixture08@govmail.test")
    assert view is not None
    shown = view.to_json()
    assert shown["quotes"] == [{
        "author": "Milton Mueller",
        "message_id": "fixture07@govmail.test",
        "depth": 1,
        "text": "Dear all, marker07 about funding the IGF secretariat through voluntary "
        "contributions.",
        "at": -1,
        "known": True,
    }]
    assert (shown["author"], shown["email"], shown["group"], shown["lists"], shown["date"],
            shown["in_reply_to"], shown["references"], shown["signature"], shown["source"],
            shown["charset"], shown["date_source"], shown["author_source"]) == (
        "Avri Doria", "avri@acm.org", "technical community", ["governance"],
        "2010-03-31T17:30:00Z", "fixture07@govmail.test", ["fixture07@govmail.test"],
        "-- \nAvri Doria", {"path": "fixture.mbox", "key": "8000"},
        {"declared": "utf-8", "used": "utf-8", "repairs": []}, "header", "header",
    )
    assert json.loads(json.dumps(shown)) == shown
    assert engine.message("nope@nowhere") is None


def test_thread_view(engine: Engine) -> None:
    view = engine.thread("fixture06@govmail.test")
    assert view is not None
    assert [(n.message_id, n.parent_id, n.depth, n.author) for n in view.nodes] == [
        ("fixture06@govmail.test", None, 0, "Bertrand de La Chapelle"),
        ("fixture07@govmail.test", "fixture06@govmail.test", 1, "Milton Mueller"),
        ("fixture08@govmail.test", "fixture07@govmail.test", 2, "Avri Doria"),
    ]
    assert view.nodes[0].first_line == (
        "Dear all, marker06 about privacy of WHOIS records for individual registrants."
    )
    assert engine.thread("nope@nowhere") is None


def test_neighbours(engine: Engine) -> None:
    assert engine.neighbours("fixture07@govmail.test") == (
        "fixture06@govmail.test", "fixture08@govmail.test")
    assert engine.neighbours("fixture06@govmail.test") == (None, "fixture07@govmail.test")
    assert engine.neighbours("nope@nowhere") == (None, None)


def test_author_view(engine: Engine) -> None:
    view = engine.author("Avri Doria")
    assert view is not None
    assert view.to_json() == {
        "name": "Avri Doria",
        "emails": ["avri@acm.org"],
        "group": "technical community",
        "affiliation": None,
        "total": 7,
        "years": [["2010", 5], ["2011", 2]],
        "lists": [["ietf", 3], ["governance", 2], ["icann-discuss", 1], ["igf", 1]],
        "quotes": [["Milton Mueller", 4]],
        "quoted_by": [["Jeanette Hofmann", 4]],
        # These records are built by hand, without the extractor (tests/web/test_references.py
        # checks the lists over extracted references).
        "cites": [], "mentions": [],
    }
    assert engine.author("Nobody") is None


def test_more_like_this_prefers_the_same_topic(engine: Engine) -> None:
    similar = [h.message_id for h in engine.more_like_this("fixture03@govmail.test", limit=3)]
    assert similar == ["fixture11@govmail.test", "fixture19@govmail.test",
                       "fixture27@govmail.test"]
    assert engine.more_like_this("nope@nowhere") == ()


def test_stats(engine: Engine, fixture_index: Path) -> None:
    stats = engine.stats()
    size = sum(p.stat().st_size for p in fixture_index.iterdir())
    assert stats == {
        "messages": 33, "authors": 5, "lists": 4,
        "first_date": "2009-12-01T09:30:00Z", "last_date": "2011-04-01T12:00:00Z",
        "index_bytes": size, "index_dir": str(fixture_index),
    }


def test_refresh_sees_a_commit(fixture_index: Path, tmp_path: Path,
                               messages: list[Message]) -> None:
    copy = tmp_path / "index"
    shutil.copytree(fixture_index, copy)
    engine = Engine(Settings(index_dir=copy))
    assert engine.search(SearchRequest(query="marker07")).total == 1
    assert engine.refresh() is False
    store = open_store(Settings(index_dir=copy))
    writer = store.writer(2)
    message = messages[7]
    writer.replace(to_document(message, identity(message)))
    twin = to_document(message, identity(message))
    twin["message_id"] = "twin@govmail.test"
    writer.add(twin)
    writer.commit()
    store.close()
    assert engine.refresh() is True
    assert sorted(ids(engine.search(SearchRequest(query="marker07")))) == [
        "fixture07@govmail.test", "twin@govmail.test"]
    # Facet columns follow the new segment too.
    assert engine.search(SearchRequest(query="marker07")).facets["author"] == (
        FacetValue("Milton Mueller", 2, False),)


def test_threads_share_one_engine(engine: Engine) -> None:
    queries = ["icann", "dnssec OR whois", "from:avri", "date:2010", "quoted:marker07"]
    expected = {q: ids(engine.search(SearchRequest(query=q))) for q in queries}
    seen: list[tuple[str, list[str]]] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(10):
                for q in queries:
                    seen.append((q, ids(engine.search(SearchRequest(query=q)))))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert all(found == expected[q] for q, found in seen)
    assert len(seen) == 200
