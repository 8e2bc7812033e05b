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
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from core.errors import SourceError
from index.catalog import SourceState

if TYPE_CHECKING:
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


@dataclass(frozen=True, slots=True)
class FileEntry:
    path: Path
    size: int
    mtime: float
    inode: int


def walk(path: Path) -> tuple[list[FileEntry], dict[Path, list[FileEntry]]]:
    """Plain files and Maildir messages (by Maildir root) under path, with one stat each."""
    plain: list[FileEntry] = []
    maildirs: dict[Path, list[FileEntry]] = {}
    if path.is_file():
        info = path.stat()
        return [FileEntry(path, info.st_size, info.st_mtime, info.st_ino)], {}
    stack = [path]
    while stack:
        folder = stack.pop()
        if is_maildir(folder):
            entries: list[FileEntry] = []
            for sub in ("new", "cur"):
                with os.scandir(folder / sub) as found:
                    for entry in found:
                        if entry.is_file() and not entry.name.startswith("."):
                            info = entry.stat()
                            entries.append(
                                FileEntry(Path(entry.path), info.st_size, info.st_mtime, 0)
                            )
            maildirs[folder] = entries
        try:
            with os.scandir(folder) as found:
                children = sorted(found, key=lambda e: e.name)
        except OSError as exc:
            raise SourceError(f"cannot read {folder}: {exc.strerror or exc}") from exc
        for entry in children:
            if entry.name.startswith("."):
                continue
            if entry.is_dir(follow_symlinks=False):
                if folder in maildirs and entry.name in ("cur", "new", "tmp"):
                    continue
                stack.append(Path(entry.path))
            elif entry.is_file() and folder not in maildirs:
                # Files beside cur/new (dovecot-uidlist, maildirfolder) are not mail.
                info = entry.stat()
                if not stat.S_ISREG(info.st_mode):
                    continue
                plain.append(FileEntry(Path(entry.path), info.st_size, info.st_mtime, info.st_ino))
    plain.sort(key=lambda e: str(e.path))
    return plain, maildirs


def snapshot(path: Path) -> Snapshot:
    """The full state of a path, for recording after an unconditional read of it."""
    plain, maildirs = walk(Path(path).resolve())
    snap = Snapshot()
    for entry in plain:
        snap.files.append(file_state(entry.path))
    for root, entries in maildirs.items():
        snap.maildir[str(root)] = [(maildir_name(e.path.name), e.size, e.mtime) for e in entries]
    return snap
