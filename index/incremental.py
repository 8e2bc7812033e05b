"""Re-indexing only what is new in the configured sources, once or on a schedule.

Per source the catalog keeps how each file looked when it was last read. A run
compares that with ``stat`` alone (no message is opened when nothing changed):
- an mbox/pipermail file that only grew (same inode, same first bytes, same bytes
  just before the old end) is read from the recorded offset;
- a file that changed any other way (rewritten, truncated, compressed) is read
  again in full and deduplicated by Message-ID;
- in a Maildir, files whose unique name was never seen are read (a Maildir file
  moving from new/ to cur/ or gaining flags keeps its unique name);
- any other file in a folder is read when it is new or its size or mtime changed.
Source state is committed in the same catalog transaction as the messages read,
after the Whoosh commit. It does not parse mail or write documents itself.
"""

from __future__ import annotations

import logging
import os
import re
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from types import FrameType

from core.config import Settings, SourceConfig
from core.errors import ConfigError, GovmailError, SourceError
from core.records import Message, Rejection, SourceRef
from index.catalog import Catalog, SourceState
from index.identity import Aliases
from index.report import Progress, RunReport, Tally, consume, log_run
from index.scan import (
    FINGERPRINT_BYTES,
    Scan,
    Snapshot,
    _fingerprint,
    file_state,
    maildir_name,
    walk,
)
from index.writer import IndexWriterSession

log = logging.getLogger(__name__)

# Below this many bytes (or files) to read, a worker pool costs more than it saves.
SMALL_READ_BYTES = 2 * 1024 * 1024
_GZIP_MAGIC = b"\x1f\x8b"


@dataclass(frozen=True, slots=True)
class Work:
    """One read to do: a path to parse, and how to map what it yields back to the source."""

    path: Path
    # Bytes [offset, end) of ``origin`` were copied to ``path`` (an appended tail).
    origin: Path | None = None
    offset: int = 0
    # A single Maildir message: its root, so that keys are Maildir-relative.
    maildir_root: Path | None = None
    size: int = 0


def plan(
    path: Path, catalog: Catalog, scratch: Path, follow_symlinks: str = "within"
) -> tuple[list[Work], Snapshot, list[str], list[Rejection]]:
    """What to read from one source now, the state to record after, why (for logs), and
    what the scan could not read (reported, never fatal)."""
    path = Path(path).resolve()
    if not path.exists():
        raise SourceError(f"configured source does not exist: {path}")
    scan = walk(path, follow_symlinks)
    plain, maildirs = scan.plain, scan.maildirs
    work: list[Work] = []
    snap = Snapshot()
    notes: list[str] = []
    known = {s.path: s for s in catalog.sources_under(str(path))}
    for entry in plain:
        old = known.get(str(entry.path))
        if (
            old is not None
            and old.size == entry.size
            and old.mtime == entry.mtime
            and old.inode == entry.inode
        ):
            continue
        try:
            state = file_state(entry.path)
        except OSError as exc:
            # Not recorded, so a later run tries it again.
            scan.problems.append((str(entry.path), f"unreadable: {exc.strerror or exc}"))
            continue
        snap.files.append(state)
        if old is not None and _appended(entry.path, old, state):
            tail = _copy_tail(entry.path, old.offset, state.size, scratch)
            work.append(Work(tail, origin=entry.path, offset=old.offset, size=state.size - old.offset))
            notes.append(f"{entry.path}: {state.size - old.offset} bytes appended")
        else:
            work.append(Work(entry.path, size=entry.size))
            why = "new" if old is None else "changed, read again in full"
            notes.append(f"{entry.path}: {why}")
    for root, entries in maildirs.items():
        seen = catalog.seen_files(str(root))
        fresh = [e for e in entries if maildir_name(e.path.name) not in seen]
        if fresh:
            snap.maildir[str(root)] = [(maildir_name(e.path.name), e.size, e.mtime) for e in fresh]
            work.extend(Work(e.path, maildir_root=root, size=e.size) for e in fresh)
            notes.append(f"{root}: {len(fresh)} new Maildir messages")
    return work, snap, notes, problems_of(scan)


def problems_of(scan: Scan) -> list[Rejection]:
    return [Rejection(SourceRef(where), "source", reason) for where, reason in scan.problems]


def works_of(scan: Scan) -> list[Work]:
    """Everything a scan found, to read in full (``govmail index``)."""
    works = [Work(e.path, size=e.size) for e in scan.plain]
    for root, entries in scan.maildirs.items():
        works.extend(Work(e.path, maildir_root=root, size=e.size) for e in entries)
    return works


def _relocated(work: Work) -> Path | None:
    """Where a Maildir message went if it moved (new/ -> cur/, flags changed) since the scan."""
    assert work.maildir_root is not None
    unique = maildir_name(work.path.name)
    for sub in ("cur", "new"):
        try:
            with os.scandir(work.maildir_root / sub) as found:
                for entry in found:
                    if maildir_name(entry.name) == unique and entry.path != str(work.path):
                        return Path(entry.path)
        except OSError:
            continue
    return None


def _appended(path: Path, old: SourceState, new: SourceState) -> bool:
    if new.inode != old.inode or new.size <= old.offset or old.offset == 0:
        return False
    with open(path, "rb") as handle:
        if handle.read(2) == _GZIP_MAGIC:
            return False
        head = _fingerprint(handle, 0, min(FINGERPRINT_BYTES, old.offset))
        tail = _fingerprint(handle, old.offset - FINGERPRINT_BYTES, old.offset)
    return head == old.head_fp and tail == old.tail_fp


