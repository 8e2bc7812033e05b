"""Plain-query CPU of any govmail tree on its own index, over one fixed query list.

``python -m bench.plain_cpu --write-queries Q.json --corpus DOCS.jsonl`` writes the bench's
plain queries (``bench.queries.make_queries``, as ``python -m bench`` draws them) to a file;
then, for each tree to compare (an older checkout among them)::

    PYTHONPATH=<tree> python <this repo>/bench/plain_cpu.py INDEX --queries Q.json

runs them through that tree's ``Engine.search`` (no facets, no highlights, no results
cache), ``--rounds`` passes, and prints each pass's p50 and p95 CPU ms a query and the hit
total. Run as a file, it imports only the engine of the tree on PYTHONPATH, so trees whose
own bench draws other queries are timed on the same ones. Run the trees in turn, several
times: on a shared machine one pass says little.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path


def write_queries(corpus: Path, out: Path, count: int, seed: int) -> None:
    from bench.queries import iter_docs, make_queries

    queries = make_queries(iter_docs(corpus, limit=20000), count=count, seed=seed)
    out.write_text(json.dumps({"plain": list(queries.plain)}), encoding="utf-8")
    print(f"wrote {len(queries.plain)} plain queries to {out}")


def run(index: Path, queries: list[str], rounds: int) -> None:
    from core.config import Settings
    from core.results import SearchRequest
    from search.engine import Engine

    try:
        engine = Engine(Settings(index_dir=index), results_cached=0)
    except TypeError:  # a tree from before the results cache
        engine = Engine(Settings(index_dir=index))
    engine.search(SearchRequest("", with_facets=False, highlight=False))
    for number in range(rounds):
        spent: list[float] = []
        total = 0
        for text in queries:
            started = time.thread_time()
            total += engine.search(SearchRequest(text, with_facets=False, highlight=False)).total
            spent.append((time.thread_time() - started) * 1000)
        spent.sort()
        p95 = spent[min(len(spent) - 1, int(len(spent) * 0.95))]
        print(f"pass {number + 1}: p50 {statistics.median(spent):.2f} ms, p95 {p95:.2f} ms "
              f"CPU a query; {total} hits over {len(queries)} queries", flush=True)
    engine.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("index", type=Path, nargs="?")
    parser.add_argument("--queries", type=Path, help="the query file to time")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--write-queries", type=Path, help="write the query file and stop")
    parser.add_argument("--corpus", type=Path, help="docs.jsonl of the bench's corpus")
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if args.write_queries:
        if not args.corpus:
            parser.error("--write-queries needs --corpus")
        write_queries(args.corpus, args.write_queries, args.count, args.seed)
        return
    if not args.index or not args.queries:
        parser.error("give INDEX and --queries")
    run(args.index, json.loads(args.queries.read_text(encoding="utf-8"))["plain"], args.rounds)


if __name__ == "__main__":
    main()
