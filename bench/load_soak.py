"""Soak the web app under mixed load while a reindex adds mail: no 5xx, no failed request.

``python -m bench.load_soak [--seconds 60] [--clients 8] [--messages 4000]`` writes a
sample archive (``sample.generator``), indexes part of it, starts ``govmail serve`` (waitress,
127.0.0.1 only) in a child process, and runs ``clients`` threads that mix searches,
facet clicks, message and thread views, JSON API calls and feeds, each on its own
keep-alive connection. A moment in, ``govmail index`` adds the rest of the mail in
another child process. The run stops after ``max_requests`` or ``seconds``, whichever
comes first, and prints one JSON object: request counts by kind and status, failures,
latency percentiles (p50/p95/p99/max), requests per second, and the reindex's outcome.
``tests/hardening/test_load_short.py`` runs the same driver for 10 s; this is the long
run, not a test.
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from bench.command import stop_process
from bench.web_load import free_port, wait_ready

REPO = Path(__file__).resolve().parents[1]
WORDS = (
    "governance", "icann", "multistakeholder", "policy", "internet", "dns", "privacy",
    "capacity", "accountability", "igf", "whois", "registry", "civil society", "transition",
    "cooperation", "human rights", "development", "security", "standards", "access",
)
FIELD_QUERIES = ("date:2010", "date:[2008 to 2012]", "subject:igf", "quoted:governance",
                 "all:policy", "governance OR icann", '"civil society"', "govern*")
# Kind -> weight: what a visitor does most is search, read a message, click a facet.
MIX = {"search": 30, "facet": 20, "message": 20, "thread": 15, "api": 10, "feed": 5}
FACETS = ("author", "list", "year")


def sample_archive(outdir: Path, messages: int, seed: int) -> Path:
    from sample.generator import write_sample

    write_sample(outdir, messages, seed, {"mbox"})
    return outdir / "mbox"


def build_index(workdir: Path, messages: int, seed: int = 8) -> tuple[Path, Path]:
    """Index ``messages`` sample messages; return (index_dir, folder of mail to add later)."""
    from core.config import Settings
    from index.indexer import index_paths

    index_dir = workdir / "index"
    first = sample_archive(workdir / "first", messages, seed)
    later = sample_archive(workdir / "later", max(messages // 4, 1), seed + 1)
    index_paths([first], Settings(index_dir=index_dir, jobs=0), progress=False)
    return index_dir, later


def start_server(index_dir: Path, port: int, threads: int = 8) -> subprocess.Popen[bytes]:
    server = subprocess.Popen(
        [sys.executable, "-m", "govmail.cli", "serve", "--index", str(index_dir),
         "--host", "127.0.0.1", "--port", str(port), "--threads", str(threads)],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        wait_ready(port, server)
    except RuntimeError:
        server.kill()
        raise
    return server


@dataclass(slots=True)
class Tally:
    """Shared by the client threads; every update under the lock."""

    max_requests: int
    deadline: float
    lock: threading.Lock = field(default_factory=threading.Lock)
    sent: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    kinds: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    by_kind: dict[str, list[float]] = field(default_factory=dict)

    def claim(self) -> bool:
        with self.lock:
            if self.sent >= self.max_requests or time.monotonic() >= self.deadline:
                return False
            self.sent += 1
            return True

    def record(self, kind: str, status: int | None, seconds: float, url: str) -> None:
        with self.lock:
            self.kinds[kind] += 1
            self.latencies.append(seconds)
            self.by_kind.setdefault(kind, []).append(seconds)
            self.statuses[str(status)] += 1
            if status is None or status >= 500 or status not in (200,):
                self.failures.append(f"{status} {url}")


class Visitor:
    """One client: a keep-alive connection and what it has seen (ids, facet values)."""

    def __init__(self, port: int, tally: Tally, seed: int) -> None:
        self.port = port
        self.tally = tally
        self.rng = random.Random(seed)
        self.conn: http.client.HTTPConnection | None = None
        self.ids: list[str] = []
        self.threads: list[str] = []
        self.facets: list[tuple[str, str]] = []

    def get(self, kind: str, url: str) -> bytes | None:
        started = time.perf_counter()
        status: int | None = None
        body: bytes | None = None
        try:
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            self.conn.request("GET", url)
            response = self.conn.getresponse()
            body = response.read()
            status = response.status
        except (OSError, http.client.HTTPException) as exc:
            if self.conn is not None:
                self.conn.close()
            self.conn = None
            url = f"{url} ({type(exc).__name__}: {exc})"
        self.tally.record(kind, status, time.perf_counter() - started, url)
        return body if status == 200 else None

    def query(self) -> str:
        return self.rng.choice(WORDS if self.rng.random() < 0.7 else FIELD_QUERIES)

    def harvest(self, body: bytes | None) -> None:
        if not body:
            return
        data = json.loads(body)
        for hit in data.get("hits", [])[:5]:
            self.ids.append(hit["message_id"])
            self.threads.append(hit["thread_id"])
        for name in FACETS:
            for value, _count in [tuple(v)[:2] for v in data.get("facets", {}).get(name, [])][:5]:
                self.facets.append((name, str(value)))
        del self.ids[:-50], self.threads[:-50], self.facets[:-50]

    def step(self) -> None:
        kind = self.rng.choices(list(MIX), weights=list(MIX.values()))[0]
        if kind in ("message", "thread", "facet") and not self.ids:
            kind = "api"
        if kind == "search":
            args = {"q": self.query()}
            if self.rng.random() < 0.2:
                # Paging through everything, newest first: page 2 always exists.
                args = {"q": "", "page": "2"}
            self.get(kind, "/search?" + urlencode(args))
        elif kind == "facet" and self.facets:
            name, value = self.rng.choice(self.facets)
            self.get(kind, "/search?" + urlencode({"q": self.query(), name: value}))
        elif kind == "message":
            self.get(kind, "/message/" + quote(self.rng.choice(self.ids), safe="@"))
        elif kind == "thread":
            self.get(kind, "/thread/" + quote(self.rng.choice(self.threads), safe="@"))
        elif kind == "feed":
            self.get(kind, "/feed.atom?" + urlencode({"q": self.query()}))
        else:
            self.harvest(self.get("api", "/api/search?" + urlencode({"q": self.query()})))

    def run(self) -> None:
        self.harvest(self.get("api", "/api/search?q=governance"))
        while self.tally.claim():
            self.step()
        if self.conn is not None:
            self.conn.close()


def total(port: int) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", "/api/search?size=1")
    data = json.loads(conn.getresponse().read())
    conn.close()
    return int(data["total"])


def p95(values: list[float]) -> float:
    if len(values) < 2:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[94]


def soak(index_dir: Path, later: Path, seconds: float, clients: int = 8,
         max_requests: int = 100_000, reindex_after: float = 1.0) -> dict[str, Any]:
    """Run the mixed load against a fresh server; the figures as one dict."""
    port = free_port()
    server = start_server(index_dir, port)
    reindex: subprocess.Popen[str] | None = None
    try:
        before = total(port)
        tally = Tally(max_requests, time.monotonic() + seconds)
        visitors = [Visitor(port, tally, seed) for seed in range(clients)]
        threads = [threading.Thread(target=v.run, daemon=True) for v in visitors]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        time.sleep(min(reindex_after, seconds / 4))
        reindex_started = time.monotonic()
        reindex = subprocess.Popen(
            [sys.executable, "-m", "govmail.cli", "index", str(later), "--index", str(index_dir),
             "--quiet", "--jobs", "1"],
            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        for thread in threads:
            thread.join(seconds + 60)
        elapsed = time.monotonic() - started
        output, _ = reindex.communicate(timeout=max(seconds, 120))
        reindex_seconds = time.monotonic() - reindex_started
        after = total(port)
    finally:
        if reindex is not None and reindex.poll() is None:
            reindex.kill()
            reindex.wait()
        stop_process(server, timeout=10)
        server_errors = server.stderr.read().decode("utf-8", "replace") if server.stderr else ""
        if server.stderr:
            server.stderr.close()
    latencies = sorted(tally.latencies)
    cuts = statistics.quantiles(latencies, n=100, method="inclusive") if len(latencies) > 1 \
        else [latencies[0]] * 99
    return {
        "clients": clients,
        "seconds": round(elapsed, 2),
        "requests": len(latencies),
        "requests_per_second": round(len(latencies) / elapsed, 1),
        "failed": len(tally.failures),
        "failures": tally.failures[:20],
        "statuses": dict(tally.statuses),
        "kinds": dict(tally.kinds),
        "p50_ms": round(cuts[49] * 1000, 1),
        "p95_ms": round(cuts[94] * 1000, 1),
        "p99_ms": round(cuts[98] * 1000, 1),
        "max_ms": round(latencies[-1] * 1000, 1),
        "p95_ms_by_kind": {kind: round(p95(values) * 1000, 1)
                           for kind, values in sorted(tally.by_kind.items())},
        "messages_before": before,
        "messages_after": after,
        "reindex": {"returncode": reindex.returncode if reindex else None,
                    "seconds": round(reindex_seconds, 2),
                    "output": output.strip().splitlines()[-1:] if output else []},
        "server_log_tracebacks": server_errors.count("Traceback"),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--messages", type=int, default=4000)
    parser.add_argument("--max-requests", type=int, default=100_000)
    parser.add_argument("--workdir", type=Path, default=None,
                        help="Keep the archive and index here (default: a temporary folder).")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="govmail-soak-") as tmp:
        workdir = args.workdir or Path(tmp)
        started = time.monotonic()
        index_dir, later = build_index(workdir, args.messages)
        built = time.monotonic() - started
        figures = soak(index_dir, later, args.seconds, args.clients, args.max_requests)
        figures["index_build_seconds"] = round(built, 1)
        print(json.dumps(figures, indent=2))
    return 0 if figures["failed"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
