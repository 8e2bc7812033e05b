"""The one-writer rule: an exclusive ``flock`` on the index directory itself.

The kernel drops the lock when its process dies, even by SIGKILL, so it is never stale.
It is taken on the directory, not on a file in it: a lock file can be deleted while its
writer runs, and the next writer would then lock a new file of the same name and write
beside the first (a review found 10,000 documents for 6,000 ids that way). ``writer.lock``
only tells who holds the lock (its PID), for the message a waiting writer prints.
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import time
from pathlib import Path

from core.errors import IndexLocked

log = logging.getLogger(__name__)

LOCK_NAME = "writer.lock"


class WriterLock:
    """An exclusive ``flock`` on the index directory: waits up to ``timeout`` seconds."""

    def __init__(self, index_dir: Path, timeout: float) -> None:
        self.directory = Path(index_dir)
        self.path = self.directory / LOCK_NAME
        self.timeout = timeout
        self._fd: int | None = None

    def acquire(self) -> None:
        fd = os.open(self.directory, os.O_RDONLY | os.O_DIRECTORY)
        deadline = time.monotonic() + self.timeout
        announced = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    os.close(fd)
                    raise
            if time.monotonic() >= deadline:
                holder = _read_holder(self.path)
                os.close(fd)
                raise IndexLocked(
                    f"another govmail writer{holder} is updating {self.path.parent}; "
                    f"waited {self.timeout:g} s (raise lock_timeout to wait longer)"
                )
            if not announced:
                log.info("waiting for another writer to release %s", self.path)
                announced = True
            time.sleep(0.05)
        self._fd = fd
        try:
            self.path.write_text(f"{os.getpid()}\n", encoding="ascii")
        except OSError as exc:
            # Who holds the lock is only for messages; the lock itself is held.
            log.warning("cannot write %s: %s", self.path, exc.strerror or exc)

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def _read_holder(path: Path) -> str:
    try:
        pid = path.read_text(encoding="ascii", errors="replace")[:32].strip()
    except OSError:
        return ""
    return f" (pid {pid})" if pid.isdigit() else ""
