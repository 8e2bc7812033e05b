"""A message's original bytes, found again from its :class:`SourceRef` (path + key).

The index keeps where each message was read (``source_json``), not its bytes: an archive
is gigabytes and already on disk. ``.eml`` downloads and mbox exports read the bytes back
here, with the very rules ``index/sources.py`` split them by (its ``FROM_LINE`` and the
blank line before it), so what comes back is byte for byte what the indexer read.
"""

from __future__ import annotations

import gzip
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.errors import SourceError
from core.records import SourceRef
from index import sources


@dataclass(frozen=True, slots=True)
class Original:
    """``stored``: the lines as the container holds them (mboxrd ``>From`` escapes kept);
    ``data``: the message as read (escapes undone, what :class:`RawMessage` held);
    ``envelope``: the mbox ``From`` line with its line end, when there was one."""

    stored: bytes
    data: bytes
    envelope: bytes | None = None

    def as_mbox(self) -> bytes:
        """An mbox entry: the original From_ line (or a neutral one) and the stored lines."""
        envelope = self.envelope or b"From MAILER-DAEMON Thu Jan  1 00:00:00 1970\n"
        body = self.stored if self.stored.endswith(b"\n") else self.stored + b"\n"
        # An mbox entry ends with a blank line, or the next From_ line would not split.
        return envelope + body + (b"" if body.endswith(b"\n\n") else b"\n")


def as_ref(source: SourceRef | Mapping[str, Any]) -> SourceRef:
    if isinstance(source, SourceRef):
        return source
    return SourceRef(str(source.get("path") or ""), str(source.get("key") or ""))


def _mbox_entry(path: Path, offset: int, limit: int) -> Original:
    with sources._open(path) as handle:  # noqa: SLF001 - the same gzip sniffing as the reader
        handle.seek(offset)
        first = handle.readline(sources.LINE_PIECE)
        envelope = first if sources.FROM_LINE.match(first) else None
        lines: list[bytes] = [] if envelope else [first]
        size = 0 if envelope else len(first)
        previous_blank = False
        while piece := handle.readline(sources.LINE_PIECE):
            if previous_blank and piece.startswith(b"From ") and sources.FROM_LINE.match(piece):
                break
            size += len(piece)
            if size > limit:
                raise SourceError(f"{path}:{offset}: message is over {limit} bytes")
            lines.append(piece)
            previous_blank = not piece.strip()
    stored = b"".join(lines)
    return Original(stored, sources._unescape(lines), envelope)  # noqa: SLF001


def read(source: SourceRef | Mapping[str, Any], limit: int = 64 << 20) -> Original:
    """The original of one message; SourceError when its file is gone or changed shape."""
    ref = as_ref(source)
    path = Path(ref.path)
    try:
        if path.is_dir():
            # A Maildir: the key is the file's path inside it.
            target = (path / ref.key).resolve()
            if not target.is_relative_to(path.resolve()):
                raise SourceError(f"{ref}: key points outside its Maildir")
            data = _read_file(target, limit)
            return Original(data, data)
        if ref.key.isdigit():
            return _mbox_entry(path, int(ref.key), limit)
        data = _read_file(path, limit)
        return Original(data, data)
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        raise SourceError(f"cannot read the original of {ref}: {reason}") from exc


def _read_file(path: Path, limit: int) -> bytes:
    with sources._open(path) as handle:  # noqa: SLF001
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise SourceError(f"{path}: message is over {limit} bytes")
    return data
