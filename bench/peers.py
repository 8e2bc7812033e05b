"""``python -m bench.peers``: govmail side by side with the tools researchers use today.

notmuch, mu (maildir-utils) and notmuch2 (notmuch's Python bindings) index the same
generated Maildir as govmail and answer the same seeded queries, interleaved (each query
goes to every engine before the next query), so load on a shared machine falls on all of
them alike. It installs nothing: each peer that is absent is skipped with a note
(``bench/README.md`` says how to install them from Debian).

Paths measured, as issue 19's table has them:

- whole process: ``govmail search Q --format json`` against ``notmuch search --limit=20 Q``
  and ``mu find --maxnum=20 Q``: a new process a query, wall time;
- in process: govmail's Engine plain, and with facets and snippets (what the page asks),
  against notmuch2's plain search loading 20 results (a child ``/usr/bin/python3``: the
  Debian bindings are built for the system interpreter);
- phrases (truly adjacent words), whole process, govmail against notmuch;
- indexing: CPU per message and index bytes per message.

Each row prints both medians and the ratio govmail / peer, plus the median hit counts as
a sanity check that the engines answer the same question.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bench.command import add_output_arguments, run_and_write
from bench.ingest import _dir_bytes, _write_docs
from bench.queries import iter_docs, make_queries, percentile

LIMIT = 20
SYSTEM_PYTHON = "/usr/bin/python3"

NOTMUCH2_CHILD = r"""
import json, sys, time
import notmuch2
path, config, limit = sys.argv[1], sys.argv[2], int(sys.argv[3])
queries = json.loads(sys.stdin.read())
db = notmuch2.Database(path, config=config)
out = []
for q in queries:
    started = time.perf_counter()
    hits = 0
    for n, message in enumerate(db.messages(q)):
        if n >= limit:
            break
        message.header("subject")
        hits += 1
    total = db.count_messages(q)
    out.append([(time.perf_counter() - started) * 1000, total])
