"""Whoosh's memory-mapped index files, read in place instead of copied whole on opening.

A segment is one compound file that Whoosh maps; each file inside it (postings, term
index, columns) opens as a ``BufferFile`` over a memoryview of the map, and
``BufferFile.__init__`` wraps that view in ``BytesIO``, which copies it. Opening a
segment reader therefore copied its whole postings file and term index, and every
column a search touched: on a 1M-message index (6 GB) the engine took 15.8 s to open and
its resident memory reached 10 GB. :class:`BufferReader` gives ``BufferFile`` the same
read, seek and tell over the view without copying it; ``get``, which most reads use, was
already a slice.

Importing this module applies the change (search/engine.py does, before opening an
index). The writer reads without mmap (index/writer.py) and is not affected.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from whoosh.filedb.structfile import BufferFile


class BufferReader:
    """BytesIO's reading half over a buffer it does not copy."""

    def __init__(self, buf: Any) -> None:
        self._buf = buf
        self._size = len(buf)
        self._pos = 0
        self.closed = False

    def _end(self, size: int | None) -> int:
        if size is None or size < 0:
            return self._size
        return min(self._size, self._pos + size)

    def read(self, size: int | None = -1) -> bytes:
        start, end = self._pos, self._end(size)
        if end <= start:
            return b""
        self._pos = end
        return bytes(self._buf[start:end])

    def readinto(self, target: Any) -> int:
        data = self.read(len(target))
        target[: len(data)] = data
        return len(data)

    def readline(self, size: int | None = -1) -> bytes:
        start, end = self._pos, self._end(size)
        at = start
        # Lines in Whoosh's files are pickle opcodes' arguments: short. Look in chunks so
        # that a long line costs no more than its own length.
        chunk = 256
        while at < end:
            found = bytes(self._buf[at : min(end, at + chunk)]).find(b"\n")
            if found >= 0:
                end = at + found + 1
                break
            at += chunk
            chunk *= 2
        return self.read(end - start) if end > start else b""

    def __iter__(self) -> Iterator[bytes]:
        while line := self.readline():
            yield line

    def seek(self, offset: int, whence: int = 0) -> int:
        if whence == 0:
            if offset < 0:
                raise ValueError(f"negative seek value {offset}")
            position = offset
        elif whence in (1, 2):
            # As BytesIO: relative seeks before the start stop at the start.
            position = max(0, (self._pos if whence == 1 else self._size) + offset)
        else:
            raise ValueError(f"invalid whence ({whence}, should be 0, 1 or 2)")
        self._pos = position
        return position

    def tell(self) -> int:
        return self._pos

    def close(self) -> None:
        self.closed = True


def _buffer_file_init(
    self: BufferFile, buf: Any, name: str | None = None, onclose: Any = None
) -> None:
    self._buf = buf
    self._name = name
    self.file = BufferReader(buf)
    self.onclose = onclose
    self.is_real = False
    self.is_closed = False

