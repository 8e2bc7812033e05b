"""``python -m bench.web_peers``: govmail's search page against public-inbox-httpd's.

Both serve the same generated archive (``govmail sample --messages N --seed S``, its mbox
files): govmail from its own index under ``govmail.server.create`` (what ``govmail serve``
runs), public-inbox-httpd from a v2 inbox named ``inbox`` that this module makes with
``public-inbox-init`` and fills from the same mbox files through public-inbox's own
importer (``PublicInbox::InboxWritable::import_mbox``, which indexes into Xapian as it
goes). Both servers bind 127.0.0.1 only and are stopped by their PIDs.

The load is closed-loop: ``--clients`` clients, one keep-alive connection each, asking
``/search?q=Q`` of govmail or ``/inbox/?q=Q`` of public-inbox for the same seeded queries
(``bench.queries.make_queries`` over the generator's ground truth) in the same order;
an answer is a 200 or, from public-inbox, the 404 it gives a search that finds nothing.
The servers take turns in short rounds (``--round`` seconds, govmail first, then
public-inbox over the same queries from the same offset), until ``--seconds`` of load
each, so load from the rest of a shared machine falls on both alike. Printed: requests
per second, p50/p95 latency, the server's CPU per request (its whole process tree, from
psutil) and govmail / public-inbox.

With the default 40 queries the same query comes back every 40 requests, as the first
pages of popular searches do; ``--queries 5000`` makes (nearly) every request a new
search, the worst case for govmail's caches.

    python -m bench.web_peers [--messages 20000] [--seed 11] [--seconds 20] [--queries 40]

It installs nothing: without ``public-inbox-httpd`` on PATH it measures govmail alone.
"""

from __future__ import annotations

import argparse
import http.client
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from bench.command import add_output_arguments, run_and_write, stop_process
from bench.queries import iter_docs, make_queries, percentile
from bench.web_load import REPO, free_port

CLIENTS = 4
INBOX = "inbox"
# Fills the inbox from mbox files with public-inbox's own importer (there is no command
# for it in 1.9: -mda takes one message a process, -watch only new mail).
IMPORT_PL = r"""
use strict; use warnings;
use PublicInbox::Config; use PublicInbox::InboxWritable;
my ($name, @mboxes) = @ARGV;
my $ibx = PublicInbox::Config->new->lookup_name($name) or die "no inbox $name\n";
$ibx = PublicInbox::InboxWritable->new($ibx);
for my $path (@mboxes) {
    open my $fh, '<', $path or die "$path: $!\n";
    $ibx->import_mbox($fh, 'mboxrd');
}
"""