print(json.dumps(out))
"""


def _cpu_of_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run(argv: Sequence[str], env: dict[str, str] | None = None, stdin: str | None = None,
         answers: tuple[int, ...] = (0,)) -> tuple[float, float, str]:
    """(wall s, CPU s, stdout) of one child process; raises on a status not in ``answers``
    (a search that finds nothing is an answer: govmail exits 1, mu 4)."""
    cpu = _cpu_of_children()
    started = time.perf_counter()
    done = subprocess.run(list(argv), env=env, input=stdin, capture_output=True, text=True,
                          timeout=3600, check=False)
    wall = time.perf_counter() - started
    if done.returncode not in answers:
        raise RuntimeError(f"{argv[0]} exited {done.returncode}: {done.stderr.strip()[:300]}")
    return wall, _cpu_of_children() - cpu, done.stdout


class Peer:
    """One engine: how to build its index and how to ask it one query in a new process."""

    name = ""

    def __init__(self, workdir: Path, maildir: Path) -> None:
        self.workdir, self.maildir = workdir, maildir

    def available(self) -> str | None:
        """None, or why this engine cannot run here."""
        return None

    def build(self) -> tuple[float, float]:
        raise NotImplementedError

    def index_bytes(self) -> int:
        raise NotImplementedError

    def search(self, query: str, phrase: bool) -> tuple[float, int]:
        """(wall ms, total hits) of one whole-process query asking for the first 20."""
        raise NotImplementedError


class Govmail(Peer):
    name = "govmail"

    def __init__(self, workdir: Path, maildir: Path) -> None:
        super().__init__(workdir, maildir)
        self.index = workdir / "govmail-index"
        self.env = {**os.environ, "GOVMAIL_INDEX": str(self.index)}
        self.command = [sys.executable, "-m", "govmail.cli"]
        console = Path(sys.executable).with_name("govmail")
        if console.exists():
            # What a user types: the console script, not `python -m`.
            self.command = [str(console)]

    def build(self) -> tuple[float, float]:
        shutil.rmtree(self.index, ignore_errors=True)
        wall, cpu, _ = _run([*self.command, "--quiet", "index", str(self.maildir)], self.env)
        return wall, cpu

    def index_bytes(self) -> int:
        return _dir_bytes(self.index)

    def search(self, query: str, phrase: bool) -> tuple[float, int]:
        text = f'"{query}"' if phrase else query
        wall, _, out = _run([*self.command, "search", text, "--format", "json",
                             "--limit", str(LIMIT)], self.env, answers=(0, 1))
        return wall * 1000, int(json.loads(out).get("total", 0)) if out.strip() else 0


class Notmuch(Peer):
    name = "notmuch"

    def __init__(self, workdir: Path, maildir: Path) -> None:
        super().__init__(workdir, maildir)
        self.database = workdir / "notmuch-db"
        self.config = workdir / "notmuch-config"
        self.env = {**os.environ, "NOTMUCH_CONFIG": str(self.config)}

    def available(self) -> str | None:
        return None if shutil.which("notmuch") else "notmuch is not installed"

    def build(self) -> tuple[float, float]:
        shutil.rmtree(self.database, ignore_errors=True)
        self.database.mkdir(parents=True)
        # The database outside the mail root, so govmail never reads notmuch's files.
        self.config.write_text(
            f"[database]\npath={self.database}\nmail_root={self.maildir}\n"
            "[user]\nname=bench\nprimary_email=bench@example.org\n"
            "[new]\ntags=\nignore=\n[search]\nexclude_tags=\n"
            "[maildir]\nsynchronize_flags=false\n"
        )
        wall, cpu, _ = _run(["notmuch", "new", "--quiet"], self.env)
        return wall, cpu

    def index_bytes(self) -> int:
        return _dir_bytes(self.database)

    def search(self, query: str, phrase: bool) -> tuple[float, int]:
        text = f'"{query}"' if phrase else query
        wall, _, _ = _run(["notmuch", "search", "--output=messages", f"--limit={LIMIT}",
                           text], self.env)
        # The total, for the sanity column, outside the timed call.
        _, _, counted = _run(["notmuch", "count", text], self.env)
        return wall * 1000, int(counted.strip() or 0)


class Mu(Peer):
    name = "mu"

    def __init__(self, workdir: Path, maildir: Path) -> None:
        super().__init__(workdir, maildir)
        self.home = workdir / "mu-home"

    def available(self) -> str | None:
        return None if shutil.which("mu") else "mu (maildir-utils) is not installed"

    def build(self) -> tuple[float, float]:
        shutil.rmtree(self.home, ignore_errors=True)
        _run(["mu", "init", f"--muhome={self.home}", f"--maildir={self.maildir}"])
        wall, cpu, _ = _run(["mu", "index", f"--muhome={self.home}", "--quiet"])
        return wall, cpu

    def index_bytes(self) -> int:
        return _dir_bytes(self.home)

    def search(self, query: str, phrase: bool) -> tuple[float, int]:
        wall, _, _ = _run(["mu", "find", f"--muhome={self.home}", f"--maxnum={LIMIT}",
                           "--fields=i", query], answers=(0, 4))
        # The total, for the sanity column, outside the timed call.
        _, _, every = _run(["mu", "find", f"--muhome={self.home}", "--fields=i", query],
                           answers=(0, 4))
        return wall * 1000, len(every.splitlines())


def _median(values: list[float]) -> float:
    return round(statistics.median(values), 1) if values else float("nan")


def _p95(values: list[float]) -> float:
    return round(percentile(values, 95), 1) if values else float("nan")


def _interleaved(engines: list[Peer], queries: Sequence[str], phrase: bool,
                 repeat: int) -> dict[str, dict[str, float]]:
    walls: dict[str, list[float]] = {e.name: [] for e in engines}
    hits: dict[str, list[int]] = {e.name: [] for e in engines}
    for _ in range(repeat):
        for query in queries:
            for engine in engines:
                wall, count = engine.search(query, phrase)
                walls[engine.name].append(wall)
                hits[engine.name].append(count)
    return {
        name: {"p50": _median(walls[name]), "p95": _p95(walls[name]),
               "hits_median": statistics.median(hits[name]) if hits[name] else 0}
        for name in walls
    }


def _in_process_govmail(index: Path, queries: Sequence[str], repeat: int,
                        full: bool) -> list[float]:
    from core.config import Settings
    from core.results import SearchRequest
    from search.engine import Engine

    # No results kept: a repeated pass would time a look-up, not a search (notmuch2 has none).
    engine = Engine(Settings(index_dir=index), results_cached=0)
    engine.search(SearchRequest(""))
    times = []
    for _ in range(repeat):
        for query in queries:
            started = time.perf_counter()
            engine.search(SearchRequest(query, with_facets=full, highlight=full,
                                        page_size=LIMIT))
            times.append((time.perf_counter() - started) * 1000)
    engine.close()
    return times


def _in_process_notmuch2(peer: Notmuch, queries: Sequence[str], repeat: int) -> list[float]:
    out = subprocess.run(
        [SYSTEM_PYTHON, "-c", NOTMUCH2_CHILD, str(peer.database), str(peer.config), str(LIMIT)],
        input=json.dumps(list(queries) * repeat), capture_output=True, text=True, timeout=1800,
        check=True,
    ).stdout
    return [ms for ms, _ in json.loads(out)]


def _notmuch2_available() -> str | None:
    if not Path(SYSTEM_PYTHON).exists():
        return f"no {SYSTEM_PYTHON}"
    probe = subprocess.run([SYSTEM_PYTHON, "-c", "import notmuch2"], capture_output=True,
                           check=False)
    return None if probe.returncode == 0 else "python3-notmuch2 is not installed"


def table(rows: list[list[Any]]) -> str:
    headers = ["path", "govmail", "peer", "peer value", "ratio govmail/peer"]
    cells = [headers, *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = [" | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(lines)


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b else "n/a"


def run(args: argparse.Namespace, say: Callable[[str], None] = print) -> dict[str, Any]:
    workdir = Path(args.workdir) / f"peers-{args.messages}-{args.seed}"
    maildir = workdir / "archive"
    docs = workdir / "docs.jsonl"
    if not (workdir / "done").exists():
        from sample.generator import write_sample

        shutil.rmtree(workdir, ignore_errors=True)
        workdir.mkdir(parents=True)
        write_sample(maildir, args.messages, args.seed, {"maildir"})
        _write_docs(docs, args.messages, args.seed)
        (workdir / "done").write_text("ok\n")
    queries = make_queries(iter_docs(docs), count=args.queries, phrases=args.queries // 2,
                           seed=args.seed)
    plain = list(queries.plain)
    phrases = [" ".join(words) for words in queries.phrases]

    engines: list[Peer] = [Govmail(workdir, maildir)]
    for peer_class in (Notmuch, Mu):
        peer = peer_class(workdir, maildir)
        missing = peer.available()
        if missing:
            say(f"skipped {peer.name}: {missing}")
        else:
            engines.append(peer)
    figures: dict[str, Any] = {"messages": args.messages, "seed": args.seed, "engines": {}}
    for engine in engines:
        wall, cpu = engine.build()
        figures["engines"][engine.name] = {
            "index_wall_s": round(wall, 1),
            "index_cpu_ms_per_message": round(cpu * 1000 / args.messages, 2),
            "index_bytes_per_message": round(engine.index_bytes() / args.messages),
        }
        say(f"indexed with {engine.name}: {wall:.1f} s wall, {cpu:.1f} s CPU")

    figures["process_plain"] = _interleaved(engines, plain, False, args.repeat)
    phrase_engines = [e for e in engines if e.name in ("govmail", "notmuch")]
    figures["process_phrase"] = _interleaved(phrase_engines, phrases, True, args.repeat)

    govmail_index = engines[0].workdir / "govmail-index"
    figures["in_process"] = {
        "govmail_plain": _in_process_govmail(govmail_index, plain, args.repeat, full=False),
        "govmail_full": _in_process_govmail(govmail_index, plain, args.repeat, full=True),
    }
    notmuch = next((e for e in engines if isinstance(e, Notmuch)), None)
    missing2 = _notmuch2_available() if notmuch else "notmuch is not installed"
    if notmuch is not None and missing2 is None:
        figures["in_process"]["notmuch2_plain"] = _in_process_notmuch2(notmuch, plain,
                                                                       args.repeat)
    else:
        say(f"skipped notmuch2: {missing2}")
    figures["in_process"] = {k: {"p50": _median(v), "p95": _p95(v)}
                             for k, v in figures["in_process"].items()}

    rows: list[list[Any]] = []
    own = figures["process_plain"]["govmail"]
    for peer in ("notmuch", "mu"):
        if peer in figures["process_plain"]:
            theirs = figures["process_plain"][peer]
            rows.append([f"search Q, whole process, p50 ms (hits {own['hits_median']})",
                         own["p50"], peer, f"{theirs['p50']} (hits {theirs['hits_median']})",
                         _ratio(own["p50"], theirs["p50"])])
    if "notmuch" in figures["process_phrase"]:
        mine, theirs = figures["process_phrase"]["govmail"], figures["process_phrase"]["notmuch"]
        rows.append(["phrases, whole process, p95 ms", mine["p95"], "notmuch", theirs["p95"],
                     _ratio(mine["p95"], theirs["p95"])])
    in_process = figures["in_process"]
    if "notmuch2_plain" in in_process:
        base = in_process["notmuch2_plain"]["p50"]
        rows.append(["in process, plain, p50 ms", in_process["govmail_plain"]["p50"],
                     "notmuch2", base, _ratio(in_process["govmail_plain"]["p50"], base)])
        rows.append(["in process, facets + snippets, p50 ms",
                     in_process["govmail_full"]["p50"], "notmuch2 (plain)", base,
                     _ratio(in_process["govmail_full"]["p50"], base)])
    mine_index = figures["engines"]["govmail"]
    for peer in ("notmuch", "mu"):
        if peer in figures["engines"]:
            theirs_index = figures["engines"][peer]
            rows.append(["indexing CPU ms / message", mine_index["index_cpu_ms_per_message"],
                         peer, theirs_index["index_cpu_ms_per_message"],
                         _ratio(mine_index["index_cpu_ms_per_message"],
                                theirs_index["index_cpu_ms_per_message"])])
            rows.append(["index bytes / message", mine_index["index_bytes_per_message"], peer,
                         theirs_index["index_bytes_per_message"],
                         _ratio(mine_index["index_bytes_per_message"],
                                theirs_index["index_bytes_per_message"])])
    say("")
    say(f"{args.messages} messages, seed {args.seed}, {len(plain)} plain queries and "
        f"{len(phrases)} phrases, {args.repeat} pass(es), interleaved")
    say(table(rows))
    say("not measured here: public-inbox / lei and public-inbox-httpd (see bench/README.md)")
    figures["table"] = rows
    return figures


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.peers", description=__doc__.split(
        "\n")[0])
    parser.add_argument("--messages", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--queries", type=int, default=40,
                        help="plain queries (phrases: half as many)")
    parser.add_argument("--repeat", type=int, default=1, help="passes over the queries")
    add_output_arguments(parser)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    return run_and_write(parse_args, run, argv)


if __name__ == "__main__":
    raise SystemExit(main())
