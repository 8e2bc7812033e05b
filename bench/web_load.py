"""Load on the search page: 4 concurrent clients against waitress serving the real app.

The server is a child process (``python -m bench.web_load --index DIR --port N``: the
app from ``web.create_app`` under waitress with 4 threads, on 127.0.0.1 only), so its
GIL is not the clients'. Each client keeps one HTTP/1.1 connection and requests
``/search?q=...`` for the corpus queries in its own order; the run stops after
``max_requests`` or ``max_seconds``, whichever comes first. Figures: requests per
second, p50/p95 latency, and every non-200 status counted.
"""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from bench.command import stop_process
from bench.queries import percentile

REPO = Path(__file__).resolve().parents[1]
CLIENTS = 4


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_ready(port: int, server: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"web server exited with {server.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/healthz")
            conn.getresponse().read()
            conn.close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"web server not answering on port {port} after {timeout:.0f} s")


def run_web(
    index_dir: Path,
    queries: Sequence[str],
    max_requests: int = 400,
    max_seconds: float = 30.0,
    clients: int = CLIENTS,
) -> dict[str, Any]:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    server = subprocess.Popen(
        [sys.executable, "-m", "bench.web_load", "--index", str(index_dir), "--port", str(port)],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_ready(port, server)
        # One request per query kind first: templates compiled, facet columns read.
        warm = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        warm.request("GET", "/search?" + urlencode({"q": queries[0]}))
        warm.getresponse().read()
        warm.close()
        return _load(port, queries, max_requests, max_seconds, clients)
    finally:
        stop_process(server, timeout=10)


def _load(
    port: int, queries: Sequence[str], max_requests: int, max_seconds: float, clients: int
) -> dict[str, Any]:
    lock = threading.Lock()
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    issued = 0
    deadline = time.monotonic() + max_seconds

    def take() -> int | None:
        nonlocal issued
        with lock:
            if issued >= max_requests or time.monotonic() >= deadline:
                return None
            issued += 1
            return issued

    def client(offset: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        n = offset
        while take() is not None:
            path = "/search?" + urlencode({"q": queries[n % len(queries)]})
            n += clients
            started = time.perf_counter()
            try:
                conn.request("GET", path)
                response = conn.getresponse()
                response.read()
                status = response.status
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                status = 0
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                statuses[status] += 1
                if status == 200:
                    latencies.append(elapsed)
        conn.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    done = sum(statuses.values())
    return {
        "clients": clients,
        "requests": done,
        "seconds": round(wall, 2),
        "requests_per_s": round(statuses[200] / wall, 1) if wall else 0.0,
        "p50_ms": round(percentile(latencies, 50), 1) if latencies else 0.0,
        "p95_ms": round(percentile(latencies, 95), 1) if latencies else 0.0,
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
    }


def _serve(argv: list[str]) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m bench.web_load")
    parser.add_argument("--index", required=True, type=Path)
    parser.add_argument("--port", required=True, type=int)
    args = parser.parse_args(argv)

    from waitress import serve

    from core.config import Settings
    from web import create_app

    app = create_app(Settings(index_dir=args.index))
    serve(app, host="127.0.0.1", port=args.port, threads=CLIENTS, _quiet=True)
    return 0


if __name__ == "__main__":
    sys.exit(_serve(sys.argv[1:]))
