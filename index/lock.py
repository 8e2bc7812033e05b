"""The one-writer rule: an exclusive ``flock`` on ``writer.lock`` in the index directory.

The kernel drops the lock when its process dies, even by SIGKILL, so it is never stale
and never needs deleting by hand.
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
    """An exclusive ``flock`` on ``writer.lock``: waits up to ``timeout`` seconds."""

    def __init__(self, index_dir: Path, timeout: float) -> None:
        self.path = Path(index_dir) / LOCK_NAME
        self.timeout = timeout
        self._fd: int | None = None

    def acquire(self) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
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
                holder = _read_holder(fd)
                os.close(fd)
                raise IndexLocked(
                    f"another govmail writer{holder} is updating {self.path.parent}; "
                    f"waited {self.timeout:g} s (raise lock_timeout to wait longer)"
                )
            if not announced:
                log.info("waiting for another writer to release %s", self.path)
                announced = True
            time.sleep(0.05)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def _read_holder(fd: int) -> str:
    try:
        pid = os.pread(fd, 32, 0).decode().strip()
    except OSError:
        return ""
    return f" (pid {pid})" if pid.isdigit() else ""
