"""``python -m bench.opensearch``: Whoosh and OpenSearch side by side, in the same run.

One generated archive (``govmail sample DIR --messages N --seed S``) is indexed by the
real command line into each backend (ingestion msg/s: messages stored / wall time of
``govmail index``, parsing included), then the benchmark's query kinds (``bench.queries``:
the same strings for both, drawn from the corpus) run through one Engine each, and a table
of p50/p95 latencies is printed. The cluster is the one of ``--urls`` or
``$GOVMAIL_OPENSEARCH_URLS`` (``contrib/opensearch/cluster.sh start 3``); its index has
3 primaries and 1 replica and is deleted afterwards.
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

from bench.queries import KINDS, iter_docs, make_queries, run_search
from core.config import Settings

ROOT = Path(__file__).resolve().parents[1]


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


def table(figures: dict[str, dict[str, Any]]) -> str:
    names = list(figures)
    rows = ["| figure | " + " | ".join(names) + " |", "| --- |" + " --- |" * len(names)]
    rows.append("| ingestion msg/s (govmail index) | "
                + " | ".join(str(figures[n]["ingest"]["msgs_per_s"]) for n in names) + " |")
    rows.append("| index size MB (primaries) | " + " | ".join(
        f"{figures[n]['ingest']['index_bytes'] / 1e6:.1f}" for n in names) + " |")
    for kind in KINDS:
        rows.append(f"| {kind} p50 / p95 ms | " + " | ".join(
            f"{figures[n]['search'][kind]['p50_ms']:.1f} / "
            f"{figures[n]['search'][kind]['p95_ms']:.1f}" for n in names) + " |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.opensearch", description=__doc__)
    parser.add_argument("--messages", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--urls", default=os.environ.get("GOVMAIL_OPENSEARCH_URLS", ""))
    parser.add_argument("--queries", type=int, default=100, help="plain queries per kind")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--json", type=Path, help="write the figures here too")
    args = parser.parse_args(argv)
    urls = tuple(u.strip() for u in args.urls.split(",") if u.strip())
    if not urls:
        parser.error("no cluster: pass --urls or set GOVMAIL_OPENSEARCH_URLS")
    with tempfile.TemporaryDirectory(prefix="govmail-bench-os-") as tmp:
        folder = Path(tmp)
        archive = folder / "archive"
        _govmail("sample", str(archive), "--messages", str(args.messages),
                 "--seed", str(args.seed))
        backends = {
            "whoosh": Settings(index_dir=folder / "whoosh-index"),
            "opensearch": Settings(backend="opensearch", index_dir=folder / "os-state",
                                   opensearch_url=urls,
                                   opensearch_index=f"govmail-bench-{os.getpid()}",
                                   opensearch_shards=3, opensearch_replicas=1),
        }
        figures: dict[str, dict[str, Any]] = {}
        try:
            for name, settings in backends.items():
                figures[name] = {"ingest": _ingest(_config(folder, settings), archive)}
                print(f"{name}: ingested {figures[name]['ingest']}", file=sys.stderr)
            queries = make_queries(iter_docs(_docs_file(backends["whoosh"], folder / "d.jsonl")),
                                   count=args.queries, phrases=args.queries // 2)
            for name, settings in backends.items():
                figures[name]["search"] = run_search(settings, queries, repeat=args.repeat)
        finally:
            from backends.opensearch.store import connect, drop

            client = connect(backends["opensearch"])
            drop(client, backends["opensearch"].opensearch_index)
            client.close()
    print(f"{args.messages} messages (seed {args.seed}), {len(urls)} OpenSearch nodes, "
          f"3 primaries + 1 replica, {args.queries} queries a kind x {args.repeat}")
    print(table(figures))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
