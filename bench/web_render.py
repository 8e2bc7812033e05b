"""How long the search page takes to render, facets and timeline included (not a test).

Builds (once, cached under bench/out/) an index of 20,000 generated messages from the
ground truth of ``sample.generator`` (records written straight through
``index.document.to_document``: this measures the web layer, not ingestion), then asks
the Flask test client for search pages and prints the median and p95 per kind of page.
Every timed search page is a search the server has not seen (words and phrases drawn
from the corpus as ``bench.queries`` draws them), so it is rendered, not answered from
the kept pages; those same URLs asked a second time give the kept-page figure, printed
apart.

    .venv/bin/python -m bench.web_render [--messages 20000] [--repeat 30] [--index DIR]
    .venv/bin/python -m bench.web_render --index DIR --profile "/search?q=policy" [--repeat 200]

``--profile URL`` runs cProfile over ``--repeat`` requests of one page (after one to warm
the caches) and prints where the CPU goes, by the part of the page that spent it.

The issue's target: a search page with facets under 150 ms at the median on 2 cores.
Then the thread page (every message's body, quotes in place) of the longest thread:
under 300 ms.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from bench.queries import make_queries
from tests.conftest import REPO

OUT = REPO / "bench" / "out"
TARGET_MS = 150.0
THREAD_TARGET_MS = 300.0


def build_index(directory: Path, messages: int, seed: int = 1) -> Path:
    from index.document import Identity
    from sample.generator import generate
    from tests.indexing import write_messages
    from tests.search.sampled import to_message

    seen: dict[str, tuple] = {}
    started = time.perf_counter()
    for sample in generate(messages, seed):
        message = to_message(sample)
        identity = Identity(
            name=sample.author_name or sample.author_email or "(unknown)",
            email=sample.author_email,
        )
        seen.setdefault(message.message_id, (message, identity))
    write_messages(directory, seen.values())
    print(
        f"indexed {len(seen):,} messages in {time.perf_counter() - started:.0f} s into {directory}"
    )
    return directory


@dataclass(frozen=True, slots=True)
class Truth:
    """What the bench needs of the generator's ground truth, from one walk over it."""

    texts: tuple[str, ...]
    authors: tuple[str, ...]
    thread: tuple[str, int]


def ground_truth(messages: int, seed: int = 1) -> Truth:
    """The index would need a walk over every stored message for any of these."""
    from sample.generator import generate
    from tests.search.sampled import to_message

    texts, authors, threads = [], {}, Counter()
    for sample in generate(messages, seed):
        texts.append(sample.original_text)
        # The name the index files the author under (build_index's Identity).
        authors.setdefault(sample.author_name or sample.author_email or "(unknown)", None)
        threads[to_message(sample).thread_id] += 1
    return Truth(tuple(texts), tuple(authors), threads.most_common(1)[0])


