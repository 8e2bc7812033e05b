"""Query sets drawn from the corpus, latency statistics, and the search section.

The queries come from the ground truth of the generated corpus (``docs.jsonl``,
written by :mod:`bench.ingest`), never from govmail's own index, so every engine in
the run (govmail, FTS5, tantivy) gets the same strings. One-to-three-word queries draw
term ranks log-uniformly, skipping the most frequent words (as performance-baseline.md
did); phrases are runs of adjacent words of a random message, so each one matches.

The search section opens one :class:`search.engine.Engine` (as the web app does), runs
each query kind ``repeat`` times and reports the median over passes of p50 and p95.
"""

from __future__ import annotations

import json
import math
import random
import re
import statistics
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from backends.whoosh.schema import STOP_WORDS

WORD = re.compile(r"[a-z]{3,}")
# What an analyser splits text into: letters and digits, whatever their length.
TOKEN = re.compile(r"[^\W_]+")
# Words the query languages read as operators, whatever their case in the corpus.
_RESERVED = frozenset({"and", "not", "andnot", "andmaybe"})
# The most frequent words are stopwords or near-stopwords; like the baseline, skip them.
SKIP_TOP = 100
# Enough documents for a stable vocabulary without reading 100k messages.
VOCABULARY_DOCS = 20000


@dataclass(frozen=True, slots=True)
class QuerySet:
    plain: tuple[str, ...]
    phrases: tuple[tuple[str, ...], ...]

    def phrase_strings(self) -> tuple[str, ...]:
        return tuple('"' + " ".join(words) + '"' for words in self.phrases)


