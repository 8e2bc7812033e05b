"""The resident: `govmail serve` also answers `govmail search` over a unix socket.

A new process pays for Python, numpy and Whoosh on every search (most of its time, issue
19); a running server has them loaded and its index open. So, as lei does with
public-inbox, the server listens on ``.govmail.sock`` in the index directory (mode 0600:
the index owner's only) and a search whose settings match its own is answered there.
Never required: ``govmail/entry.py`` falls back to searching in process, silently, when
no socket answers, the settings differ, the index directory was replaced, or anything
at all goes wrong on the way (errors included: the in-process run prints them, so they
are worded once, by ``govmail/cli.py``).

One JSON request and one JSON response per connection, each one line, bounded in size
and time. This module's top level imports only the standard library: the client half
(:func:`ask`) runs before anything else is loaded.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Callable, Mapping, Sequence

# typing, pathlib and threading are the server's: the client path does without them.
TYPE_CHECKING = False
if TYPE_CHECKING:
    import threading
    from pathlib import Path
    from typing import Any

SOCKET_NAME = ".govmail.sock"
# Bumped when the request or response changes: an older server is then not asked.
PROTOCOL = 1
MAX_REQUEST = 1 << 20
# A page of 1000 hits with snippets is a few MB; the bound only stops a runaway.
MAX_RESPONSE = 64 << 20
CONNECT_TIMEOUT = 1.0
# Longer than any search should take; past it the client searches itself.
ANSWER_TIMEOUT = 30.0
READ_TIMEOUT = 5.0
CONNECTIONS = 8
# AF_UNIX paths are at most 107 bytes on Linux (sun_path); a longer one is not used.
MAX_SOCKET_PATH = 107


def socket_path(index_dir: str | Path) -> str:
    return os.path.join(os.path.abspath(index_dir), SOCKET_NAME)


def settings_key(settings: Any) -> str:
    """What the server compares: every setting (the dataclass's repr holds them all), the
    index directory made absolute, so a different config file, environment or --index is
    never answered by this server."""
    from dataclasses import replace
    from pathlib import Path

    return repr(replace(settings, index_dir=Path(settings.index_dir).resolve()))


# What core.config.load reads besides the file: the client sends these, the server loads
# the settings the client would have (core/config.py stays the one reader of them).
def client_environment(environ: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in environ.items()
            if k.startswith("GOVMAIL_") or k in ("XDG_DATA_HOME", "HOME")}


def _directory_id(index_dir: str | Path) -> tuple[int, int]:
    found = os.stat(index_dir)
    return found.st_dev, found.st_ino


def _read_line(conn: socket.socket, limit: int) -> bytes | None:
    """One newline-terminated message, or None when it is longer than ``limit``."""
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = conn.recv(65536)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            return None
        if chunk.endswith(b"\n"):
            break
    return b"".join(chunks)


# ---- the client: standard library only ----------------------------------------------


def ask(index_dir: str, config_path: str | None, environ: Mapping[str, str],
        args: Sequence[str], width: int, styled: bool) -> dict[str, Any] | None:
    """The resident's answer to ``govmail search ARGS`` ({"status", "stdout", "stderr"}),
    or None when there is no resident to ask or it declines.

    ``index_dir``: where the search would look; ``config_path`` and ``environ``: what its
    settings would be loaded from (the server loads them and compares with its own).
    """
    path = socket_path(index_dir)
    if len(os.fsencode(path)) > MAX_SOCKET_PATH:
        return None
    request = {"protocol": PROTOCOL, "index": os.path.abspath(index_dir),
               "config": os.path.abspath(config_path) if config_path else None,
               "env": client_environment(environ), "args": list(args), "width": width,
               "styled": styled}
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(CONNECT_TIMEOUT)
            conn.connect(path)
            conn.settimeout(ANSWER_TIMEOUT)
            conn.sendall(json.dumps(request).encode("utf-8") + b"\n")
            raw = _read_line(conn, MAX_RESPONSE)
    except OSError:  # absent, refused (a server that died), timed out: search in process
        return None
    if not raw:
        return None
    try:
        answer = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(answer, dict) or not isinstance(answer.get("status"), int):
        return None
    return answer


# ---- the server -------------------------------------------------------------------


class Resident:
    """Answers searches on the index's socket from one open Engine, in threads.

    ``parse`` turns the search arguments into the search command's parameters (the
    command line's own option parser, handed in so that this module never imports the
    command line). ``refusal`` gives the exit status and stderr every search gets instead
    of hits, once the server's background check has found the index damaged (a search in
    process checks sizes only, so it would answer from the damaged bytes).
    """

    def __init__(self, settings: Any, parse: Callable[[list[str]], Mapping[str, Any]],
                 refusal: Callable[[], tuple[int, str] | None] = lambda: None) -> None:
        import threading

        from search.engine import Engine

        self.settings = settings
        self.parse = parse
        self.refusal = refusal
        self.path = socket_path(settings.index_dir)
        self.key = settings_key(settings)
        self.directory = _directory_id(settings.index_dir)
        self.engine = Engine(settings)
        self._slots = threading.BoundedSemaphore(CONNECTIONS)
        self._stopped = threading.Event()
        self._listener: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._bound: tuple[int, int, int] | None = None

    # ---- lifetime --------------------------------------------------------------------

    def start(self) -> bool:
        """Listen; False (and nothing listening) when the path is too long or another
        live server already answers on it."""
        import threading

        if len(os.fsencode(self.path)) > MAX_SOCKET_PATH:
            return False
        if os.path.lexists(self.path):
            probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            probe.settimeout(CONNECT_TIMEOUT)
            try:
                probe.connect(self.path)
            except OSError:
                try:
                    os.unlink(self.path)  # left by a server that died
                except FileNotFoundError:
                    pass
            else:
                return False  # another server's: leave it answering
            finally:
                probe.close()
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        # Created 0600 (umask), not chmod-ed after: no moment where others may connect.
        old = os.umask(0o177)
        try:
            listener.bind(self.path)
        finally:
            os.umask(old)
        self._bound = self._socket_id()
        listener.listen(CONNECTIONS)
        listener.settimeout(1.0)  # the accept loop checks for close() once a second
        self._listener = listener
        self._thread = threading.Thread(target=self._accept, name="govmail-resident",
                                        daemon=True)
        self._thread.start()
        return True

    def close(self) -> None:
        self._stopped.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._listener is not None:
            self._listener.close()
            try:
                # Only our own socket: another server may have bound the path since.
                if self._bound is not None and self._socket_id() == self._bound:
                    os.unlink(self.path)
            except OSError:
                pass
        self.engine.close()

    def _socket_id(self) -> tuple[int, int, int] | None:
        # The change time too: a file system hands a freed inode number to the next file,
        # here the socket of a server that took the path over.
        try:
            found = os.stat(self.path)
            return found.st_dev, found.st_ino, found.st_ctime_ns
        except OSError:
            return None

    def _accept(self) -> None:
        import threading

        assert self._listener is not None
        while not self._stopped.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if not self._slots.acquire(blocking=False):
                conn.close()  # busy: that client searches in process
                continue
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            conn.settimeout(READ_TIMEOUT)
            raw = _read_line(conn, MAX_REQUEST)
            answer = self.answer(raw) if raw else {"declined": "no request"}
            conn.settimeout(ANSWER_TIMEOUT)
            conn.sendall(json.dumps(answer, ensure_ascii=False).encode("utf-8") + b"\n")
        except OSError:
            pass  # the client went away or timed out: it searches in process
        finally:
            conn.close()
            self._slots.release()

    # ---- one request -------------------------------------------------------------------

    def answer(self, raw: bytes) -> dict[str, Any]:
        """{"status", "stdout", "stderr"}, or {"declined": why} for the client to search
        in process."""
        import io

        from backends import verify_index
        from core import config
        from govmail.output import parse_columns, run_search

        try:
            request = json.loads(raw)
        except ValueError:
            return {"declined": "not JSON"}
        if not isinstance(request, dict) or request.get("protocol") != PROTOCOL:
            return {"declined": "another protocol"}
        try:
            env, config_path = request.get("env"), request.get("config")
            if not isinstance(env, dict) or not isinstance(config_path, str | None):
                return {"declined": "bad request"}
            theirs = config.load(config_path, env=env).with_overrides(
                index_dir=request.get("index"))
            if settings_key(theirs) != self.key:
                return {"declined": "other settings"}
            if _directory_id(self.settings.index_dir) != self.directory:
                return {"declined": "the index directory was replaced"}
            args = request.get("args")
            if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
                return {"declined": "bad arguments"}
            if "-h" in args or "--help" in args:
                return {"declined": "help"}  # printed by the client's own process
            params = self.parse(args)
            refused = self.refusal()
            if refused is not None:
                return {"status": refused[0], "stdout": "", "stderr": refused[1]}
            if verify_index(self.settings, deep=False):
                return {"declined": "the index is damaged"}
            out, err = io.StringIO(), io.StringIO()
            width = request.get("width")
            found = run_search(
                self.settings, " ".join(params["query"]), limit=params["limit"],
                page=params["page"], sort=params["sort"], fmt=params["fmt"],
                show_facets=params["show_facets"], count_only=params["count_only"],
                filters=params["filters"], out=out, err=err,
                columns=parse_columns(params["columns"]), engine=self.engine,
                width=width if isinstance(width, int) else None,
                styled=bool(request.get("styled")),
            )
        except Exception as exc:  # every error is worded once, by the in-process run
            return {"declined": type(exc).__name__}
        return {"status": 0 if found else 1, "stdout": out.getvalue(), "stderr": err.getvalue()}
