"""What keeps a Whoosh index trustworthy on disk: its files fsynced, a size and digest of
every segment file, and ``verify``, which compares them (``govmail check``; every search and
server start). Apart from the store so that a search checks the index without importing the
writer's machinery (multiprocessing, the writing codec): it is on every command's path.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from whoosh import index as whoosh_index
from whoosh.filedb.filestore import FileStorage
from whoosh.reading import SegmentReader

from backends.whoosh.columns import CACHE_SUFFIX


def _fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# Size and BLAKE2b digest of every segment file a TOC names, written after each commit:
# Whoosh keeps no checksums, and a flipped byte made queries fail with zlib, Index or
# Value errors (or silently count wrong). ``verify`` compares against it.
CHECKSUMS = "checksums.json"


class _Pace:
    """Sleeps enough that at most ``rate`` MB a second are read (0: as fast as the disk).

    The check of a running server shares the disk and the page cache with its searches;
    ``govmail check``, which someone waits for, runs unbounded.
    """

    def __init__(self, rate: float) -> None:
        self.rate = rate * 1e6
        self.started = time.monotonic()
        self.read = 0

    def __call__(self, size: int) -> None:
        if self.rate <= 0:
            return
        self.read += size
        ahead = self.read / self.rate - (time.monotonic() - self.started)
        if ahead > 0:
            time.sleep(ahead)


def _digest(path: Path, pace: _Pace | None = None) -> str:
    digest = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
            if pace is not None:
                pace(len(chunk))
    return digest.hexdigest()


def _segment_files(folder: Path, segments: Iterable[Any]) -> dict[str, list[Path]]:
    ids = {s.segment_id(): [] for s in segments}  # type: dict[str, list[Path]]
    for path in folder.iterdir():
        if path.name.endswith(CACHE_SUFFIX):
            continue  # derived, rewritten whenever damaged (columns.py): not the segment
        for sid in ids:
            if path.name.startswith(sid + ".") or path.name.startswith(sid + "_"):
                ids[sid].append(path)
    return ids


def _write_checksums(folder: Path, segments: Iterable[Any]) -> None:
    try:
        old = json.loads((folder / CHECKSUMS).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        old = {}
    manifest = {}
    for files in _segment_files(folder, segments).values():
        for path in files:
            size = path.stat().st_size
            known = old.get(path.name)
            # A segment file never changes once its TOC is written: hash new ones only.
            manifest[path.name] = known if known and known[0] == size else [size, _digest(path)]
    temp = folder / f"{CHECKSUMS}.tmp"
    temp.write_text(json.dumps(manifest, sort_keys=True), encoding="utf-8")
    _fsync_path(temp)
    os.replace(temp, folder / CHECKSUMS)


def verify(index_dir: Path, deep: bool = True, rate: float = 0.0) -> list[str]:
    """What is wrong with an index, one line each naming the file ([] when sound).

    Shallow: the TOC opens and every segment file is there with its recorded size.
    Deep: also every file's digest, every stored document and every posting list read;
    ``rate``: most MB a second the digests read (0: no bound).
    """
    index_dir = Path(index_dir)
    pace = _Pace(rate)
    if not index_dir.is_dir() or not whoosh_index.exists_in(str(index_dir)):
        return []  # no index: what opening it says (IndexNotFound) is the right line
    try:
        ix = _storage(index_dir).open_index()
    except Exception as exc:  # the TOC is Whoosh's pickle: anything can come out of it
        return [f"table of contents in {index_dir}: unreadable ({type(exc).__name__}: {exc})"]
    problems: list[str] = []
    try:
        try:
            manifest = json.loads((index_dir / CHECKSUMS).read_text(encoding="utf-8"))
        except FileNotFoundError:
            manifest = None  # written before checksums existed: sizes unknown
        except ValueError:
            return [f"{index_dir / CHECKSUMS}: unreadable"]
        segments = ix._segments()
        files = _segment_files(index_dir, segments)
        for segment in segments:
            sid = segment.segment_id()
            if not files[sid]:
                problems.append(f"segment {sid}: its files are missing")
                continue
            bad = False
            for path in files[sid]:
                recorded = manifest.get(path.name) if manifest is not None else None
                if manifest is not None and recorded is None:
                    continue
                if recorded and path.stat().st_size != recorded[0]:
                    problems.append(f"segment {path.name}: {path.stat().st_size} bytes, "
                                    f"{recorded[0]} written (truncated or overwritten)")
                    bad = True
                elif recorded and deep and _digest(path, pace) != recorded[1]:
                    problems.append(f"segment {path.name}: its bytes changed since written")
                    bad = True
            if deep and not bad:
                problem = _read_whole(ix, segment)
                if problem:
                    problems.append(f"segment {sid}: {problem}")
    finally:
        ix.close()
    return problems


def _read_whole(ix: Any, segment: Any) -> str | None:
    try:
        reader = SegmentReader(ix.storage, ix.schema, segment)
        try:
            for docnum in range(reader.doc_count_all()):
                reader.stored_fields(docnum)
            for fieldname, text in reader.all_terms():
                list(reader.postings(fieldname, text).all_ids())
        finally:
            reader.close()
    except Exception as exc:  # a damaged file fails anywhere in Whoosh's decoders
        return f"unreadable ({type(exc).__name__}: {exc})"
    return None


def _storage(index_dir: Path) -> FileStorage:
    """The index's files, read with plain reads rather than mmap.

    Whoosh maps every segment file it reads; the writer's lookups for rewrites touched
    them all, and the writing process's RSS grew with the index (1.1 GB at 100,000
    messages, most of the ingestion tree's peak, then counted again in every forked
    writer child). Plain reads keep it flat: 3,000 lookups at 100k messages took 1.6 s
    CPU and 44 MB, against 986 MB mapped.
    """
    return FileStorage(str(index_dir), supports_mmap=False)