def pages_to_render(client: object, truth: Truth, repeat: int,
                    seed: int = 7) -> list[tuple[str, list[str]]]:
    """(kind, urls): ``repeat`` URLs of each kind, every one a search asked nowhere else.

    The server keeps rendered pages (web/caching.py) and the engine keeps results, so
    asking one URL again times a look-up, not a render. The words and phrases are
    drawn from the corpus text as bench/queries.py draws them for the engine benchmark;
    no query string is used twice, in any kind. The everything page has no words to
    vary, so its pages are the first ``repeat`` after page 1; the author facet takes a
    different author each time.
    """
    api = client.get("/api/search?size=1").get_json()  # type: ignore[attr-defined]
    year = api["facets"]["year"][len(api["facets"]["year"]) // 2][0]
    listname = api["facets"]["list"][0][0]
    drawn = make_queries(({"original": text} for text in truth.texts),
                         count=20 * repeat, phrases=repeat, seed=seed)
    words = list(dict.fromkeys(drawn.plain))
    single = iter([q for q in words if " " not in q])
    several = iter([q for q in words if " " in q])
    spare = iter([q for q in words if " " in q][::-1])
    used: set[str] = set()

    def take(source: Iterator[str]) -> str:
        for query in source:
            if query not in used:
                used.add(query)
                return query
        raise SystemExit(f"the corpus gave too few distinct queries for --repeat {repeat}")

    def search(**args: str) -> str:
        return "/search?" + urlencode(args)

    if len(truth.authors) < repeat or len(drawn.phrases) < repeat:
        raise SystemExit(f"the corpus has too few authors or phrases for --repeat {repeat}")
    n = range(repeat)
    return [
        ("everything, newest first", [search(page=str(p + 2)) for p in n]),
        ("one word", [search(q=take(single)) for _ in n]),
        ("two or three words", [search(q=take(several)) for _ in n]),
        ("phrase", [search(q=phrase) for phrase in drawn.phrase_strings()[:repeat]]),
        ("words + quoted text too", [search(q=take(spare), quoted="1") for _ in n]),
        ("words + list + year facets",
         [search(q=take(spare), list=listname, year=str(year)) for _ in n]),
        ("author facet", [search(author=author) for author in truth.authors[:repeat]]),
        ("words, sorted by date", [search(q=take(spare), sort="-date") for _ in n]),
    ]


def time_thread(client: object, thread: tuple[str, int], repeat: int) -> None:
    thread_id, size = thread
    url = f"/thread/{thread_id}"
    for view in ("", "?view=flat"):
        response = client.get(url + view)  # type: ignore[attr-defined]
        assert response.status_code == 200, (url, response.status_code)
        walls, cpus = [], []
        for _ in range(repeat):
            wall, cpu = time.perf_counter(), time.process_time()
            client.get(url + view).get_data()  # type: ignore[attr-defined]
            cpus.append((time.process_time() - cpu) * 1000)
            walls.append((time.perf_counter() - wall) * 1000)
        median = statistics.median(walls)
        verdict = "meets" if median < THREAD_TARGET_MS else "misses"
        print(f"thread page{view or ' (nested)'}, longest thread ({size} messages, "
              f"{len(response.get_data()):,} bytes): median {median:.1f} ms, "
              f"p95 {percentile(walls, 0.95):.1f} ms, cpu {statistics.median(cpus):.1f} ms "
              f"({verdict} the "
              f"{THREAD_TARGET_MS:.0f} ms target)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument(
        "--index", type=Path, default=None,
        help="An existing index to use instead of building one (the queries are still "
             "drawn from --messages generated messages).",
    )
    parser.add_argument(
        "--profile", metavar="URL", default=None,
        help="Profile --repeat requests of URL in process and print where the CPU goes.",
    )
    parser.add_argument(
        "--cold", action="store_true",
        help="With --profile: empty the kept pages and the engine's results before each "
             "request (a search never asked before).",
    )
    args = parser.parse_args()

    from core.config import Settings
    from web import create_app

    directory = args.index or OUT / f"web-index-{args.messages}"
    if (
        args.index is None
        and not (directory / "_MAIN_WRITELOCK").exists()
        and not any(directory.glob("*.toc"))
    ):
        build_index(directory, args.messages)
    app = create_app(Settings(index_dir=directory))
    client = app.test_client()
    if args.profile:
        profile_page(app, args.profile, args.repeat, args.cold)
        return
    total = app.extensions["govmail"].stats()["messages"]
    truth = ground_truth(args.messages)
    engine = app.extensions["govmail"]
    searched: list[Any] = []
    search = engine.search

    def recorded(request: Any) -> Any:
        # The Results of the request being timed: its elapsed_ms is the engine's share.
        results = search(request)
        searched.append(results)
        return results

    engine.search = recorded
    # Facet columns and the searcher open on the first search: pay that before timing,
    # with a page no timed request asks for.
    assert client.get("/search").status_code == 200
    rows, kept = [], []
    for kind, urls in pages_to_render(client, truth, args.repeat):
        walls, cpus, engine_ms, hits = [], [], [], []
        for url in urls:
            searched.clear()
            wall, cpu = time.perf_counter(), time.process_time()
            response = client.get(url)
            response.get_data()
            cpus.append((time.process_time() - cpu) * 1000)
            walls.append((time.perf_counter() - wall) * 1000)
            assert response.status_code == 200, (url, response.status_code)
            # One search a render; a kept page would have called none.
            assert len(searched) == 1, (url, len(searched))
            engine_ms.append(searched[0].elapsed_ms)
            hits.append(searched[0].total)
        if kind == "author facet":
            assert min(hits) > 0, "an author of the ground truth found nothing: another index?"
        rows.append((kind, statistics.median(hits), statistics.median(walls),
                     percentile(walls, 0.95), statistics.median(cpus),
                     statistics.median(engine_ms)))
        # The same URLs again: now the kept pages answer.
        again = []
        for url in urls:
            wall = time.perf_counter()
            client.get(url).get_data()
            again.append((time.perf_counter() - wall) * 1000)
        kept.append((kind, statistics.median(again), percentile(again, 0.95)))
    engine.search = search
    load = os.getloadavg()[0]
    print(
        f"\nsearch page render, {total:,} messages, {args.repeat} different searches of each "
        f"kind, each new to the server (Flask test client, whole page with facets and "
        f"timeline; load average {load:.1f} on {os.cpu_count()} cores)"
    )
    print(
        f"{'page':<28} {'hits':>7} {'median ms':>10} {'p95 ms':>8} {'cpu ms':>8} {'engine ms':>10}"
    )
    for kind, hits, median, p95, cpu, engine_ms in rows:
        print(f"{kind:<28} {hits:>7,.0f} {median:>10.1f} {p95:>8.1f} {cpu:>8.1f} "
              f"{engine_ms:>10.1f}")
    overall = statistics.median(r[2] for r in rows)
    overall_cpu = statistics.median(r[4] for r in rows)
    verdict = "meets" if overall < TARGET_MS else "misses"
    print(
        f"{'median of medians':<28} {'':>7} {overall:>10.1f} {'':>8} {overall_cpu:>8.1f}   "
        f"({verdict} the {TARGET_MS:.0f} ms target in wall time)"
    )
    print("hits is the median over the kind's searches; cpu ms is this process's CPU time "
          "per page: the wall time of an idle machine.")
    print("engine ms is Results.elapsed_ms (search + facets); the rest is Flask and Jinja.")
    print("\nthe same URLs asked again: kept pages (web/caching.py) answering, not a render")
    print(f"{'page':<28} {'median ms':>10} {'p95 ms':>8}")
    for kind, median, p95 in kept:
        print(f"{kind:<28} {median:>10.1f} {p95:>8.1f}")
    print(f"{'median of medians (kept)':<28} {statistics.median(k[1] for k in kept):>10.1f}")
    if args.index is None:
        print()
        time_thread(client, truth.thread, args.repeat)


# The pieces of a search page request: (label, file, function); their cumulative times
# are disjoint (none calls another), the rest is Flask, werkzeug and the test client.
PARTS = (
    ("query parse + engine (cached or not)", "search/engine.py", "search"),
    ("facet sidebar links", "web/pages.py", "facet_groups"),
    ("timeline bars", "web/pages.py", "timeline"),
    ("other view code (links, paging)", "web/pages.py", "here"),
    ("request arguments", "web/params.py", "parse_search"),
    ("templates (render_template)", "flask/templating.py", "render_template"),
    ("address hiding (kept page)", "web/privacy.py", "hide_page"),
    ("address hiding (response hook)", "web/privacy.py", "hide"),
    ("ETag + conditional", "web/caching.py", "cache_headers"),
    ("security headers", "web/__init__.py", "secure"),
    ("engine refresh", "web/__init__.py", "refresh_engine"),
)


def profile_page(app: Any, url: str, repeat: int, cold: bool) -> None:
    """cProfile ``repeat`` requests of ``url``: the top functions and the CPU by part."""
    import cProfile
    import pstats

    from web.caching import PageCache

    client = app.test_client()
    engine = app.extensions["govmail"]

    def forget() -> None:
        if cold:
            app.extensions["govmail.pages"] = PageCache()
            engine._results.clear()

    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    profiler = cProfile.Profile()
    cpu = time.process_time()
    profiler.enable()
    for _ in range(repeat):
        forget()
        client.get(url).get_data()
    profiler.disable()
    per_request = (time.process_time() - cpu) * 1000 / repeat
    stats = pstats.Stats(profiler)
    print(f"{url}{' (cold)' if cold else ''}: {per_request:.1f} ms CPU a request under "
          f"cProfile ({repeat} requests, "
          f"{len(response.get_data()):,} bytes)")
    stats.sort_stats("tottime").print_stats(25)
    print(f"{'cumulative CPU by part':<44} {'ms/request':>10} {'share':>6}")
    shown = 0.0
    for label, filename, name in PARTS:
        seconds = sum(row[3] for (path, _, func), row in stats.stats.items()  # type: ignore
                      if func == name and path.endswith(filename))
        shown += seconds
        print(f"{label:<44} {seconds * 1000 / repeat:>10.2f} "
              f"{seconds * 1000 / repeat / per_request:>6.0%}")
    print(f"{'the rest (Flask, werkzeug, test client)':<44} "
          f"{per_request - shown * 1000 / repeat:>10.2f}")


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


if __name__ == "__main__":
    main()
