"""The deep check of ``govmail serve``, run beside the server instead of before it (issue 19).

Reading every segment whole took over 120 s at 100,000 messages on a loaded 2-core
machine, and nothing answered meanwhile. The cheap checks (the TOC opens, every segment
file has its recorded size, the catalog opens) still run before serving; this one runs in
a child process at the lowest CPU priority. Not in a thread: Whoosh's decoding holds the
GIL the request threads need, and a niced thread holding it would stall them longer still.
The child is a session of its own, so a Ctrl-C at the terminal reaches only the server,
which then ends the child.

The child runs ``backends.verify_index`` (the one check, also ``govmail check``'s) and
prints its problems as JSON; the parent's thread hands them to ``on_done``.
"""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from core.processes import stop_process

# Seconds close() waits for the child after SIGTERM (and again after SIGKILL).
STOP_TIMEOUT = 5.0
# Reads of the whole index before giving up on one that a commit changes every time.
ATTEMPTS = 3


class BackgroundCheck:
    """One deep check of ``settings``' index in a niced child process.

    ``on_done(problems, seconds, note)`` is called once from a thread when the child has
    answered: ``problems`` as ``verify_index`` gives them (``note`` then says how many
    reads it took when a commit came during one), or None with ``note`` saying why there
    is no verdict. Not called after :meth:`close`.
    """

    def __init__(self, settings: Any,
                 on_done: Callable[[list[str] | None, float, str], None]) -> None:
        self.settings = settings
        self.on_done = on_done
        self.process: subprocess.Popen[bytes] | None = None
        self._thread: threading.Thread | None = None
        self._closing = threading.Event()

    def start(self) -> int:
        """Start the child; its process id."""
        self.process = subprocess.Popen(
            # The server's pid: a child that starts after its server died knows at once.
            [sys.executable, "-m", "govmail.deepcheck", str(os.getpid())],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            start_new_session=True,
        )
        self._thread = threading.Thread(target=self._wait, name="govmail-deep-check",
                                        daemon=True)
        self._thread.start()
        return self.process.pid

    def _wait(self) -> None:
        assert self.process is not None
        started = time.monotonic()
        try:
            out, err = self.process.communicate(pickle.dumps(self.settings))
        except OSError as exc:  # the child died before reading its settings
            out, err = b"", str(exc).encode()
        seconds = time.monotonic() - started
        if self._closing.is_set():
            return
        try:
            answer = json.loads(out)
            problems, note = answer["problems"], str(answer["note"])
        except (ValueError, KeyError, TypeError):
            lines = err.decode("utf-8", "replace").strip().splitlines()
            why = lines[-1] if lines else f"exit status {self.process.returncode}"
            self.on_done(None, seconds, why)
            return
        self.on_done(None if problems is None else [str(p) for p in problems], seconds, note)

    def close(self) -> None:
        """Stop the child if it still runs (bounded), and forget its verdict."""
        self._closing.set()
        process = self.process
        if process is not None:
            stop_process(process, timeout=STOP_TIMEOUT)
        if self._thread is not None:
            self._thread.join(timeout=STOP_TIMEOUT)


def _orphaned(parent: int) -> None:
    # A server killed by SIGKILL cannot end its child; the child ends itself within a
    # second of being handed to init, rather than read the index for nobody.
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(1)


def main() -> None:
    """The child: the server's pid as its argument, settings (pickled) on stdin,
    ``{"problems", "note"}`` on stdout."""
    os.nice(19)
    threading.Thread(target=_orphaned, args=(int(sys.argv[1]),), daemon=True).start()
    settings = pickle.load(sys.stdin.buffer)
    from backends import open_reader, verify_index

    def generation() -> int:
        reader = open_reader(settings)
        try:
            return reader.generation()
        finally:
            reader.close()

    # An indexer may commit while the check reads, and a commit that merges segments
    # deletes files the check was about to read: what it then finds is no damage. Only a
    # read during which the index stayed one commit gives a verdict.
    for attempt in range(1, ATTEMPTS + 1):
        before = generation()
        gone: FileNotFoundError | None = None
        try:
            problems = verify_index(settings, deep=True, rate=settings.check_rate)
        except FileNotFoundError as exc:
            gone = exc
        if generation() == before:
            if gone is not None:
                raise gone  # nothing committed, yet a file went: the parent logs its line
            note = f"read {attempt} times: a commit came during the others" if attempt > 1 \
                else ""
            json.dump({"problems": problems, "note": note}, sys.stdout)
            return
    json.dump({"problems": None,
               "note": f"a commit came during each of {ATTEMPTS} reads"}, sys.stdout)


if __name__ == "__main__":
    main()
