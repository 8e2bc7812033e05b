"""The scan of a source before it is read: which files, Maildir names and byte states it holds.

Per file: size, mtime, inode and fingerprints of its first and last bytes (so a run can
tell a file that only grew from one rewritten); per Maildir: the unique part of each file
name (so a message moving from new/ to cur/ is the same message). Used by ``indexer``
(record what was read in full) and ``incremental`` (decide what is new).
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from core.errors import ConfigError, SourceError
from index.catalog import SourceState

if TYPE_CHECKING:
    from core.records import Message, Rejection
    from index.writer import IndexWriterSession

FINGERPRINT_BYTES = 4096


def _fingerprint(handle: object, start: int, end: int) -> str:
    start = max(0, start)
    handle.seek(start)  # type: ignore[attr-defined]
    return hashlib.sha1(handle.read(max(0, end - start))).hexdigest()  # type: ignore[attr-defined]


def file_state(path: Path, kind: str = "file") -> SourceState:
    """The state of a file as it is now, read up to its current end."""
    info = path.stat()
    with open(path, "rb") as handle:
        head = _fingerprint(handle, 0, min(FINGERPRINT_BYTES, info.st_size))
        tail = _fingerprint(handle, info.st_size - FINGERPRINT_BYTES, info.st_size)
    return SourceState(
        path=str(path),
        kind=kind,
        size=info.st_size,
        mtime=info.st_mtime,
        inode=info.st_ino,
        offset=info.st_size,
        head_fp=head,
        tail_fp=tail,
    )


def is_maildir(path: Path) -> bool:
    return (path / "cur").is_dir() and (path / "new").is_dir()


def maildir_name(name: str) -> str:
    """The unique part of a Maildir file name: flags (":2,S" or stalwart's ";2,S") dropped."""
    return re.split(r"[:;]2,", name, maxsplit=1)[0]


@dataclass(slots=True)
class Snapshot:
    """What a source looked like before it was read; recorded once the read commits."""

    files: list[SourceState] = field(default_factory=list)
    maildir: dict[str, list[tuple[str, int, float]]] = field(default_factory=dict)

    def record(self, session: IndexWriterSession) -> None:
        for state in self.files:
            session.record_source(state)
        for root, entries in self.maildir.items():
            session.record_seen_files(root, entries)

    def as_read(
        self, items: Iterable[Message | Rejection], session: IndexWriterSession
    ) -> Iterator[Message | Rejection]:
        """The items, recording each file's state as soon as all it held was handed over.

        A file's state then commits with the batch holding its last messages, so a run
        killed halfway resumes after the files already committed instead of reading the
        whole archive again (after a SIGKILL at 20k messages a no-op rerun re-parsed
        everything: 44.6 s). A Maildir message is its own file: recorded with itself.
        """
        files = {state.path: state for state in self.files}
        maildir = {root: {e[0]: e for e in entries} for root, entries in self.maildir.items()}
        current: str | None = None
        for item in items:
            path = item.source.path
            if path != current:
                if current in files:
                    session.record_source(files.pop(current))
                current = path
            if path in maildir and item.source.key:
                entry = maildir[path].pop(maildir_name(Path(item.source.key).name), None)
                if entry is not None:
                    session.record_seen_files(path, [entry])
            yield item
        for state in files.values():
            session.record_source(state)
        for root, entries in maildir.items():
            if entries:
                session.record_seen_files(root, list(entries.values()))


@dataclass(frozen=True, slots=True)
class FileEntry:
    path: Path
    size: int
    mtime: float
    inode: int


FOLLOW_SYMLINKS = ("false", "within", "all")
# Files a folder of mail often holds beside it that are never mail: a README.md was
# indexed as a message from "(unknown)". Matched on the whole name, case-insensitively.
NOT_MAIL = re.compile(
    r"(?:readme|license|licence|copying|changelog|notice|authors)(?:\.\w{1,4})?|.*\.(?:md|rst)",
    re.IGNORECASE,
)


@dataclass(slots=True)
class Scan:
    """What a source holds: plain files, Maildir messages by root, and what could not be read.

    ``problems`` are (path, reason) pairs: each becomes a reported Rejection of the run,
    so an unreadable entry is never silent and never stops the others.
    """

    plain: list[FileEntry] = field(default_factory=list)
    maildirs: dict[Path, list[FileEntry]] = field(default_factory=dict)
    problems: list[tuple[str, str]] = field(default_factory=list)


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc) or type(exc).__name__


def _within(target: str, root: str) -> bool:
    return target == root or target.startswith(root.rstrip("/") + "/")


