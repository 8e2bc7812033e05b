"""Files and folders -> :class:`RawMessage` (or :class:`Rejection`), streamed, in source order.

Owns format sniffing by content (never by extension), mbox / gzip mbox / pipermail splitting on
plausible ``From `` lines with byte offsets, Maildir walking (``:2,`` and ``;2,`` flags, nested
folders), LISTSERV notebook logs (messages between rows of 73 ``=``), single messages, bare
bodies and archive HTML pages (a message page is one message; an index page is reported,
see :mod:`index.archive_pages`). Does not decode anything: bytes leave as read
(except mboxrd ``>From `` unescaping, which is part of the container format).
"""

from __future__ import annotations

import gzip
import os
import re
from collections.abc import Iterator
from pathlib import Path

from core.records import RawMessage, Rejection, SourceRef
from index import archive_pages

# A From_ line worth splitting on: sender, then an asctime date (normalisation.md §5.5).
# Pipermail's sender is "x at y", hence the lazy match over spaces.
FROM_LINE = re.compile(
    rb"^From (?P<sender>\S.*?)\s+(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun),?\s+)?"
    rb"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*\s+\d{1,2},?\s+"
    rb"(?:\d{4}\s+)?\d{1,2}:\d\d(?::\d\d)?\s*(?:[A-Z]{2,5}\s+|[+-]\d{4}\s+)?(?:\d{2,4})?"
)
# What Mailman itself writes: sender, two spaces or one, then time.ctime() to the end of the
# line. Only this exact shape may split where no blank line precedes it.
_STRICT_FROM_LINE = re.compile(
    rb"^From \S+(?: (?:at|@ending from|@end\|ng \|rom) \S+)? +(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) "
    rb"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ \d]\d \d\d:\d\d:\d\d \d{4}\r?\n$"
)
# Pipermail's obfuscated senders: "x at y", and since 2018 "x @ending from y" ("@end|ng |rom").
_PIPERMAIL_SENDER = re.compile(rb"^\S+ (?:at|@ending from|@end\|ng \|rom) \S+$", re.IGNORECASE)
_MBOXRD = re.compile(rb"^>(>*From )")
_MMDF = b"\x01\x01\x01\x01"
# LISTSERV's notebook logs (LIST.LOGyymm[A-E]): each message follows a row of 73 "=", its
# header block first. A row in a body is no separator unless a header line follows it.
_LISTSERV_ROW = b"=" * 73
_LISTSERV_NAME = re.compile(r"^(?P<list>.+)\.LOG\d{4}[A-Z]?$", re.IGNORECASE)
_HEADER = re.compile(rb"^[!-9;-~]+:[ \t]?")
_PIPERMAIL_NAME = re.compile(
    r"^(?:(?P<list>.+?)[-_.])?\d{4}-(?:January|February|March|April|May|June|July|August|"
    r"September|October|November|December|Week-of-Mon-\d{8}|q\d)\.txt(?:\.gz)?$",
    re.IGNORECASE,
)
_MAILDIR_PARTS = ("cur", "new")
# Most an mbox reader holds of one physical line at a time (see _iter_mbox).
LINE_PIECE = 1 << 20
_SKIP_DIRS = frozenset({"tmp", ".git", "__pycache__", ".hg", ".svn"})


def _open(path: Path):
    with open(path, "rb") as probe:
        magic = probe.read(2)
    if magic == b"\x1f\x8b":
        return gzip.open(path, "rb")
    return open(path, "rb")


def _head(path: Path, size: int = 8192) -> tuple[bytes, bool]:
    with open(path, "rb") as probe:
        magic = probe.read(2)
    gz = magic == b"\x1f\x8b"
    with _open(path) as handle:
        return handle.read(size), gz


def is_maildir(path: Path) -> bool:
    return path.is_dir() and any((path / part).is_dir() for part in _MAILDIR_PARTS)