def _copy_tail(path: Path, start: int, end: int, scratch: Path) -> Path:
    # Same parent and file name as the original, so that a list name the parser
    # derives from them (pipermail folder, mbox name) stays the same.
    target = scratch / f"{len(list(scratch.iterdir()))}" / path.parent.name / path.name
    target.parent.mkdir(parents=True)
    with open(path, "rb") as src, open(target, "wb") as dst:
        src.seek(start)
        remaining = end - start
        while remaining > 0:
            chunk = src.read(min(remaining, 1 << 20))
            if not chunk:
                break
            dst.write(chunk)
            remaining -= len(chunk)
    return target


def _remap(item: Message | Rejection, work: Work) -> Message | Rejection:
    """Point a record read from a scratch copy or a lone Maildir file back at its source."""
    source = item.source
    if work.origin is not None:
        key = str(int(source.key) + work.offset) if source.key.isdigit() else source.key
        source = SourceRef(str(work.origin), key)
    elif work.maildir_root is not None:
        source = SourceRef(str(work.maildir_root), str(work.path.relative_to(work.maildir_root)))
    else:
        return item
    return replace(item, source=source)


def read_works(
    works: list[Work], settings: Settings, list_name: str | None, jobs: int | None = None
) -> Iterator[Message | Rejection]:
    """Parse what the scan chose; ``jobs`` None: a pool only for a big read."""
    from index.pipeline import parse_stream

    if not works:
        return
    if jobs is None:
        total = sum(w.size for w in works)
        # A pool pays for itself only on a big read; a few new messages parse faster here.
        jobs = settings.jobs if total >= SMALL_READ_BYTES else 1
    by_path = {str(w.path): w for w in works}
    for item in parse_stream([w.path for w in works], settings, list_name=list_name, jobs=jobs):
        work = by_path.get(item.source.path)
        if work is None:
            yield item
            continue
        if isinstance(item, Rejection) and work.maildir_root is not None \
                and item.stage == "source" and not work.path.exists():
            # Moved by a mail client between the scan and the read: the same message
            # (Maildir identity is the unique name), read where it is now. A few
            # tries, as a client may move it again; a message deleted stays reported.
            for _ in range(3):
                moved = _relocated(work)
                if moved is None:
                    break
                again = list(parse_stream([moved], settings, list_name=list_name, jobs=1))
                if again and not (isinstance(again[0], Rejection) and not moved.exists()):
                    work = replace(work, path=moved)
                    item = again[0]
                    break
        yield _remap(item, work)


_read = read_works  # the name tests/index/test_incremental.py watches


def source_aliases(settings: Settings) -> Aliases:
    merged = Aliases.load(settings.aliases)
    for source in settings.sources:
        if source.aliases is not None:
            merged = merged.merged(Aliases.load(source.aliases))
    return merged


def reindex_configured(settings: Settings, progress: bool = True) -> RunReport:
    """Index what is new in every configured source since the last run."""
    if not settings.sources:
        where = settings.config_path or "$GOVMAIL_CONFIG"
        raise ConfigError(f"no [[source]] configured in {where}; see contrib/govmail.toml")
    started = time.monotonic()
    counts = Tally()
    bar = Progress(progress)
    sources: list[SourceConfig] = list(settings.sources)
    try:
        with (
            IndexWriterSession(settings, aliases=source_aliases(settings)) as session,
            tempfile.TemporaryDirectory(prefix="govmail-reindex-") as scratch,
        ):
            assert session.catalog is not None
            for source in sources:
                works, snap, notes, problems = plan(
                    source.path, session.catalog, Path(scratch), settings.follow_symlinks
                )
                for note in notes:
                    log.info("%s", note)
                if problems:
                    consume(iter(problems), session, counts, bar)
                if works:
                    consume(snap.as_read(_read(works, settings, source.list), session),
                            session, counts, bar)
                else:
                    snap.record(session)
    finally:
        bar.close()
    report = counts.report(len(sources), started, session.rewritten)
    log_run(settings.index_dir, "reindex", [str(s.path) for s in sources], report)
    return report


def parse_interval(text: str) -> float:
    """'90s', '15m', '1h' or a bare number of seconds -> seconds."""
    found = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*", text or "")
    if not found or float(found.group(1)) <= 0:
        raise ConfigError(f"bad interval {text!r}: use a number with s, m or h, e.g. 15m")
    return float(found.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600}[found.group(2)]


def watch_configured(
    settings: Settings,
    every: str,
    runs: int | None = None,
) -> int:
    """Reindex now and then every interval until SIGINT/SIGTERM; returns the runs done.

    A signal during a run lets that run finish its commit (it is consistent either
    way, but a clean stop should not make the next run repeat work); a second
    signal stops at once.
    """
    interval = parse_interval(every)
    stop = threading.Event()
    stream = sys.stderr

    def on_signal(signum: int, frame: FrameType | None) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        print(f"govmail watch: {signal.Signals(signum).name}, stopping", file=stream, flush=True)
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    done = 0
    try:
        print(
            f"govmail watch: reindexing {len(settings.sources)} sources every {every}",
            file=stream,
            flush=True,
        )
        while not stop.is_set():
            stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            try:
                report = reindex_configured(settings, progress=False)
                print(f"govmail watch: {stamp} {report.summary()}", file=stream, flush=True)
                for rejection in report.rejections:
                    print(f"govmail watch: reported: {rejection}", file=stream, flush=True)
            except GovmailError as exc:
                # A missing source, a held lock, a full disk, a damaged index: this run
                # ends with its line, the next one may find it fixed. Watch goes on.
                print(f"govmail watch: {stamp} error: {exc}", file=stream, flush=True)
            done += 1
            if runs is not None and done >= runs:
                break
            stop.wait(interval)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print(f"govmail watch: stopped after {done} runs", file=stream, flush=True)
    return done
