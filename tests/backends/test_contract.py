"""The contract every search backend passes: the same records in, the same answers out.

Each test builds a small corpus whose words, dates, authors and lists are chosen so that
the right answer can be computed from the records by brute force, writes it through the
backend's Store/Writer, and checks the backend's Reader (through the engine, as the CLI and
the web use it) against that answer: totals, ids, facet counts, phrase/prefix/range/date
semantics, sort orders, deletions, replacements and incremental commits.

Runs for every backend in ``BACKENDS`` that can run here (``tests/backends/conftest.py``).
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from core.records import Author, CharsetReport, Message, Quote, SourceRef
from core.results import SearchRequest
from index.document import Identity, to_document
from search.engine import Engine
from tests.backends.conftest import Built

COUNT = 90
AUTHORS = ("Avri Doria", "Milton Mueller", "Parminder Jeet Singh", "Nnenna Nwakanma")
GROUPS = ("civil society", "academia", "technical community", "civil society")
LISTS = ("governance", "igf-discuss", "icann-council")


def corpus() -> list[tuple[Message, Identity]]:
    """Message n: own words `alphaN%3 betaN%5 ...`, quoted `gammaN%4`, a date, list and author."""
    records = []
    start = datetime(2009, 1, 1, tzinfo=UTC)
    for n in range(COUNT):
        author = AUTHORS[n % 4]
        quoted_author = AUTHORS[(n + 1) % 4] if n % 3 else None
        words = [f"alpha{n % 3}", f"beta{n % 5}", "common", f"delta{n % 7}"]
        if n % 6 == 0:
            words.insert(2, "enhanced cooperation")
        original = " ".join(words) + f" unique{n:03d}"
        quoted = f"gamma{n % 4} sentence" if quoted_author else ""
        lists = (LISTS[n % 3],) + ((LISTS[(n + 1) % 3],) if n % 10 == 0 else ())
        message = Message(
            message_id=f"m{n:03d}@contract.test",
            source=SourceRef("contract.mbox", str(n)),
            lists=lists,
            subject=f"topic{n % 4} report",
            subject_normalized=f"topic{n % 4} report",
            author=Author(author, f"{author.split()[0].lower()}@contract.test"),
            date=start + timedelta(days=9 * n, hours=n % 24),
            date_source="header",
            in_reply_to=None,
            references=(),
            original_text=original,
            quoted_text=quoted,
            quotes=(Quote(quoted_author, None, 1, quoted),) if quoted_author else (),
            signature="",
            footer="",
            charset=CharsetReport("utf-8", "utf-8"),
            thread_id=f"m{n - n % 5:03d}@contract.test",
        )
        identity = Identity(author, message.author.email, GROUPS[n % 4], None)
        records.append((message, identity))
    return records


RECORDS = corpus()
DOCS = {m.message_id: to_document(m, i) for m, i in RECORDS}


def words_of(doc: dict, *fields: str) -> set[str]:
    return {w for f in fields for w in re.findall(r"\w+", str(doc.get(f) or "").lower())}


def brute(predicate) -> set[str]:  # type: ignore[no-untyped-def]
    return {mid for mid, doc in DOCS.items() if predicate(doc)}


def ids(engine: Engine, query: str, **options: object) -> set[str]:
    found = engine.search(SearchRequest(query=query, page_size=100, with_facets=False,
                                        **options))  # type: ignore[arg-type]
    assert found.total == len(found.hits) or found.total > 100
    return {h.message_id for h in found.hits}


@pytest.fixture(scope="module")
def engine(built: Built) -> Engine:
    return built.engine(RECORDS)


def own(word: str) -> set[str]:
    return brute(lambda d: word in words_of(d, "original", "subject"))


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("alpha1", lambda: own("alpha1")),
        ("alpha1 beta2", lambda: own("alpha1") & own("beta2")),
        ("alpha1 OR beta2", lambda: own("alpha1") | own("beta2")),
        ("alpha1 NOT beta2", lambda: own("alpha1") - own("beta2")),
        ("NOT alpha1", lambda: set(DOCS) - own("alpha1")),
        ("(alpha0 OR alpha1) delta3", lambda: (own("alpha0") | own("alpha1")) & own("delta3")),
        ("topic2", lambda: own("topic2")),
        ("subject:topic2", lambda: brute(lambda d: "topic2" in words_of(d, "subject"))),
        ("quoted:gamma1", lambda: brute(lambda d: "gamma1" in words_of(d, "quoted"))),
        ("gamma1", set),
        ("all:gamma1", lambda: brute(lambda d: "gamma1" in words_of(d, "quoted"))),
        ('"enhanced cooperation"', lambda: own("enhanced")),
        ('"cooperation enhanced"', set),
        ("unique04*", lambda: {f"m{n:03d}@contract.test" for n in range(40, 50)}),
        ("list:igf-discuss", lambda: brute(lambda d: "igf-discuss" in d["list"].split(","))),
        ('quotes:"Milton Mueller"', lambda: brute(lambda d: "Milton Mueller" in d["quoted_author"])),
        ("group:academia", lambda: brute(lambda d: d.get("group") == "academia")),
        ("thread:<m010@contract.test>",
         lambda: brute(lambda d: d["thread_id"] == "m010@contract.test")),
        ("id:<m007@contract.test>", lambda: {"m007@contract.test"}),
        ("date:2010", lambda: brute(lambda d: d["date"].year == 2010)),
        ("date:2010-03", lambda: brute(lambda d: (d["date"].year, d["date"].month) == (2010, 3))),
        ("date:[2009-06 to 2010-02]",
         lambda: brute(lambda d: datetime(2009, 6, 1) <= d["date"] < datetime(2010, 3, 1))),
        ("date:[2011 to]", lambda: brute(lambda d: d["date"] >= datetime(2011, 1, 1))),
        ("", lambda: set(DOCS)),
    ],
)
def test_matches_equal_brute_force(engine: Engine, query: str, expected) -> None:  # type: ignore[no-untyped-def]
    want = expected()
    assert ids(engine, query) == want
    assert engine.search(SearchRequest(query=query, with_facets=False)).total == len(want)


def test_facet_counts_equal_brute_force(engine: Engine) -> None:
    found = engine.search(SearchRequest(query="common NOT alpha2", page_size=1))
    matched = [DOCS[m] for m in own("common") - own("alpha2")]
    assert found.total == len(matched)
    expected = {
        "author": Counter(d["author"] for d in matched),
        "list": Counter(v for d in matched for v in d["list"].split(",")),
        "year": Counter(d["year"] for d in matched),
        "month": Counter(d["month"] for d in matched),
        "quoted_author": Counter(v for d in matched for v in d["quoted_author"].split(",") if v),
        "group": Counter(d["group"] for d in matched),
        "cites": Counter(v for d in matched for v in d.get("cites", "").split(",") if v),
        "mentions": Counter(v for d in matched for v in d.get("mentions", "").split(",") if v),
        "lang": Counter(d["lang"] for d in matched),
    }
    got = {name: Counter({v.value: v.count for v in values if v.count})
           for name, values in found.facets.items()}
    assert got == expected


def test_filters_are_exact_and_combine(engine: Engine) -> None:
    request = SearchRequest(query="common", filters={"list": ("governance", "icann-council"),
                                                     "group": ("civil society",)},
                            page_size=100, with_facets=False)
    found = engine.search(request)
    want = brute(lambda d: bool({"governance", "icann-council"} & set(d["list"].split(",")))
                 and d["group"] == "civil society")
    assert {h.message_id for h in found.hits} == want


@pytest.mark.parametrize("sort", ["date", "-date"])
def test_date_sorts(engine: Engine, sort: str) -> None:
    found = engine.search(SearchRequest(query="alpha0", sort=sort, page_size=100,
                                        with_facets=False))
    dates = [h.date for h in found.hits]
    assert dates == sorted(dates, reverse=sort == "-date") and len(dates) == len(own("alpha0"))


def test_relevance_ranks_and_pages_consistently(engine: Engine) -> None:
    whole = engine.search(SearchRequest(query="alpha1 OR beta2 OR topic3", page_size=60,
                                        with_facets=False))
    scores = [h.score for h in whole.hits]
    assert all(s is not None for s in scores) and scores == sorted(scores, reverse=True)  # type: ignore[type-var]
    # Messages holding more of the words rank above those holding fewer.
    both = own("alpha1") & own("beta2") & own("topic3")
    assert {h.message_id for h in whole.hits[: len(both)]} == both
    pages = [
        h.message_id
        for page in (1, 2, 3)
        for h in engine.search(SearchRequest(query="alpha1 OR beta2 OR topic3", page=page,
                                             page_size=20, with_facets=False)).hits
    ]
    assert pages == [h.message_id for h in whole.hits]


def test_views_read_what_was_written(engine: Engine) -> None:
    view = engine.message("m012@contract.test")
    assert view is not None and view.original == DOCS["m012@contract.test"]["original"]
    assert view.lists == ("governance",)
    thread = engine.thread("m010@contract.test")
    assert thread is not None
    assert [n.message_id for n in thread.nodes] == [f"m{n:03d}@contract.test"
                                                    for n in range(10, 15)]
    author = engine.author("Milton Mueller")
    assert author is not None and author.total == sum(1 for m, _ in RECORDS
                                                      if m.author.name == "Milton Mueller")
    assert engine.stats()["messages"] == COUNT


def test_deletes_replacements_and_incremental_commits(fresh: Built) -> None:
    built = fresh
    engine = built.engine(RECORDS[:40])
    assert engine.search(SearchRequest(query="")).total == 40
    first = built.generation()
    built.write(add=RECORDS[40:60], delete=["m003@contract.test"],
                replace=[{**DOCS["m004@contract.test"], "original": "rewritten words"}])
    assert built.generation() > first
    engine.refresh()
    assert engine.search(SearchRequest(query="")).total == 59
    assert engine.message("m003@contract.test") is None
    assert ids(engine, "rewritten") == {"m004@contract.test"}
    assert "m004@contract.test" not in ids(engine, "common")
    assert ids(engine, "unique05*") == {f"m{n:03d}@contract.test" for n in range(50, 60)}