def sniff(path: str | Path) -> str:
    """The format of a path by its content: "maildir", "folder", "mbox", "mbox.gz",
    "pipermail", "pipermail.gz", "mmdf", "listserv", "eml", "hypermail", "pipermail-html",
    "archive-index", "body", "empty" or "binary"."""
    path = Path(path)
    if path.is_dir():
        return "maildir" if is_maildir(path) else "folder"
    head, gz = _head(path)
    suffix = ".gz" if gz else ""
    stripped = head.lstrip(b"\r\n\t ")
    if not stripped:
        return "empty"
    if stripped.startswith(b"<") or len(stripped) < 64:
        page = archive_pages.classify(stripped)
        if page is not None:
            return "archive-index" if page == "index" else page
    if stripped.startswith(_MMDF):
        return "mmdf"
    first, _, rest = stripped.partition(b"\n")
    first = first.rstrip(b"\r")
    if first == _LISTSERV_ROW and _HEADER.match(rest):
        return "listserv"
    found = FROM_LINE.match(first)
    if found:
        kind = "pipermail" if _PIPERMAIL_SENDER.match(found.group("sender")) else "mbox"
        return kind + suffix
    if _HEADER.match(first) or first.startswith(b"From "):
        return "eml"
    if b"\x00" in head[:4096] and not head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "binary"
    return "body"


def pipermail_list(path: Path) -> str:
    """List name of a pipermail monthly file: ``governance-2010-February.txt`` or the folder."""
    found = _PIPERMAIL_NAME.match(path.name)
    if found and found.group("list"):
        return found.group("list")
    return path.parent.name


def pipermail_page_list(path: Path) -> str | None:
    """List of a pipermail HTML page, ``<list>/2005-May/001430.html``: the month folder's parent."""
    if _PIPERMAIL_NAME.match(path.parent.name + ".txt"):
        return path.parent.parent.name or None
    return None


def _unescape(lines: list[bytes]) -> bytes:
    return b"".join(_MBOXRD.sub(rb"\1", line) if line.startswith(b">") else line
                    for line in lines)


def _iter_mbox(path: Path, fmt: str, list_hint: str | None,
               max_bytes: int | None) -> Iterator[RawMessage | Rejection]:
    kind = "pipermail" if fmt.startswith("pipermail") else "mbox"
    if kind == "pipermail" and list_hint is None:
        list_hint = pipermail_list(path)
    offset = 0
    start: int | None = None
    envelope: str | None = None
    lines: list[bytes] = []
    size = 0
    previous_blank = True
    # A From_ line right after a text line (no blank line before it, as Mailman writes some
    # pipermail .txt) starts a message only if a header line follows: held here until then.
    held: tuple[bytes, int] | None = None

    def emit() -> RawMessage | Rejection:
        ref = SourceRef(str(path), str(start))
        if max_bytes is not None and size > max_bytes:
            return Rejection(ref, "limits",
                             f"message of {size} bytes exceeds max_message_bytes ({max_bytes})")
        return RawMessage(ref, _unescape(lines), kind, envelope, list_hint)

    with _open(path) as handle:
        # readline(LINE_PIECE), not `for line in handle`: a 100 MB message on one line
        # would be held whole before max_message_bytes could refuse it. A longer line
        # arrives in pieces; only a piece that starts a line can be a From_ line.
        readline = handle.readline
        line_start = True
        line_blank = True
        while piece := readline(LINE_PIECE):
            ends_line = piece.endswith(b"\n")
            blank = not piece.strip()
            if held is not None:
                held_line, held_at = held
                held = None
                if _HEADER.match(piece):
                    yield emit()
                    envelope = held_line.rstrip(b"\r\n").decode("utf-8", "replace")
                    start, lines, size = held_at, [], 0
                elif max_bytes is None or size <= max_bytes:
                    lines.append(held_line)
                    size += len(held_line)
                else:
                    size += len(held_line)
            if line_start and ends_line and piece.startswith(b"From ") and \
                    FROM_LINE.match(piece) and (previous_blank or start is None
                                                or _STRICT_FROM_LINE.match(piece)):
                if start is not None and not previous_blank:
                    held = (piece, offset)
                else:
                    if start is not None:
                        yield emit()
                    envelope = piece.rstrip(b"\r\n").decode("utf-8", "replace")
                    start, lines, size = offset, [], 0
            elif start is None:
                if not blank:
                    # Text before the first From_ line: keep it as a message of its own.
                    start, envelope, lines, size = offset, None, [piece], len(piece)
            elif max_bytes is None or size <= max_bytes:
                lines.append(piece)
                size += len(piece)
                if max_bytes is not None and size > max_bytes:
                    lines = []
            else:
                size += len(piece)
            if ends_line:
                previous_blank = blank and (line_start or line_blank)
                line_start = True
            else:
                line_blank = blank and (line_start or line_blank)
                line_start = False
            offset += len(piece)
    if held is not None:
        lines.append(held[0])
        size += len(held[0])
    if start is not None:
        yield emit()


