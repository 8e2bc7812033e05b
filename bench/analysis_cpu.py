"""``python -m bench.analysis_cpu``: what the text analysis costs, first analyzer vs analysis/.

On one parsed archive (the cached sample archive of ``bench.parse_cpu``), in one process:

- building the documents (``to_document``: the language detection is the new part);
- indexing them with one writer process (``procs=1``), CPU ms a message (the least of
  ``--repeat`` interleaved passes):
  the first analyzer (Porter stems in the text fields) against the exact forms with
  positions plus the stem sub-fields of ``analysis/``;
- index bytes per message after the commit;
- plain-query latency (1-3 words drawn from the archive's vocabulary, log-uniform ranks
  past the 100 most frequent): CPU p50/p95 per query, median of three passes.
"""

from __future__ import annotations

import argparse
import math
import random
import shutil
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from analysis.lang import detect
from analysis.text import tokenize
from backends.whoosh.store import WhooshStore
from bench.parse_cpu import parse_pass, read_all, synthetic_archive
from core.config import Settings
from core.records import Message
from core.results import SearchRequest
from index.document import Identity, to_document
from search.engine import Engine


def parsed(messages: int, seed: int) -> list[Message]:
    settings = Settings()
    records, _ = parse_pass(read_all(synthetic_archive(messages, seed), settings), settings)
    return [r for r in records if isinstance(r, Message)]


def documents(messages: list[Message]) -> tuple[list[dict[str, Any]], float, float]:
    clock = time.process_time
    started = clock()
    docs = [to_document(m, Identity(name=m.author.name or m.author.email or "(unknown)",
                                    email=m.author.email)) for m in messages]
    spent = clock() - started
    started = clock()
    for m in messages:
        detect(f"{m.subject}\n{m.original_text}")
    return docs, spent, clock() - started


def index(index_dir: Path, docs: list[dict[str, Any]], legacy: bool) -> tuple[float, int]:
    clock = time.process_time
    started = clock()
    store = WhooshStore(index_dir, procs=1, legacy=legacy)
    try:
        for first in range(0, len(docs), 5000):
            writer = store.writer(5000)
            for doc in docs[first : first + 5000]:
                writer.add(doc)
            writer.commit()
    finally:
        store.close()
    size = sum(p.stat().st_size for p in index_dir.iterdir() if p.is_file())
    return clock() - started, size


def plain_queries(messages: list[Message], count: int, seed: int) -> list[str]:
    counts = Counter(t.text for m in messages[:5000] for t in tokenize(m.original_text)
                     if t.kind == "word" and t.text.isalpha() and len(t.text) > 2)
    ranked = [w for w, _ in counts.most_common()][100:]
    rng = random.Random(seed)
    found = []
    for _ in range(count):
        words = [ranked[min(len(ranked) - 1, int(math.exp(rng.uniform(0, math.log(len(ranked))))))]
                 for _ in range(rng.choice((1, 1, 2, 3)))]
        found.append(" ".join(words))
    return found


def latency(engine: Engine, queries: list[str], passes: int = 3) -> tuple[float, float]:
    clock = time.process_time
    p50s, p95s = [], []
    for _ in range(passes):
        spent = []
        for query in queries:
            started = clock()
            engine.search(SearchRequest(query=query, page_size=20))
            spent.append((clock() - started) * 1000)
        spent.sort()
        p50s.append(spent[len(spent) // 2])
        p95s.append(spent[int(len(spent) * 0.95)])
    return statistics.median(p50s), statistics.median(p95s)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=1,
                        help="index passes per analyzer, interleaved; the least CPU is kept")
    args = parser.parse_args(argv)
    messages = parsed(args.messages, args.seed)
    docs, doc_cpu, detect_cpu = documents(messages)
    queries = plain_queries(messages, args.queries, args.seed)
    n = len(docs)
    print(f"{n} messages; to_document {doc_cpu / n * 1000:.2f} ms CPU a message, of which "
          f"language detection {detect_cpu / n * 1000:.2f} ms")
    rows = {}
    configs = (("before", True), ("after", False))
    with tempfile.TemporaryDirectory(prefix="govmail-analysis-") as tmp:
        # Interleaved passes, the least CPU of each kept: on a shared machine a neighbour's
        # load inflates one pass's CPU time (caches, hyperthreads), never deflates it.
        cpus: dict[str, list[float]] = {name: [] for name, _ in configs}
        sizes: dict[str, int] = {}
        for attempt in range(args.repeat):
            for name, legacy in configs:
                target = Path(tmp) / (name if attempt == args.repeat - 1 else f"{name}-{attempt}")
                cpu, sizes[name] = index(target, docs, legacy)
                cpus[name].append(cpu)
                if target.name != name:
                    shutil.rmtree(target)
        for name, _legacy in configs:
            cpu, size = min(cpus[name]), sizes[name]
            engine = Engine(Settings(index_dir=Path(tmp) / name))
            engine.search(SearchRequest(query=queries[0]))  # warm the caches
            p50, p95 = latency(engine, queries)
            engine.reader.close()
            rows[name] = (cpu / n * 1000, size / n, p50, p95)
            print(f"{name:<7} index {rows[name][0]:.2f} ms CPU a message, "
                  f"{rows[name][1]:,.0f} bytes a message; plain query CPU p50 {p50:.2f} ms, "
                  f"p95 {p95:.2f} ms")
    b, a = rows["before"], rows["after"]
    print(f"change  index CPU {a[0] / b[0] - 1:+.0%}, size {a[1] / b[1] - 1:+.0%}, "
          f"query p50 {a[2] / b[2] - 1:+.0%}, p95 {a[3] / b[3] - 1:+.0%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