def walk(path: Path, follow_symlinks: str = "within") -> Scan:
    """Plain files and Maildir messages (by Maildir root) under path, with one stat each.

    Iterative (a stack, never recursion: 600 nested folders once hit RecursionError);
    every directory is entered once by (device, inode), so a symlink loop is reported,
    not followed forever. Symlinks are followed per ``follow_symlinks``: "false" never,
    "within" (the default) only to targets inside ``path``, "all" anywhere. Only regular
    files are read: a FIFO would block the run, a device or /proc file is not mail.
    """
    if follow_symlinks not in FOLLOW_SYMLINKS:
        raise ConfigError(
            f"follow_symlinks = {follow_symlinks!r}: use one of {', '.join(FOLLOW_SYMLINKS)}"
        )
    scan = Scan()
    path = Path(path)
    try:
        info = path.stat()
    except OSError as exc:
        raise SourceError(f"cannot read {path}: {_reason(exc)}") from exc
    if stat.S_ISREG(info.st_mode):
        scan.plain.append(FileEntry(path, info.st_size, info.st_mtime, info.st_ino))
        return scan
    if not stat.S_ISDIR(info.st_mode):
        raise SourceError(f"cannot read {path}: not a file or folder")
    root = os.path.realpath(path)
    seen: set[tuple[int, int]] = {(info.st_dev, info.st_ino)}
    stack = [path]
    first = True
    while stack:
        folder = stack.pop()
        try:
            with os.scandir(folder) as found:
                children = sorted(found, key=lambda e: e.name)
        except OSError as exc:
            if first:
                raise SourceError(f"cannot read {folder}: {_reason(exc)}") from exc
            scan.problems.append((str(folder), f"unreadable folder: {_reason(exc)}"))
            continue
        first = False
        names = {e.name for e in children}
        maildir = "cur" in names and "new" in names and is_maildir(folder)
        if maildir:
            scan.maildirs[folder] = _maildir_entries(folder, scan)
        for entry in children:
            if entry.name.startswith("."):
                continue
            if maildir and entry.name in ("cur", "new", "tmp"):
                continue
            item = _classify(entry, root, follow_symlinks, scan)
            if item is None:
                continue
            kind, entry_info = item
            if kind == "dir":
                key = (entry_info.st_dev, entry_info.st_ino)
                if key in seen:
                    scan.problems.append((entry.path, "folder already scanned (a symlink loop?)"))
                    continue
                seen.add(key)
                stack.append(Path(entry.path))
            elif not maildir:
                # Files beside cur/new (dovecot-uidlist, maildirfolder) are not mail.
                if NOT_MAIL.fullmatch(entry.name):
                    continue
                scan.plain.append(
                    FileEntry(Path(entry.path), entry_info.st_size, entry_info.st_mtime,
                              entry_info.st_ino)
                )
    scan.plain.sort(key=lambda e: str(e.path))
    return scan


def _classify(
    entry: os.DirEntry[str], root: str, follow_symlinks: str, scan: Scan
) -> tuple[str, os.stat_result] | None:
    """("dir" | "file", stat) for an entry to scan, None (with a problem noted) otherwise."""
    try:
        if entry.is_symlink():
            if follow_symlinks == "false":
                scan.problems.append((entry.path, "symlink not followed (follow_symlinks = false)"))
                return None
            target = os.path.realpath(entry.path)
            if follow_symlinks == "within" and not _within(target, root):
                scan.problems.append(
                    (entry.path, f"symlink to {target}, outside the source, not followed "
                                 "(follow_symlinks = within)")
                )
                return None
        info = os.stat(entry.path)
    except OSError as exc:
        # A dangling symlink, a loop the kernel refused (ELOOP), a file deleted meanwhile.
        scan.problems.append((entry.path, f"unreadable: {_reason(exc)}"))
        return None
    if stat.S_ISDIR(info.st_mode):
        return "dir", info
    if stat.S_ISREG(info.st_mode):
        return "file", info
    scan.problems.append((entry.path, "not a regular file (device, FIFO or socket)"))
    return None


def _maildir_entries(folder: Path, scan: Scan) -> list[FileEntry]:
    entries: list[FileEntry] = []
    for sub in ("new", "cur"):
        try:
            with os.scandir(folder / sub) as found:
                children = list(found)
        except OSError as exc:
            scan.problems.append((str(folder / sub), f"unreadable folder: {_reason(exc)}"))
            continue
        for entry in children:
            if entry.name.startswith("."):
                continue
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError:
                continue  # delivered and moved (new/ -> cur/) or deleted during the scan
            if stat.S_ISREG(info.st_mode):
                entries.append(FileEntry(Path(entry.path), info.st_size, info.st_mtime, 0))
            else:
                scan.problems.append((entry.path, "not a regular file"))
    return entries


def snapshot(scan: Scan) -> Snapshot:
    """The full state of a scanned source, for recording after an unconditional read of it.

    A file that cannot be fingerprinted now is left out (and noted in ``scan.problems``
    if the read cannot open it either): it is read again next time.
    """
    snap = Snapshot()
    for entry in scan.plain:
        try:
            snap.files.append(file_state(entry.path))
        except OSError:
            continue
    for root, entries in scan.maildirs.items():
        snap.maildir[str(root)] = [(maildir_name(e.path.name), e.size, e.mtime) for e in entries]
    return snap