def _iter_mmdf(path: Path, list_hint: str | None) -> Iterator[RawMessage | Rejection]:
    offset = 0
    start: int | None = None
    lines: list[bytes] = []
    with _open(path) as handle:
        for line in handle:
            if line.rstrip(b"\r\n") == _MMDF:
                if start is not None and b"".join(lines).strip():
                    yield RawMessage(SourceRef(str(path), str(start)), b"".join(lines), "mbox",
                                     None, list_hint)
                start, lines = offset + len(line), []
            elif start is not None:
                lines.append(line)
            offset += len(line)
    if start is not None and b"".join(lines).strip():
        yield RawMessage(SourceRef(str(path), str(start)), b"".join(lines), "mbox", None,
                         list_hint)


def listserv_list(path: Path) -> str:
    """List name of a LISTSERV notebook log, ``3GPP_TSG_SA_WG2.LOG1305E``, or the folder."""
    found = _LISTSERV_NAME.match(path.name)
    return found.group("list") if found else path.parent.name


def _iter_listserv(path: Path, list_hint: str | None,
                   max_bytes: int | None) -> Iterator[RawMessage | Rejection]:
    list_hint = list_hint or listserv_list(path)

    def emit(start: int, lines: list[bytes]) -> RawMessage | Rejection:
        ref = SourceRef(str(path), str(start))
        size = sum(map(len, lines))
        if max_bytes is not None and size > max_bytes:
            return Rejection(ref, "limits",
                             f"message of {size} bytes exceeds max_message_bytes ({max_bytes})")
        return RawMessage(ref, b"".join(lines), "mbox", None, list_hint)

    offset = 0
    start: int | None = None
    lines: list[bytes] = []
    row_pending: bytes | None = None  # a row of "=", separator only if a header follows
    with _open(path) as handle:
        for line in handle:
            if row_pending is not None:
                if _HEADER.match(line):
                    if start is not None and b"".join(lines).strip():
                        yield emit(start, lines)
                    start, lines = offset, []
                else:
                    lines.append(row_pending)
                row_pending = None
            if line.rstrip(b"\r\n") == _LISTSERV_ROW:
                row_pending = line
            elif start is not None:
                lines.append(line)
            offset += len(line)
    if row_pending is not None and start is not None:
        lines.append(row_pending)
    if start is not None and b"".join(lines).strip():
        yield emit(start, lines)


def _read_single(path: Path, fmt: str, key: str, ref_path: Path, list_hint: str | None,
                 max_bytes: int | None) -> RawMessage | Rejection:
    ref = SourceRef(str(ref_path), key)
    size = path.stat().st_size
    if max_bytes is not None and size > max_bytes:
        return Rejection(ref, "limits",
                         f"message of {size} bytes exceeds max_message_bytes ({max_bytes})")
    with _open(path) as handle:
        data = handle.read() if max_bytes is None else handle.read(max_bytes + 1)
    if max_bytes is not None and len(data) > max_bytes:
        return Rejection(ref, "limits",
                         f"message over {max_bytes} bytes exceeds max_message_bytes")
    return RawMessage(ref, data, fmt, None, list_hint)


