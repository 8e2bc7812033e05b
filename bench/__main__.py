"""``python -m bench``: run the sections for each corpus size, print tables, write JSON/Markdown.

Sections: ingest (end to end, split by stage, CPU, memory, index size), search (latency
of each query kind), web (4 clients on loopback), incremental (1,000 new messages until
searchable), baselines (SQLite FTS5 and tantivy on the same corpus and queries). A
section whose prerequisites are missing prints "skipped: <reason>" and the run goes on;
one that fails prints the error and the run goes on.

``--json OUT`` writes one object: the figures of the largest size at the top level (the
keys issue 7 names), every size under ``sizes``, and the machine under ``machine``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

SECTIONS = ("ingest", "search", "web", "incremental", "baselines")
DEFAULT_SIZES = (20000, 100000)
RESULTS_MD = Path(__file__).resolve().parent / "RESULTS.md"
PACKAGES = (
    "whoosh-reloaded",
    "flask",
    "waitress",
    "lxml",
    "beautifulsoup4",
    "chardet",
    "tantivy",
    "psutil",
)


class Skipped(Exception):
    """A section cannot run here; the message says why."""


def machine() -> dict[str, Any]:
    import sqlite3

    memory = 0
    try:
        import psutil

        memory = psutil.virtual_memory().total
    except ImportError:
        pass
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    versions["sqlite"] = sqlite3.sqlite_version
    return {
        "nproc": os.cpu_count(),
        "memory_gib": round(memory / 2**30, 1),
        "cpu": _cpu_model(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        # The VM is shared: the load when the run started says how noisy its figures are.
        "loadavg": [round(x, 2) for x in os.getloadavg()],
        "packages": versions,
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


# -------------------------------------------------------------------------- running


def run_size(messages: int, args: argparse.Namespace, sections: set[str]) -> dict[str, Any]:
    from bench.ingest import prepare_corpus
    from bench.queries import iter_docs, make_queries

    workdir = Path(args.workdir)
    print(f"\n=== {messages:,} messages (seed {args.seed}) ===", flush=True)
    corpus, generated = prepare_corpus(workdir, messages, args.seed)
    print(
        f"corpus: {corpus.root}"
        + (f" (generated in {generated:.1f} s)" if generated else " (cached)"),
        flush=True,
    )
    queries = make_queries(
        iter_docs(corpus.docs, limit=20000),
        count=args.queries,
        phrases=max(10, args.queries // 3),
        seed=args.seed,
    )
    index_dir = workdir / f"index-{messages}-{args.seed}"
    results: dict[str, Any] = {"messages": messages}
    state = {"built": False}

    def ingest() -> dict[str, Any]:
        from bench.ingest import run_ingest

        _need("index.pipeline", "index.indexer")
        profile = workdir / f"ingest-{messages}.prof" if args.profile else None
        figures = run_ingest(corpus, index_dir, args.jobs, profile)
        state["built"] = True
        return figures

    def settings() -> Any:
        from core.config import Settings

        if not state["built"]:
            from backends.whoosh.store import document_count

            # An index left by an earlier run of the same size and seed serves the
            # other sections, so that they can be re-measured without re-indexing.
            if "ingest" in sections or document_count(index_dir) == 0:
                raise Skipped("no index was built in this run (ingest skipped or failed)")
            print(f"using the index built earlier in {index_dir}", flush=True)
            state["built"] = True
        return Settings(index_dir=index_dir)

    def search() -> dict[str, Any]:
        from bench.queries import run_search

        return run_search(settings(), queries, args.repeat)

    def web() -> dict[str, Any]:
        from bench.web_load import run_web

        settings()
        _need("web", "waitress")
        return run_web(index_dir, queries.plain, args.web_requests, args.web_seconds)

    def incremental() -> dict[str, Any]:
        from bench.ingest import run_incremental

        return run_incremental(
            workdir, index_dir, settings(), args.seed, args.jobs, count=args.increment
        )

    def baselines() -> dict[str, Any]:
        from bench.baselines import run_baselines

        return run_baselines(corpus.docs, workdir, queries, args.repeat)

    steps: dict[str, Callable[[], dict[str, Any]]] = {
        "ingest": ingest,
        "search": search,
        "web": web,
        "incremental": incremental,
        "baselines": baselines,
    }
    for name in SECTIONS:
        if name not in sections:
            continue
        print(f"--- {name}", flush=True)
        started = time.perf_counter()
        try:
            results[name] = steps[name]()
        except Skipped as exc:
            print(f"skipped: {exc}", flush=True)
            results[name] = {"skipped": str(exc)}
            continue
        except Exception as exc:  # noqa: BLE001 - one broken section must not hide the others
            print(f"failed: {exc.__class__.__name__}: {exc}", flush=True)
            traceback.print_exc(limit=4)
            results[name] = {"failed": f"{exc.__class__.__name__}: {exc}"}
            continue
        print(render_section(name, results[name]), flush=True)
        print(f"({time.perf_counter() - started:.1f} s)", flush=True)
    results["queries"] = {
        "plain": len(queries.plain),
        "phrase": len(queries.phrases),
        "examples": list(queries.plain[:5]) + list(queries.phrase_strings()[:2]),
    }
    results["summary"] = headline(results)
    return results


def _need(*modules: str) -> None:
    import importlib

    for module in modules:
        try:
            importlib.import_module(module)
        except ImportError as exc:
            raise Skipped(f"{module} cannot be imported ({exc})") from exc


# ------------------------------------------------------------------------- figures


def _get(d: dict[str, Any], *path: str) -> Any:
    for key in path:
        if not isinstance(d, dict) or key not in d:
            return None
        d = d[key]
    return d


def _ratio(a: Any, b: Any) -> float | None:
    if isinstance(a, int | float) and isinstance(b, int | float) and b:
        return round(a / b, 2)
    return None


def headline(r: dict[str, Any]) -> dict[str, Any]:
    """The flat figures issue 7 names, plus the ratios against the baselines."""
    out = {
        "messages": r["messages"],
        "ingest_msgs_per_s": _get(r, "ingest", "msgs_per_s"),
        "parse_msgs_per_s": _get(r, "ingest", "parse_msgs_per_s"),
        "index_msgs_per_s": _get(r, "ingest", "index_msgs_per_s"),
        "ingest_cores_busy": _get(r, "ingest", "cores_busy"),
        "peak_rss_mb": _get(r, "ingest", "peak_rss_mb"),
        "peak_pss_mb": _get(r, "ingest", "peak_pss_mb"),
        "index_bytes_per_msg": _get(r, "ingest", "index_bytes_per_msg"),
        "plain_p50_ms": _get(r, "search", "plain", "p50_ms"),
        "plain_p95_ms": _get(r, "search", "plain", "p95_ms"),
        "phrase_p95_ms": _get(r, "search", "phrase", "p95_ms"),
        "date_sorted_p95_ms": _get(r, "search", "date_sorted", "p95_ms"),
        "faceted_p50_ms": _get(r, "search", "faceted", "p50_ms"),
        "faceted_p95_ms": _get(r, "search", "faceted", "p95_ms"),
        "highlight_p95_ms": _get(r, "search", "highlight", "p95_ms"),
        "full_page_p95_ms": _get(r, "search", "full", "p95_ms"),
        "web_requests_per_s": _get(r, "web", "requests_per_s"),
        "web_p95_ms": _get(r, "web", "p95_ms"),
        "incremental_visible_s": _get(r, "incremental", "visible_s"),
        "fts5_msgs_per_s": _get(r, "baselines", "fts5", "msgs_per_s"),
        "fts5_plain_p50_ms": _get(r, "baselines", "fts5", "plain", "p50_ms"),
        "fts5_plain_p95_ms": _get(r, "baselines", "fts5", "plain", "p95_ms"),
        "tantivy_msgs_per_s": _get(r, "baselines", "tantivy", "msgs_per_s"),
        "tantivy_plain_p50_ms": _get(r, "baselines", "tantivy", "plain", "p50_ms"),
        "tantivy_plain_p95_ms": _get(r, "baselines", "tantivy", "plain", "p95_ms"),
        "plain_cpu_p95_ms": _get(r, "search", "plain", "cpu_p95_ms"),
        "faceted_cpu_p95_ms": _get(r, "search", "faceted", "cpu_p95_ms"),
        "highlight_cpu_p95_ms": _get(r, "search", "highlight", "cpu_p95_ms"),
        "fts5_plain_cpu_p95_ms": _get(r, "baselines", "fts5", "plain", "cpu_p95_ms"),
        "tantivy_plain_cpu_p95_ms": _get(r, "baselines", "tantivy", "plain", "cpu_p95_ms"),
        "ingest_cpu_ms_per_msg": _get(r, "ingest", "cpu_ms_per_msg"),
        "parse_cpu_ms_per_msg": _get(r, "ingest", "parse_cpu_ms_per_msg"),
        "index_cpu_ms_per_msg": _get(r, "ingest", "index_cpu_ms_per_msg"),
    }
    # Ratios read "how many times govmail's figure": >1 means govmail is slower.
    out["plain_p95_vs_fts5"] = _ratio(out["plain_p95_ms"], out["fts5_plain_p95_ms"])
    out["plain_cpu_p95_vs_fts5"] = _ratio(out["plain_cpu_p95_ms"], out["fts5_plain_cpu_p95_ms"])
    out["plain_p95_vs_tantivy"] = _ratio(out["plain_p95_ms"], out["tantivy_plain_p95_ms"])
    out["fts5_index_rate_vs_govmail"] = _ratio(out["fts5_msgs_per_s"], out["index_msgs_per_s"])
    out["tantivy_index_rate_vs_govmail"] = _ratio(
        out["tantivy_msgs_per_s"], out["index_msgs_per_s"]
    )
    out["fts5_index_rate_vs_govmail_end_to_end"] = _ratio(
        out["fts5_msgs_per_s"], out["ingest_msgs_per_s"]
    )
    out["tantivy_index_rate_vs_govmail_end_to_end"] = _ratio(
        out["tantivy_msgs_per_s"], out["ingest_msgs_per_s"]
    )
    return out


# -------------------------------------------------------------------------- tables


def table(headers: list[str], rows: list[list[Any]]) -> str:
    cells = [[_fmt(c) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    line = "| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)) + " |"
    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    # Labels read left to right, figures line up on the right.
    body = [
        "| "
        + " | ".join(
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        )
        + " |"
        for r in cells
    ]
    return "\n".join([line, rule, *body])


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:,.2f}" if abs(value) < 10 else f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def render_section(name: str, figures: dict[str, Any]) -> str:
    if name == "ingest":
        f = figures
        stages = [
            ("end to end", "run_s", "msgs_per_s", "cores_busy", "cpu_ms_per_msg"),
            ("parse (read, decode, split)", "parse_s", "parse_msgs_per_s", "cores_busy_parse",
             "parse_cpu_ms_per_msg"),
            ("index (Whoosh add + commit)", "index_s", "index_msgs_per_s", "cores_busy_index",
             "index_cpu_ms_per_msg"),
        ]  # fmt: skip
        totals = ["read", "indexed", "rejected", "commits", "peak_rss_mb", "peak_pss_mb",
                  "peak_rss_parent_mb", "index_bytes_per_msg", "raw_bytes_per_msg"]  # fmt: skip
        return (
            table(
                ["stage", "seconds", "msgs/s", "cores busy", "CPU ms/msg"],
                [[label, *(f.get(k) for k in keys)] for label, *keys in stages],
            )
            + "\n"
            + table(
                [
                    "read",
                    "indexed",
                    "rejected",
                    "commits",
                    "peak RSS MB (tree)",
                    "peak PSS MB (tree)",
                    "parent MB",
                    "index B/msg",
                    "raw B/msg",
                ],
                [[f.get(k) for k in totals]],
            )  # fmt: skip
        )
    if name == "search":
        from bench.queries import KINDS

        cols = ("p50_ms", "p95_ms", "max_ms", "cpu_p50_ms", "cpu_p95_ms", "count")
        rows = [[k, *(figures[k].get(c) for c in cols)] for k in KINDS if k in figures]
        headers = ["query kind", "p50 ms", "p95 ms", "max ms", "CPU p50", "CPU p95", "runs"]
        return table(headers, rows) + (
            f"\nopen {figures['open_ms']} ms; first facet count {figures['first_facets_ms']} ms;"
            f" plain hits median {figures['plain_hits_median']}, p95 {figures['plain_hits_p95']},"
            f" zero-hit share {figures['plain_zero_hit_share']}; errors {figures['query_errors']}"
        )
    if name == "web":
        return table(
            ["clients", "requests", "seconds", "req/s", "p50 ms", "p95 ms", "statuses"],
            [
                [
                    figures["clients"],
                    figures["requests"],
                    figures["seconds"],
                    figures["requests_per_s"],
                    figures["p50_ms"],
                    figures["p95_ms"],
                    json.dumps(figures["statuses"]),
                ]
            ],
        )
    if name == "incremental":
        return table(
            ["new messages", "indexed", "index s", "visible after s", "visible"],
            [
                [
                    figures["messages"],
                    figures["indexed"],
                    figures["index_s"],
                    figures["visible_s"],
                    figures["visible"],
                ]
            ],
        )
    if name == "baselines":
        rows = []
        for engine in ("fts5", "tantivy"):
            f = figures.get(engine, {})
            if "skipped" in f:
                rows.append([engine, f"skipped: {f['skipped']}", *([None] * 6)])
                continue
            rows.append(
                [
                    f"{engine} {f['version']}".replace("tantivy tantivy", "tantivy"),
                    f["msgs_per_s"],
                    f["index_bytes"] // max(f["docs"], 1),
                    f["plain"]["p50_ms"],
                    f["plain"]["p95_ms"],
                    f["plain"].get("cpu_p95_ms"),
                    f["phrase"]["p50_ms"],
                    f["phrase"]["p95_ms"],
                ]
            )
        return table(
            [
                "engine",
                "index msgs/s",
                "B/msg",
                "plain p50",
                "plain p95",
                "plain CPU p95",
                "phrase p50",
                "phrase p95",
            ],
            rows,
        )
    return json.dumps(figures, indent=1)


SUMMARY_ROWS = (
    ("ingestion, end to end (msgs/s)", "ingest_msgs_per_s", ">= 500"),
    ("  parse stage (msgs/s)", "parse_msgs_per_s", ""),
    ("  index stage (msgs/s)", "index_msgs_per_s", ""),
    ("  cores busy (of 2)", "ingest_cores_busy", "2"),
    (
        "CPU ms per message: all / parse / index",
        ("ingest_cpu_ms_per_msg", "parse_cpu_ms_per_msg", "index_cpu_ms_per_msg"),
        "",
    ),
    ("peak RSS of ingestion, process tree (MB)", "peak_rss_mb", ""),
    ("peak PSS of ingestion, process tree (MB)", "peak_pss_mb", "< 1024 at 1M"),
    ("index bytes per message", "index_bytes_per_msg", ""),
    ("plain query p50 (ms)", "plain_p50_ms", ""),
    ("plain query p95 (ms)", "plain_p95_ms", "<= 50"),
    ("plain query p95, CPU time (ms)", "plain_cpu_p95_ms", ""),
    ("phrase query p95 (ms)", "phrase_p95_ms", ""),
    ("date-sorted query p95 (ms)", "date_sorted_p95_ms", ""),
    ("faceted query p95 (ms)", "faceted_p95_ms", "<= 100"),
    ("faceted query p95, CPU time (ms)", "faceted_cpu_p95_ms", ""),
    ("highlighted top-20 p95 (ms)", "highlight_p95_ms", "<= 80"),
    ("highlighted top-20 p95, CPU time (ms)", "highlight_cpu_p95_ms", ""),
    ("full page (facets + highlights) p95 (ms)", "full_page_p95_ms", ""),
    ("web: requests/s, 4 clients", "web_requests_per_s", ""),
    ("web: p95 (ms)", "web_p95_ms", ""),
    ("1,000 new messages searchable after (s)", "incremental_visible_s", "<= 10"),
    ("SQLite FTS5: index msgs/s", "fts5_msgs_per_s", ""),
    ("SQLite FTS5: plain p50 / p95 (ms)", ("fts5_plain_p50_ms", "fts5_plain_p95_ms"), ""),
    ("tantivy: index msgs/s", "tantivy_msgs_per_s", ""),
    ("tantivy: plain p50 / p95 (ms)", ("tantivy_plain_p50_ms", "tantivy_plain_p95_ms"), ""),
    ("govmail plain p95 / FTS5 plain p95", "plain_p95_vs_fts5", "<= 3"),
    ("  the same in CPU time", "plain_cpu_p95_vs_fts5", "<= 3"),
    ("govmail plain p95 / tantivy plain p95", "plain_p95_vs_tantivy", ""),
    ("FTS5 index rate / govmail index stage", "fts5_index_rate_vs_govmail", ""),
    ("tantivy index rate / govmail index stage", "tantivy_index_rate_vs_govmail", ""),
    ("FTS5 index rate / govmail end to end", "fts5_index_rate_vs_govmail_end_to_end", ""),
    ("tantivy index rate / govmail end to end", "tantivy_index_rate_vs_govmail_end_to_end", ""),
)


def summary_table(runs: list[dict[str, Any]]) -> str:
    headers = ["figure", *(f"{r['messages']:,} msgs" for r in runs), "target (100k)"]
    rows = []
    for label, key, target in SUMMARY_ROWS:
        row: list[Any] = [label]
        for r in runs:
            s = r["summary"]
            if isinstance(key, tuple):
                row.append(" / ".join(_fmt(s.get(k)) for k in key))
            else:
                row.append(s.get(key))
        row.append(target)
        rows.append(row)
    return table(headers, rows)


def markdown(
    runs: list[dict[str, Any]], host: dict[str, Any], args: argparse.Namespace, seconds: float
) -> str:
    packages = ", ".join(f"{k} {v}" for k, v in host["packages"].items() if v)
    lines = [
        "# Benchmark results (latest run)",
        "",
        f"Written by `python -m bench` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC in "
        f"{seconds / 60:.1f} min: sizes {', '.join(str(r['messages']) for r in runs)}, seed "
        f"{args.seed}, {args.queries} plain queries, repeat {args.repeat} (medians of the "
        "per-pass p50/p95), jobs " + (str(args.jobs) if args.jobs else "auto") + ".",
        "",
        f"Machine: nproc {host['nproc']}, {host['memory_gib']} GiB memory, {host['cpu']}, "
        f"Python {host['python']}, {host['platform']}; load average at start "
        f"{' / '.join(str(x) for x in host['loadavg'])} (1/5/15 min; the VM is shared).",
        f"Packages: {packages}.",
        "",
        summary_table(runs),
        "",
    ]
    for r in runs:
        lines += [f"## {r['messages']:,} messages", ""]
        for name in SECTIONS:
            if name not in r:
                continue
            f = r[name]
            lines += [f"### {name}", ""]
            if "skipped" in f or "failed" in f:
                lines += [
                    f"{'skipped' if 'skipped' in f else 'failed'}: "
                    f"{f.get('skipped') or f.get('failed')}",
                    "",
                ]
            else:
                lines += [render_section(name, f), ""]
    return "\n".join(lines)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--messages",
        type=int,
        nargs="+",
        default=list(DEFAULT_SIZES),
        help="corpus sizes (default 20000 100000; 1000000 on request)",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--sections",
        default=",".join(SECTIONS),
        help=f"comma-separated subset of {','.join(SECTIONS)}",
    )
    parser.add_argument("--repeat", type=int, default=3, help="passes over each query set")
    parser.add_argument("--queries", type=int, default=300, help="plain queries per pass")
    parser.add_argument("--jobs", type=int, default=0, help="parser processes (0 = per core)")
    parser.add_argument(
        "--increment", type=int, default=1000, help="messages added in the incremental section"
    )
    parser.add_argument("--web-requests", type=int, default=400)
    parser.add_argument("--web-seconds", type=float, default=30.0)
    parser.add_argument(
        "--workdir",
        default=os.environ.get("GOVMAIL_BENCH_DIR", "/tmp/govmail-bench"),
        help="corpora (cached) and indexes ($GOVMAIL_BENCH_DIR)",
    )
    parser.add_argument("--json", type=Path, help="write the figures as one JSON object")
    parser.add_argument(
        "--markdown",
        type=Path,
        help="write the tables (default: bench/RESULTS.md for a default-size run)",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="cProfile the ingesting process (WORKDIR/ingest-N.prof)",
    )
    args = parser.parse_args(argv)
    unknown = set(args.sections.split(",")) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown section(s) {', '.join(sorted(unknown))}")
    if args.markdown is None and argv == []:
        args.markdown = RESULTS_MD
    return args


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    sections = set(args.sections.split(","))
    host = machine()
    print(
        f"machine: nproc {host['nproc']}, {host['memory_gib']} GiB, Python {host['python']}",
        flush=True,
    )
    started = time.perf_counter()
    runs = [run_size(n, args, sections) for n in sorted(args.messages)]
    seconds = time.perf_counter() - started
    print("\n=== summary ===")
    print(summary_table(runs))
    if args.json is not None:
        largest = runs[-1]
        blob = {
            **largest["summary"],
            "machine": host,
            "sizes": {str(r["messages"]): r for r in runs},
            "seconds": round(seconds, 1),
        }
        args.json.write_text(json.dumps(blob, indent=1, default=str) + "\n", encoding="utf-8")
        print(f"wrote {args.json}")
    if args.markdown is not None:
        args.markdown.write_text(markdown(runs, host, args, seconds) + "\n", encoding="utf-8")
        print(f"wrote {args.markdown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
