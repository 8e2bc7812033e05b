"""``python -m bench.opensearch``: Whoosh and OpenSearch side by side, in the same run.

One generated archive (``govmail sample DIR --messages N --seed S``) is indexed by the
real command line into each backend (ingestion msg/s: messages stored / wall time of
``govmail index``, parsing included), then the benchmark's query kinds (``bench.queries``:
the same strings for both, drawn from the corpus) run through one Engine each, and a table
of p50/p95 latencies is printed. The cluster is the one of ``--urls`` or
``$GOVMAIL_OPENSEARCH_URLS`` (``contrib/opensearch/cluster.sh start 3``); its index has
3 primaries and 1 replica and is deleted afterwards.

Web throughput: ``govmail --config FILE serve --threads 4`` (the real command, waitress,
127.0.0.1) for each backend in turn, loaded by ``bench.web_load``'s clients (4 and 16 by
default, one keep-alive connection each, the plain queries in turn).

At 100,000 messages, a corpus and Whoosh index left by ``python -m bench`` can be reused
(``--archive``, ``--docs``, ``--whoosh-index``, with the ingestion figure that run measured
given as ``--ingested whoosh=MSGS_PER_S``), and so can a cluster index already filled by
``govmail index`` (``--opensearch-index NAME --ingested opensearch=MSGS_PER_S``; kept).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.command import stop_process
from bench.queries import KINDS, iter_docs, make_queries, run_search
from core.config import Settings

ROOT = Path(__file__).resolve().parents[1]
# Worker threads of the served app under load (bench.web_load serves Whoosh with 4 too).
WEB_THREADS = 4


def _govmail(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("GOVMAIL_INDEX", None)
    done = subprocess.run([sys.executable, "-m", "govmail.cli", *args], capture_output=True,
                          text=True, env=env, cwd=ROOT, timeout=7200)
    if done.returncode:
        raise SystemExit(f"govmail {' '.join(args)} failed: {done.stderr.strip()[-500:]}")
    return done


def _config(folder: Path, settings: Settings) -> Path:
    lines = [f'backend = "{settings.backend}"', f'index_dir = "{settings.index_dir}"']
    if settings.backend == "opensearch":
        lines += ["[opensearch]", f"url = {json.dumps(list(settings.opensearch_url))}",
                  f'index = "{settings.opensearch_index}"',
                  f"shards = {settings.opensearch_shards}",
                  f"replicas = {settings.opensearch_replicas}"]
    path = folder / f"{settings.backend}.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _ingest(config: Path, archive: Path) -> dict[str, Any]:
    started = time.perf_counter()
    _govmail("--config", str(config), "index", str(archive))
    seconds = time.perf_counter() - started
    stats = json.loads(_govmail("--config", str(config), "stats", "--format", "json").stdout)
    return {"messages": stats["messages"], "seconds": round(seconds, 1),
            "msgs_per_s": round(stats["messages"] / seconds, 1),
            "index_bytes": stats["index_bytes"]}


def _docs_file(settings: Settings, path: Path) -> Path:
    """The indexed documents' text, as bench.queries draws queries from."""
    from backends import open_reader

    reader = open_reader(settings)
    try:
        with open(path, "w", encoding="utf-8") as out:
            for n, doc in enumerate(reader.documents()):
                if n >= 20000:
                    break
                out.write(json.dumps({"original": doc.get("original") or ""}) + "\n")
    finally:
        reader.close()
    return path


def _stats(config: Path) -> dict[str, Any]:
    return json.loads(_govmail("--config", str(config), "stats", "--format", "json").stdout)


def _web(config: Path, settings: Settings, plain: list[str], clients: int, requests: int,
         seconds: float) -> dict[str, Any]:
    from bench.web_load import _load, free_port, wait_ready

    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("GOVMAIL_INDEX", None)
    if settings.backend == "whoosh":
        # bench.web_load's own server (the app under waitress, 4 threads), as `python -m
        # bench` measures it: `govmail serve` first reads every segment whole (its deep
        # check), minutes at 100k on a loaded machine.
        command = [sys.executable, "-m", "bench.web_load", "--index",
                   str(settings.index_dir), "--port", str(port)]
    else:
        command = [sys.executable, "-m", "govmail.cli", "--config", str(config), "serve",
                   "--host", "127.0.0.1", "--port", str(port), "--threads", str(WEB_THREADS)]
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        wait_ready(port, server, timeout=600)
        # One request first: templates compiled, facet columns read, JVM caches warm.
        _load(port, plain, 4, 60, 1)
        return _load(port, plain, requests, seconds, clients)
    finally:
        stop_process(server, timeout=30)


def _cell(figures: dict[str, Any], *keys: str, form: str = "{}") -> str:
    for key in keys:
        if not isinstance(figures, dict) or key not in figures:
            return "-"
        figures = figures[key]
    return form.format(figures)