def _read_page(path: Path, fmt: str, list_hint: str | None,
               max_bytes: int | None) -> RawMessage | Rejection:
    container: tuple[tuple[str, str], ...] = ()
    if fmt == archive_pages.PIPERMAIL_HTML:
        list_hint = list_hint or pipermail_page_list(path)
        own_id = archive_pages.pipermail_page_id(path)
        if own_id:
            container = (("Message-ID", own_id),)
    read = _read_single(path, fmt, "", path, list_hint, max_bytes)
    if isinstance(read, RawMessage) and container:
        return RawMessage(read.source, read.data, fmt, None, list_hint, container)
    return read


def _iter_file(path: Path, list_hint: str | None,
               max_bytes: int | None) -> Iterator[RawMessage | Rejection]:
    fmt = sniff(path)
    if fmt in ("mbox", "mbox.gz", "pipermail", "pipermail.gz"):
        yield from _iter_mbox(path, fmt, list_hint, max_bytes)
    elif fmt in archive_pages.FORMATS:
        yield _read_page(path, fmt, list_hint, max_bytes)
    elif fmt == "archive-index":
        yield Rejection(SourceRef(str(path)), "source", archive_pages.INDEX_REASON)
    elif fmt == "mmdf":
        yield from _iter_mmdf(path, list_hint)
    elif fmt == "listserv":
        yield from _iter_listserv(path, list_hint, max_bytes)
    elif fmt == "empty":
        yield Rejection(SourceRef(str(path)), "source", "empty file")
    elif fmt == "binary":
        yield Rejection(SourceRef(str(path)), "source", "binary file, not mail")
    else:
        yield _read_single(path, fmt, "", path, list_hint, max_bytes)


def _maildir_files(root: Path) -> Iterator[Path]:
    for part in _MAILDIR_PARTS:
        folder = root / part
        if folder.is_dir():
            for entry in sorted(os.scandir(folder), key=lambda e: e.name):
                if entry.is_file() and not entry.name.startswith("."):
                    yield Path(entry.path)


def _iter_maildir(root: Path, list_hint: str | None,
                  max_bytes: int | None) -> Iterator[RawMessage | Rejection]:
    for file in _maildir_files(root):
        key = str(file.relative_to(root))
        try:
            yield _read_single(file, "maildir", key, root, list_hint, max_bytes)
        except OSError as exc:
            yield Rejection(SourceRef(str(root), key), "source", f"unreadable: {exc.strerror}")
    # Anything else inside a Maildir: nested folders (".Sub", "foo/baz/cur") and stray files.
    yield from _iter_folder(root, list_hint, max_bytes, skip=set(_MAILDIR_PARTS))


def _iter_folder(root: Path, list_hint: str | None, max_bytes: int | None,
                 skip: set[str] | None = None) -> Iterator[RawMessage | Rejection]:
    try:
        entries = sorted(os.scandir(root), key=lambda e: e.name)
    except OSError as exc:
        yield Rejection(SourceRef(str(root)), "source", f"unreadable folder: {exc.strerror}")
        return
    for entry in entries:
        if skip and entry.name in skip:
            continue
        if entry.name in _SKIP_DIRS and entry.is_dir():
            continue
        yield from iter_raw(entry.path, list_hint, max_message_bytes=max_bytes)


def iter_raw(path: str | Path, list_hint: str | None = None,
             max_message_bytes: int | None = None) -> Iterator[RawMessage | Rejection]:
    """Every message under ``path`` (file or folder, recursively), in a stable order.

    Unreadable files and folders become Rejections with stage "source"; nothing raises.
    ``max_message_bytes`` turns bigger messages into Rejections without holding them.
    """
    path = Path(path)
    try:
        if path.is_symlink() and path.is_dir():
            return
        if path.is_dir():
            if is_maildir(path):
                yield from _iter_maildir(path, list_hint, max_message_bytes)
            else:
                yield from _iter_folder(path, list_hint, max_message_bytes)
        elif path.is_file():
            yield from _iter_file(path, list_hint, max_message_bytes)
        elif not path.exists():
            yield Rejection(SourceRef(str(path)), "source", "no such file or folder")
    except (OSError, EOFError, gzip.BadGzipFile, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        yield Rejection(SourceRef(str(path)), "source", f"unreadable: {reason}")