class Target:
    """One server: how to start it, the page to ask, and its process tree's CPU."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], path: str) -> None:
        self.name, self.argv, self.env, self.path = name, argv, env, path
        self.port = free_port()
        self.argv = [a.replace("{port}", str(self.port)) for a in argv]
        self.process: subprocess.Popen[bytes] | None = None
        self.latencies: list[float] = []
        self.statuses: Counter[int] = Counter()
        self.seconds = 0.0
        self.cpu = 0.0

    def start(self, timeout: float = 120.0) -> None:
        # A file, not a pipe: a server logging to stderr would block on a full pipe.
        self.log = tempfile.TemporaryFile()
        self.process = subprocess.Popen(self.argv, env=self.env, cwd=REPO,
                                        stdout=subprocess.DEVNULL, stderr=self.log)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.log.seek(0)
                error = self.log.read().decode(errors="replace")
                raise RuntimeError(f"{self.name} exited {self.process.returncode}: {error[-500:]}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                conn.request("GET", self.url("warm"))
                conn.getresponse().read()
                conn.close()
                return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"{self.name} not answering on port {self.port} after {timeout:.0f} s")

    def url(self, query: str) -> str:
        return self.path + "?" + urlencode({"q": query})

    def tree_cpu(self) -> float:
        """CPU seconds of the server and every process under it (public-inbox's workers)."""
        import psutil

        assert self.process is not None
        total = 0.0
        try:
            root = psutil.Process(self.process.pid)
            for proc in [root, *root.children(recursive=True)]:
                try:
                    times = proc.cpu_times()
                    total += times.user + times.system
                except psutil.NoSuchProcess:
                    continue
        except psutil.NoSuchProcess:
            pass
        return total

    def stop(self) -> None:
        if self.process is None:
            return
        import psutil

        try:
            children = psutil.Process(self.process.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            children = []
        stop_process(self.process, timeout=15)
        # Workers that outlived their master (by their PIDs, recorded above).
        for child in children:
            try:
                child.wait(timeout=5)
            except psutil.TimeoutExpired:
                child.kill()
            except psutil.NoSuchProcess:
                pass
        self.log.close()

    def figures(self) -> dict[str, Any]:
        # Answered: public-inbox says 404 for a search that finds nothing, govmail 200.
        ok = self.statuses[200] + self.statuses[404]
        return {
            "requests": sum(self.statuses.values()),
            "requests_per_s": round(ok / self.seconds, 1) if self.seconds else 0.0,
            "p50_ms": round(percentile(self.latencies, 50), 1) if self.latencies else 0.0,
            "p95_ms": round(percentile(self.latencies, 95), 1) if self.latencies else 0.0,
            "cpu_ms_per_request": round(self.cpu * 1000 / ok, 2) if ok else 0.0,
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
        }


def load_round(target: Target, queries: Sequence[str], offset: int, seconds: float,
               clients: int) -> int:
    """``clients`` clients on ``target`` for ``seconds``; returns the queries used."""
    lock = threading.Lock()
    issued = 0
    deadline = time.monotonic() + seconds

    def take() -> int | None:
        nonlocal issued
        with lock:
            if time.monotonic() >= deadline:
                return None
            issued += 1
            return offset + issued - 1

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", target.port, timeout=60)
        while (n := take()) is not None:
            started = time.perf_counter()
            try:
                conn.request("GET", target.url(queries[n % len(queries)]))
                response = conn.getresponse()
                response.read()
                status = response.status
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", target.port, timeout=60)
                status = 0
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                target.statuses[status] += 1
                if status in (200, 404):
                    target.latencies.append(elapsed)
        conn.close()

    cpu = target.tree_cpu()
    started = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=seconds + 120)
    target.seconds += time.perf_counter() - started
    target.cpu += target.tree_cpu() - cpu
    return issued


def build(root: Path, messages: int, seed: int, say: Any) -> dict[str, Path]:
    """The archive, govmail's index and the public-inbox inbox under ``root`` (kept)."""
    archive, index, pi = root / "archive", root / "index", root / "pi"
    docs = root / "docs.jsonl"
    env = {**os.environ, "PYTHONPATH": str(REPO), "GOVMAIL_INDEX": str(index)}
    govmail = [sys.executable, "-m", "govmail.cli"]
    if not (root / "archive.done").exists():
        from bench.ingest import _write_docs

        shutil.rmtree(archive, ignore_errors=True)
        root.mkdir(parents=True, exist_ok=True)
        subprocess.run([*govmail, "sample", "--messages", str(messages), "--seed", str(seed),
                        "--format", "mbox", str(archive)], env=env, check=True, timeout=3600)
        _write_docs(docs, messages, seed)
        (root / "archive.done").write_text("ok\n")
    mboxes = sorted(str(p) for p in (archive / "mbox").glob("*.mbox"))
    if not (root / "index.done").exists():
        shutil.rmtree(index, ignore_errors=True)
        started = time.perf_counter()
        subprocess.run([*govmail, "--quiet", "index", *mboxes], env=env, check=True,
                       timeout=7200)
        say(f"govmail indexed in {time.perf_counter() - started:.0f} s")
        (root / "index.done").write_text("ok\n")
    pi_env = {**os.environ, "PI_CONFIG": str(pi / "config"), "HOME": str(pi)}
    if shutil.which("public-inbox-init") and not (root / "pi.done").exists():
        shutil.rmtree(pi, ignore_errors=True)
        pi.mkdir(parents=True)
        subprocess.run(["public-inbox-init", "-V2", INBOX, str(pi / INBOX),
                        f"http://127.0.0.1/{INBOX}", "bench@example.invalid"],
                       env=pi_env, check=True, timeout=600)
        script = pi / "import.pl"
        script.write_text(IMPORT_PL)
        started = time.perf_counter()
        subprocess.run(["perl", str(script), INBOX, *mboxes], env=pi_env, check=True,
                       timeout=7200, stdout=subprocess.DEVNULL)
        say(f"public-inbox imported and indexed in {time.perf_counter() - started:.0f} s")
        (root / "pi.done").write_text("ok\n")
    return {"docs": docs, "index": index, "pi_config": pi / "config"}


GOVMAIL_SERVE = r"""
import sys
from pathlib import Path
from core.config import Settings
from govmail import server
from web import create_app
index, port, threads = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
server.create(create_app(Settings(index_dir=index)), "127.0.0.1", port, threads).run()
"""


def run(args: argparse.Namespace, say: Any = print) -> dict[str, Any]:
    root = Path(args.dir) if args.dir else (
        Path(args.workdir) / f"web-peers-{args.messages}-{args.seed}")
    paths = build(root, args.messages, args.seed, say)
    queries = list(make_queries(iter_docs(paths["docs"]), count=args.queries, phrases=0,
                                seed=args.seed).plain)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    targets = [Target("govmail", [sys.executable, "-c", GOVMAIL_SERVE, str(paths["index"]),
                                  "{port}", str(args.threads)], env, "/search")]
    if shutil.which("public-inbox-httpd") and paths["pi_config"].exists():
        pi_env = {**os.environ, "PI_CONFIG": str(paths["pi_config"]),
                  "HOME": str(paths["pi_config"].parent)}
        targets.append(Target("public-inbox-httpd",
                              ["public-inbox-httpd", "-W", str(args.pi_workers),
                               "-l", "http://127.0.0.1:{port}"], pi_env, f"/{INBOX}/"))
    else:
        say("skipped public-inbox-httpd: not installed (Debian: apt install public-inbox)")
    try:
        for target in targets:
            target.start()
            # One pass over the queries' first few: templates compiled, files in the cache.
            load_round(target, queries, 0, 1.0, 1)
            target.latencies.clear()
            target.statuses.clear()
            target.seconds = target.cpu = 0.0
        offset = 0
        while min(t.seconds for t in targets) < args.seconds:
            used = 0
            for target in targets:
                used = load_round(target, queries, offset, args.round, args.clients)
            offset += used
    finally:
        for target in targets:
            target.stop()
    figures = {t.name: t.figures() for t in targets}
    load = os.getloadavg()
    say(f"\nsearch page, {args.messages:,} messages (seed {args.seed}), {args.clients} clients, "
        f"{len(queries)} queries, {args.seconds:.0f} s each in {args.round:.0f} s rounds; "
        f"govmail threads {args.threads}, public-inbox workers {args.pi_workers}; "
        f"load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} on {os.cpu_count()} cores")
    say(f"{'server':<20} {'requests':>8} {'req/s':>7} {'p50 ms':>7} {'p95 ms':>7} "
        f"{'CPU ms/req':>10}  statuses")
    for name, f in figures.items():
        say(f"{name:<20} {f['requests']:>8} {f['requests_per_s']:>7} {f['p50_ms']:>7} "
            f"{f['p95_ms']:>7} {f['cpu_ms_per_request']:>10}  {f['statuses']}")
    if len(figures) == 2:
        mine, theirs = figures["govmail"], figures["public-inbox-httpd"]
        ratio = {key: round(mine[key] / theirs[key], 2) if theirs[key] else None
                 for key in ("requests_per_s", "p50_ms", "p95_ms", "cpu_ms_per_request")}
        figures["ratio"] = ratio
        say(f"{'govmail / peer':<20} {'':>8} {ratio['requests_per_s']:>6}x "
            f"{ratio['p50_ms']:>6}x {ratio['p95_ms']:>6}x {ratio['cpu_ms_per_request']:>9}x")
    return figures


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.web_peers",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--queries", type=int, default=40, help="distinct seeded queries")
    parser.add_argument("--clients", type=int, default=CLIENTS)
    parser.add_argument("--seconds", type=float, default=20.0, help="load on each server")
    parser.add_argument("--round", type=float, default=5.0, help="seconds of one turn")
    parser.add_argument("--threads", type=int, default=CLIENTS, help="govmail's waitress threads")
    parser.add_argument("--pi-workers", type=int, default=1,
                        help="public-inbox-httpd -W (its default: 1)")
    add_output_arguments(parser)
    parser.add_argument("--dir", help="the archive, index and inbox here instead of under "
                                      "--workdir (made when absent, reused when there)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    return run_and_write(parse_args, run, argv)


if __name__ == "__main__":
    raise SystemExit(main())
