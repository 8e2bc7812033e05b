"""How long the search page takes to render, facets and timeline included (not a test).

Builds (once, cached under bench/out/) an index of 20,000 generated messages from the
ground truth of ``sample.generator`` (records written straight through
``index.document.to_document``: this measures the web layer, not ingestion), then asks
the Flask test client for search pages and prints the median and p95 per kind of page.

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
from pathlib import Path
from typing import Any

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


def pages_to_render(client: object) -> list[tuple[str, str]]:
    """(kind, url): the everything page is the worst case, facets over the whole index."""
    api = client.get("/api/search?size=1").get_json()  # type: ignore[attr-defined]
    author = api["facets"]["author"][0][0]
    year = api["facets"]["year"][len(api["facets"]["year"]) // 2][0]
    listname = api["facets"]["list"][0][0]
    return [
        ("everything, newest first", "/search"),
        ("one common word", "/search?q=governance"),
        ("two words", "/search?q=internet+policy"),
        ("phrase", '/search?q="civil+society"'),
        ("word + quoted text too", "/search?q=accountability&quoted=1"),
        ("word + list + year facets", f"/search?q=internet&list={listname}&year={year}"),
        ("author facet, page 3", f"/search?author={author.replace(' ', '+')}&page=3"),
        ("word, sorted by date", "/search?q=multistakeholder&sort=-date"),
    ]


def longest_thread(messages: int, seed: int = 1) -> tuple[str, int]:
    """The generator's ground truth knows each message's thread; the index would need a walk."""
    from collections import Counter

    from sample.generator import generate
    from tests.search.sampled import to_message

    counts = Counter(to_message(s).thread_id for s in generate(messages, seed))
    return counts.most_common(1)[0]


def time_thread(client: object, messages: int, repeat: int) -> None:
    thread_id, size = longest_thread(messages)
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
        "--index", type=Path, default=None, help="An existing index to use instead of building one."
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
    rows = []
    for kind, url in pages_to_render(client):
        response = client.get(url)  # warm caches (facet columns, searcher)
        assert response.status_code == 200, (url, response.status_code)
        walls, cpus = [], []
        for _ in range(args.repeat):
            wall, cpu = time.perf_counter(), time.process_time()
            client.get(url).get_data()
            cpus.append((time.process_time() - cpu) * 1000)
            walls.append((time.perf_counter() - wall) * 1000)
        api = client.get(url.replace("/search", "/api/search", 1)).get_json()
        engine_ms = statistics.median(
            client.get(url.replace("/search", "/api/search", 1)).get_json()["elapsed_ms"]
            for _ in range(5)
        )
        rows.append(
            (
                kind,
                api["total"],
                statistics.median(walls),
                percentile(walls, 0.95),
                statistics.median(cpus),
                engine_ms,
            )
        )
    load = os.getloadavg()[0]
    print(
        f"\nsearch page render, {total:,} messages, {args.repeat} runs each (Flask test client, "
        f"whole page with facets and timeline; load average {load:.1f} on {os.cpu_count()} cores)"
    )
    print(
        f"{'page':<28} {'hits':>7} {'median ms':>10} {'p95 ms':>8} {'cpu ms':>8} {'engine ms':>10}"
    )
    for kind, hits, median, p95, cpu, engine_ms in rows:
        print(f"{kind:<28} {hits:>7,} {median:>10.1f} {p95:>8.1f} {cpu:>8.1f} {engine_ms:>10.1f}")
    overall = statistics.median(r[2] for r in rows)
    overall_cpu = statistics.median(r[4] for r in rows)
    verdict = "meets" if overall < TARGET_MS else "misses"
    print(
        f"{'median of medians':<28} {'':>7} {overall:>10.1f} {'':>8} {overall_cpu:>8.1f}   "
        f"({verdict} the {TARGET_MS:.0f} ms target in wall time)"
    )
    print("cpu ms is this process's CPU time per page: the wall time of an idle machine.")
    print("engine ms is Results.elapsed_ms (search + facets); the rest is Flask and Jinja.")
    if args.index is None:
        print()
        time_thread(client, args.messages, args.repeat)


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
