"""``python -m bench.cli``: `govmail search Q --format json` as a user runs it, whole process,
against ``notmuch search --limit=20 --format=json Q`` on the same Maildir (issue 19).

Three ways of asking each seeded query, interleaved (each query goes to every way before
the next, so load on a shared machine falls on all alike), a new process every time:

- ``in process``: ``python -m govmail.cli search ...`` (what runs when no resident answers:
  Python, click, numpy, Whoosh, the index opened);
- ``resident``: ``python -m govmail search ...`` (the ``govmail`` command, ``govmail/entry.py``)
  while a ``govmail serve`` started here answers on the index's socket;
- ``notmuch``: the peer, when installed.

Each row: p50 and p95 wall ms, median CPU ms of the process, the ratio to notmuch's p50,
and the median hit count (the resident's output is also compared with the in-process
output, query by query: a fast wrong answer would not count). ``--breakdown`` first times
one in-process search's steps (imports, open, query, format) with ``perf_counter``.

Reuses ``bench.peers``'s corpus and indexes under ``$GOVMAIL_BENCH_DIR`` (``peers-N-SEED``)
when they are there, and builds only what is missing.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.command import add_output_arguments, run_and_write, stop_process
from bench.peers import LIMIT, Govmail, Notmuch, _run
from bench.queries import iter_docs, make_queries, percentile

BREAKDOWN_CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
import click  # noqa
t1 = time.perf_counter()
from core import config
import govmail.output as output
from search.engine import Engine
from core.results import SearchRequest
t2 = time.perf_counter()
settings = config.load(None)
engine = Engine(settings)
t3 = time.perf_counter()
results = engine.search(SearchRequest(sys.argv[1], page_size=20, with_facets=False))
t4 = time.perf_counter()
text = json.dumps(results.to_json(), ensure_ascii=False, indent=2)
t5 = time.perf_counter()
print(json.dumps({"import click": t1 - t0, "import engine + output": t2 - t1,
                  "open index": t3 - t2, "query": t4 - t3, "format json": t5 - t4}))
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _without_timing(text: str) -> Any:
    found = json.loads(text) if text.strip() else {}
    found.pop("elapsed_ms", None)
    return found


def _prepare(workdir: Path, messages: int, seed: int, say: Any) -> tuple[Path, Path]:
    maildir, docs = workdir / "archive", workdir / "docs.jsonl"
    if not (workdir / "done").exists():
        from bench.ingest import _write_docs
        from sample.generator import write_sample

        workdir.mkdir(parents=True, exist_ok=True)
        say(f"writing {messages} messages to {maildir}")
        write_sample(maildir, messages, seed, {"maildir"})
        _write_docs(docs, messages, seed)
        (workdir / "done").write_text("ok\n")
    return maildir, docs


class _Resident:
    """`govmail serve` on the bench index, stopped by its PID."""

    def __init__(self, index: Path, env: dict[str, str]) -> None:
        self.socket = index / ".govmail.sock"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "govmail.cli", "serve", "--index", str(index), "--port",
             str(_free_port()), "--threads", "2"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 600  # the deep check at start reads every byte
        # Answering, not merely there: a server killed earlier leaves its socket file.
        while not self._answers():
            if self.process.poll() is not None:
                raise RuntimeError(f"govmail serve exited: {self.process.stderr.read()[:300]}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("govmail serve never opened its socket")
            time.sleep(0.2)

    def _answers(self) -> bool:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
            probe.settimeout(1)
            try:
                probe.connect(str(self.socket))
            except OSError:
                return False
        return True

    def stop(self) -> None:
        stop_process(self.process, timeout=30)


def _stats(walls: list[float], cpus: list[float], hits: list[int]) -> dict[str, float]:
    return {"p50": round(statistics.median(walls), 1),
            "p95": round(percentile(walls, 95), 1),
            "cpu_p50": round(statistics.median(cpus), 1),
            "hits_median": statistics.median(hits) if hits else 0}


def run(args: argparse.Namespace, say: Any = print) -> dict[str, Any]:
    workdir = Path(args.workdir) / f"peers-{args.messages}-{args.seed}"
    maildir, docs = _prepare(workdir, args.messages, args.seed, say)
    govmail = Govmail(workdir, maildir)
    env = govmail.env
    if not (govmail.index / "checksums.json").exists():
        say("indexing with govmail")
        govmail.build()
    notmuch: Notmuch | None = Notmuch(workdir, maildir)
    missing = notmuch.available()
    if missing:
        say(f"skipped notmuch: {missing}")
        notmuch = None
    elif not notmuch.config.exists() or not any(notmuch.database.glob("*")):
        say("indexing with notmuch")
        notmuch.build()
    queries = list(make_queries(iter_docs(docs), count=args.queries, phrases=0,
                                seed=args.seed).plain)
    figures: dict[str, Any] = {"messages": args.messages, "seed": args.seed,
                               "queries": len(queries), "repeat": args.repeat,
                               "load_before": os.getloadavg()}
    if args.breakdown:
        steps: list[dict[str, float]] = []
        for query in queries[: min(10, len(queries))]:
            out = subprocess.run([sys.executable, "-c", BREAKDOWN_CHILD, query], env=env,
                                 capture_output=True, text=True, timeout=600, check=True)
            steps.append(json.loads(out.stdout))
        figures["breakdown_ms"] = {k: round(statistics.median(s[k] for s in steps) * 1000, 1)
                                   for k in steps[0]}
        say("in process, where the time goes (median of 10, ms): " + ", ".join(
            f"{k} {v}" for k, v in figures["breakdown_ms"].items()))

    argv = ["search", "--format", "json", "--limit", str(LIMIT)]
    walls: dict[str, list[float]] = {"in process": [], "resident": [], "notmuch": []}
    cpus: dict[str, list[float]] = {k: [] for k in walls}
    hits: dict[str, list[int]] = {k: [] for k in walls}
    differ: list[str] = []
    resident = _Resident(govmail.index, env)
    try:
        for _ in range(args.repeat):
            for query in queries:
                wall, cpu, slow = _run([sys.executable, "-m", "govmail.cli", *argv, query], env,
                                       answers=(0, 1))
                walls["in process"].append(wall * 1000)
                cpus["in process"].append(cpu * 1000)
                hits["in process"].append(int(_without_timing(slow).get("total", 0)))
                wall, cpu, fast = _run([sys.executable, "-m", "govmail", *argv, query], env,
                                       answers=(0, 1))
                walls["resident"].append(wall * 1000)
                cpus["resident"].append(cpu * 1000)
                hits["resident"].append(int(_without_timing(fast).get("total", 0)))
                if _without_timing(fast) != _without_timing(slow):
                    differ.append(query)
                if notmuch is not None:
                    wall, cpu, _ = _run(["notmuch", "search", "--format=json",
                                         f"--limit={LIMIT}", query], notmuch.env)
                    walls["notmuch"].append(wall * 1000)
                    cpus["notmuch"].append(cpu * 1000)
                    _, _, counted = _run(["notmuch", "count", query], notmuch.env)
                    hits["notmuch"].append(int(counted.strip() or 0))
    finally:
        resident.stop()
    figures["load_after"] = os.getloadavg()
    figures["paths"] = {k: _stats(walls[k], cpus[k], hits[k]) for k in walls if walls[k]}
    figures["resident_differs"] = differ
    base = figures["paths"].get("notmuch", {}).get("p50")
    lines = [f"{args.messages} messages, seed {args.seed}, {len(queries)} queries x "
             f"{args.repeat}, interleaved; load {figures['load_before'][0]:.2f} before, "
             f"{figures['load_after'][0]:.2f} after",
             "path                                   | p50 ms | p95 ms | CPU p50 ms | "
             "p50 / notmuch | hits (median)",
             "---------------------------------------+--------+--------+------------+-"
             "--------------+--------------"]
    names = {"in process": "govmail search --format json (in process)",
             "resident": "govmail search --format json (resident)",
             "notmuch": f"notmuch search --limit={LIMIT} --format=json"}
    for key, row in figures["paths"].items():
        ratio = f"{row['p50'] / base:.2f}x" if base else "n/a"
        lines.append(f"{names[key]:<39}| {row['p50']:>6} | {row['p95']:>6} | "
                     f"{row['cpu_p50']:>10} | {ratio:>13} | {row['hits_median']}")
    lines.append(f"resident output equal to in-process output: "
                 f"{len(queries) * args.repeat - len(differ)} of {len(queries) * args.repeat}")
    say("\n".join(lines))
    figures["table"] = lines
    return figures


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.cli",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--queries", type=int, default=40)
    parser.add_argument("--repeat", type=int, default=1, help="passes over the queries")
    parser.add_argument("--breakdown", action="store_true",
                        help="first time one in-process search's steps")
    add_output_arguments(parser)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    return run_and_write(parse_args, run, argv)


if __name__ == "__main__":
    raise SystemExit(main())