@dataclass(frozen=True, slots=True)
class Latency:
    """Milliseconds: median over passes of each pass's p50 and p95, and the overall max.

    ``cpu_*`` are the same statistics of the process's CPU time per query: on a shared VM
    whose load exceeds its cores, wall time also counts waiting for a core; CPU time does not.
    """

    p50: float
    p95: float
    max: float
    count: int
    cpu_p50: float = 0.0
    cpu_p95: float = 0.0

    def to_json(self) -> dict[str, float]:
        return {
            "p50_ms": round(self.p50, 3),
            "p95_ms": round(self.p95, 3),
            "max_ms": round(self.max, 3),
            "count": self.count,
            "cpu_p50_ms": round(self.cpu_p50, 3),
            "cpu_p95_ms": round(self.cpu_p95, 3),
        }


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile (q in 0..100) of a non-empty sequence."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("percentile of no values")
    pos = (len(ordered) - 1) * q / 100
    low = math.floor(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def summarise(passes: Sequence[Sequence[float]], cpu: Sequence[Sequence[float]] = ()) -> Latency:
    """Per-pass p50/p95 first, then their medians: one slow pass on a shared VM moves nothing."""
    passes = [p for p in passes if p]
    cpu = [p for p in cpu if p]
    return Latency(
        p50=statistics.median(percentile(p, 50) for p in passes),
        p95=statistics.median(percentile(p, 95) for p in passes),
        max=max(max(p) for p in passes),
        count=sum(len(p) for p in passes),
        cpu_p50=statistics.median(percentile(p, 50) for p in cpu) if cpu else 0.0,
        cpu_p95=statistics.median(percentile(p, 95) for p in cpu) if cpu else 0.0,
    )


def timed(run: Callable[[str], Any], queries: Sequence[str], repeat: int) -> Latency:
    """Run every query ``repeat`` times (same order each pass); wall and CPU ms per query."""
    walls, cpus = [], []
    for _ in range(max(1, repeat)):
        wall, cpu = [], []
        for query in queries:
            started, used = time.perf_counter(), time.thread_time()
            run(query)
            cpu.append((time.thread_time() - used) * 1000)
            wall.append((time.perf_counter() - started) * 1000)
        walls.append(wall)
        cpus.append(cpu)
    return summarise(walls, cpus)


def iter_docs(docs_path: Path, limit: int | None = None) -> Iterator[dict[str, Any]]:
    with open(docs_path, encoding="utf-8") as lines:
        for n, line in enumerate(lines):
            if limit is not None and n >= limit:
                return
            yield json.loads(line)


def make_queries(
    docs: Iterable[dict[str, Any]], count: int = 300, phrases: int = 100, seed: int = 7
) -> QuerySet:
    """``count`` 1-3-word queries and ``phrases`` 2-3-word phrases from the corpus text."""
    rng = random.Random(seed)
    vocabulary: Counter[str] = Counter()
    texts: list[str] = []
    for doc in docs:
        text = doc.get("original") or ""
        vocabulary.update(WORD.findall(text.lower()))
        if text:
            texts.append(text)
    ranked = [w for w, n in vocabulary.most_common() if n >= 2 and w not in _RESERVED]
    ranked_pool = ranked if len(ranked) <= SKIP_TOP + 10 else ranked[SKIP_TOP:]
    if not ranked_pool:
        raise ValueError("the corpus has no vocabulary to draw queries from")
    plain = []
    for _ in range(count):
        words = []
        for _ in range(rng.randint(1, 3)):
            # Log-uniform over ranks: common and rare words alike, as users type them.
            rank = int(math.exp(rng.uniform(0, math.log(len(ranked_pool))))) - 1
            words.append(ranked_pool[min(rank, len(ranked_pool) - 1)])
        plain.append(" ".join(dict.fromkeys(words)))
    # A query of stop words only ("with") is refused by govmail's parser (QueryError) and
    # would time the error path; dropped after drawing, so the other queries stay the same.
    plain = [q for q in plain if not set(q.split()) <= STOP_WORDS]
    top = set(ranked[:SKIP_TOP])
    found: list[tuple[str, ...]] = []
    attempts = 0
    while len(found) < phrases and attempts < phrases * 50 and texts:
        attempts += 1
        # Every token of the text, short ones and numbers too: a run of WORD matches is a
        # phrase only if nothing stood between its words ("resolution is carefully" must
        # not give "resolution carefully").
        tokens = TOKEN.findall(rng.choice(texts).lower())
        size = rng.randint(2, 3)
        if len(tokens) < size:
            continue
        start = rng.randrange(len(tokens) - size + 1)
        run = tuple(tokens[start : start + size])
        if not all(WORD.fullmatch(w) and w not in STOP_WORDS for w in run):
            continue
        # A phrase of stopwords only ("of the") says nothing about phrase search.
        if any(w in _RESERVED for w in run) or all(w in top for w in run):
            continue
        found.append(run)
    return QuerySet(tuple(plain), tuple(found))


# ---------------------------------------------------------------- the search section

KINDS = ("plain", "phrase", "date_sorted", "faceted", "highlight", "full")


def run_search(settings: Any, queries: QuerySet, repeat: int = 3) -> dict[str, Any]:
    """Latency of every query kind through one Engine, plus hit-count figures."""
    from core.errors import QueryError
    from core.results import SearchRequest
    from search.engine import Engine

    started = time.perf_counter()
    # No results kept: each pass measures the search, not a look-up of the last pass's.
    engine = Engine(settings, results_cached=0)
    engine.search(SearchRequest("", with_facets=False, highlight=False))
    open_ms = (time.perf_counter() - started) * 1000
    # The first faceted search reads the facet columns of every segment: a one-off cost.
    started = time.perf_counter()
    engine.search(SearchRequest(""))
    first_facets_ms = (time.perf_counter() - started) * 1000

    errors: Counter[str] = Counter()
    totals: list[int] = []

    def request_for(kind: str, text: str) -> SearchRequest:
        if kind in ("plain", "phrase"):
            return SearchRequest(text, with_facets=False, highlight=False)
        if kind == "date_sorted":
            return SearchRequest(text, sort="-date", with_facets=False, highlight=False)
        if kind == "faceted":
            return SearchRequest(text, with_facets=True, highlight=False)
        if kind == "highlight":
            return SearchRequest(text, with_facets=False, highlight=True, page_size=20)
        return SearchRequest(text, with_facets=True, highlight=True, page_size=20)

    figures: dict[str, Any] = {
        "open_ms": round(open_ms, 1),
        "first_facets_ms": round(first_facets_ms, 1),
    }
    for kind in KINDS:
        texts = queries.phrase_strings() if kind == "phrase" else queries.plain

        def run(text: str, kind: str = kind) -> None:
            try:
                results = engine.search(request_for(kind, text))
            except QueryError:
                errors[kind] += 1
                return
            if kind == "plain":
                totals.append(results.total)

        figures[kind] = timed(run, texts, repeat).to_json()
    plain_totals = totals[: len(queries.plain)]
    figures["plain_hits_median"] = statistics.median(plain_totals) if plain_totals else 0
    figures["plain_hits_p95"] = round(percentile(plain_totals, 95)) if plain_totals else 0
    figures["plain_zero_hit_share"] = (
        round(sum(1 for t in plain_totals if t == 0) / len(plain_totals), 3) if plain_totals else 0
    )
    figures["query_errors"] = dict(errors)
    engine.close()
    return figures