def table(figures: dict[str, dict[str, Any]]) -> str:
    names = list(figures)
    rows = ["| figure | " + " | ".join(names) + " |", "| --- |" + " --- |" * len(names)]
    rows.append("| ingestion msg/s (govmail index) | "
                + " | ".join(_cell(figures[n], "ingest", "msgs_per_s") for n in names) + " |")
    rows.append("| index size MB (primaries) | " + " | ".join(
        f"{figures[n]['ingest']['index_bytes'] / 1e6:.1f}" for n in names) + " |")
    for kind in KINDS:
        rows.append(f"| {kind} p50 / p95 ms | " + " | ".join(
            f"{figures[n]['search'][kind]['p50_ms']:.1f} / "
            f"{figures[n]['search'][kind]['p95_ms']:.1f}" for n in names) + " |")
    clients = sorted({c for n in names for c in figures[n].get("web", {})}, key=int)
    for count in clients:
        rows.append(f"| web req/s, {count} clients | " + " | ".join(
            _cell(figures[n], "web", count, "requests_per_s") for n in names) + " |")
        rows.append(f"| web p50 / p95 ms, {count} clients | " + " | ".join(
            _cell(figures[n], "web", count, "p50_ms") + " / "
            + _cell(figures[n], "web", count, "p95_ms") for n in names) + " |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.opensearch", description=__doc__)
    parser.add_argument("--messages", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--urls", default=os.environ.get("GOVMAIL_OPENSEARCH_URLS", ""))
    parser.add_argument("--queries", type=int, default=100, help="plain queries per kind")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--archive", type=Path, help="an archive to index (else generated)")
    parser.add_argument("--docs", type=Path, help="the corpus text queries are drawn from "
                        "(bench's docs.jsonl; else the Whoosh index's documents)")
    parser.add_argument("--whoosh-index", type=Path, help="an index of --archive to reuse")
    parser.add_argument("--opensearch-index", help="a cluster index of --archive to reuse")
    parser.add_argument("--ingested", action="append", default=[], metavar="NAME=MSGS_PER_S",
                        help="the ingestion rate a reused index was built at")
    parser.add_argument("--web-clients", default="4,16")
    parser.add_argument("--web-requests", type=int, default=400)
    parser.add_argument("--web-seconds", type=float, default=60.0)
    parser.add_argument("--json", type=Path, help="write the figures here too")
    args = parser.parse_args(argv)
    urls = tuple(u.strip() for u in args.urls.split(",") if u.strip())
    if not urls:
        parser.error("no cluster: pass --urls or set GOVMAIL_OPENSEARCH_URLS")
    ingested = dict(item.split("=", 1) for item in args.ingested)
    with tempfile.TemporaryDirectory(prefix="govmail-bench-os-") as tmp:
        folder = Path(tmp)
        archive = args.archive or folder / "archive"
        if args.archive is None:
            _govmail("sample", str(archive), "--messages", str(args.messages),
                     "--seed", str(args.seed))
        os_index = args.opensearch_index or f"govmail-bench-{os.getpid()}"
        backends = {
            "whoosh": Settings(index_dir=args.whoosh_index or folder / "whoosh-index"),
            "opensearch": Settings(backend="opensearch", index_dir=folder / "os-state",
                                   opensearch_url=urls, opensearch_index=os_index,
                                   opensearch_shards=3, opensearch_replicas=1),
        }
        reused = {"whoosh": args.whoosh_index is not None,
                  "opensearch": args.opensearch_index is not None}
        figures: dict[str, dict[str, Any]] = {}
        try:
            configs = {name: _config(folder, s) for name, s in backends.items()}
            for name, config in configs.items():
                if reused[name]:
                    stats = _stats(config)
                    figures[name] = {"ingest": {"messages": stats["messages"],
                                                "index_bytes": stats["index_bytes"],
                                                "reused": True}}
                    if name in ingested:
                        figures[name]["ingest"]["msgs_per_s"] = float(ingested[name])
                else:
                    figures[name] = {"ingest": _ingest(config, archive)}
                print(f"{name}: ingested {figures[name]['ingest']}", file=sys.stderr)
            docs = args.docs or _docs_file(backends["whoosh"], folder / "d.jsonl")
            queries = make_queries(iter_docs(docs), count=args.queries,
                                   phrases=args.queries // 2)
            for name, settings in backends.items():
                figures[name]["search"] = run_search(settings, queries, repeat=args.repeat)
                print(f"{name}: searched, load {os.getloadavg()[0]:.1f} "
                      f"{json.dumps(figures[name]['search'])}", file=sys.stderr)
            for count in (int(c) for c in args.web_clients.split(",") if c.strip()):
                for name, config in configs.items():
                    found = _web(config, backends[name], list(queries.plain), count,
                                 args.web_requests, args.web_seconds)
                    found["load"] = round(os.getloadavg()[0], 1)
                    figures[name].setdefault("web", {})[str(count)] = found
                    print(f"{name}: web {count} clients {found}", file=sys.stderr)
        finally:
            if not reused["opensearch"]:
                from backends.opensearch.store import connect, drop

                client = connect(backends["opensearch"])
                drop(client, os_index)
                client.close()
    messages = figures["whoosh"]["ingest"]["messages"]
    print(f"{messages} messages, {len(urls)} OpenSearch nodes, 3 primaries + 1 replica, "
          f"{args.queries} queries a kind x {args.repeat}, load {os.getloadavg()[0]:.1f}")
    print(table(figures))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
