"""Issue 18, item 7 and the serve rows of 9: the real `govmail serve` under hostile clients.

Bounded: 150 connections that trickle header bytes for 20 s while real requests must
answer within 2 s; waitress's own 400 carries the security headers; a taken port is one
line naming a free one; absolute URLs never echo the Host header.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.hardening import corpus

TRICKLERS = 150
TRICKLE_SECONDS = 20


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    index = corpus.build(tmp_path_factory.mktemp("serve") / "ix", messages=60, words=300)
    port = _free_port()
    log = tmp_path_factory.mktemp("serve-log") / "serve.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "govmail.cli", "serve", "--index", str(index), "--port",
             str(port), "--threads", "4"],
            cwd=REPO, stdout=subprocess.DEVNULL, stderr=out,
            env={**os.environ, "PYTHONPATH": str(REPO),
                 "GOVMAIL_BASE_URL": "https://search.example.org/gov"},
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                    break
            except OSError:
                assert process.poll() is None, log.read_text()
                assert time.monotonic() < deadline, "the server never answered"
                time.sleep(0.1)
        yield port, index
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _raw(port: int, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_waitress_errors_carry_security_headers(server: tuple[int, Path]) -> None:
    port, _ = server
    answer = _raw(port, b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n")
    head = answer.split(b"\r\n\r\n")[0].decode("latin-1")
    assert head.startswith("HTTP/1.1 400"), head
    assert "Content-Security-Policy: default-src 'self'" in head
    assert "X-Content-Type-Options: nosniff" in head


def test_absolute_urls_ignore_the_host_header(server: tuple[int, Path]) -> None:
    port, _ = server
    for path in (b"/opensearch.xml", b"/feed.atom"):
        answer = _raw(port, b"GET " + path + b" HTTP/1.1\r\nHost: attacker-zq.invalid\r\n"
                      b"X-Forwarded-Host: attacker-two-zq.invalid\r\nConnection: close\r\n\r\n")
        assert b"attacker" not in answer
        assert b"https://search.example.org/gov/" in answer, answer[:600]


def test_taken_port_is_one_line(server: tuple[int, Path]) -> None:
    port, index = server
    done = subprocess.run(
        [sys.executable, "-m", "govmail.cli", "serve", "--index", str(index), "--port",
         str(port)], cwd=REPO, capture_output=True, text=True, timeout=60,
        env={**os.environ, "PYTHONPATH": str(REPO)})
    assert done.returncode == 2
    assert done.stderr.startswith(f"Error: port {port} is in use; try --port ")
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr


@pytest.mark.slow
def test_tricklers_do_not_block_real_requests(server: tuple[int, Path]) -> None:
    port, _ = server
    tricklers = []
    try:
        for _ in range(TRICKLERS):
            sock = socket.create_connection(("127.0.0.1", port), timeout=5)
            sock.sendall(b"GET /search?q=a HTTP/1.1\r\nHost: x\r\n")
            tricklers.append(sock)
        slowest = 0.0
        answered = 0
        end = time.monotonic() + TRICKLE_SECONDS
        while time.monotonic() < end:
            for sock in tricklers:
                try:
                    sock.sendall(b"X")  # one more header byte each; never a full request
                except OSError:
                    pass
            started = time.monotonic()
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/search?q=governance",
                                        timeout=5) as response:
                assert response.status == 200
                response.read()
            slowest = max(slowest, time.monotonic() - started)
            answered += 1
            time.sleep(0.5)
        print(f"\n{TRICKLERS} tricklers for {TRICKLE_SECONDS} s: {answered} real requests, "
              f"slowest {slowest * 1000:.0f} ms")
        assert answered >= 10
        assert slowest < 2.0, slowest
    finally:
        for sock in tricklers:
            sock.close()
