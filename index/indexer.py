"""One indexing run: parsed messages into the writer, counted, timed and logged.

:func:`index_paths` is ``govmail index``: it parses every given path (the writer's
dedupe makes a second run a no-op) and returns a :class:`RunReport`, whose counts
always satisfy ``read == indexed + duplicates + reported``. Every run appends one
JSON line to ``runs.jsonl`` in the index directory. It does not parse mail
(``pipeline``), decide what is new (``incremental``) or write documents (``writer``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

from core.config import Settings
from index.report import Progress, RunReport, Tally, consume, log_run
from index.scan import Snapshot, snapshot, walk
from index.writer import IndexWriterSession

log = logging.getLogger(__name__)


def index_paths(
    paths: Iterable[Path | str],
    settings: Settings,
    list_name: str | None = None,
    progress: bool = True,
) -> RunReport:
    """Parse and index every path (files or folders of any supported format)."""
    from index.incremental import problems_of, read_works, works_of
    from index.pipeline import ahead, pooled

    paths = [Path(p) for p in paths]
    started = time.monotonic()
    counts = Tally()
    bar = Progress(progress)
    try:
        with IndexWriterSession(settings) as session:
            # The scan decides what a source holds (symlink policy, loops, unreadable
            # entries reported, README.md not mail); snapshots are taken before
            # reading: bytes appended while we read are read again (and deduplicated)
            # next time rather than skipped.
            scans = [walk(p.resolve(), settings.follow_symlinks) for p in paths]
            states = [snapshot(scan) for scan in scans]
            for path, scan in zip(paths, scans, strict=True):
                if not scan.plain and not scan.maildirs:
                    log.warning("%s holds no files that could be mail", path)
                consume(iter(problems_of(scan)), session, counts, bar)
            works = [w for scan in scans for w in works_of(scan)]
            parsed = read_works(works, settings, list_name, jobs=settings.jobs)
            if pooled(settings.jobs):
                parsed = ahead(parsed)
            whole = Snapshot(
                files=[f for state in states for f in state.files],
                maildir={k: v for state in states for k, v in state.maildir.items()},
            )
            consume(whole.as_read(parsed, session), session, counts, bar)
    finally:
        bar.close()
    report = counts.report(len(paths), started, session.rewritten)
    log_run(settings.index_dir, "index", [str(p) for p in paths], report)
    return report




def rebuild(settings: Settings, paths: Iterable[Path | str] = (), progress: bool = True
            ) -> RunReport:
    """Index the sources afresh beside the index, then swap the new one in.

    For a damaged index or catalog (``govmail check`` says so). The old index keeps
    answering until the swap (two renames), and holds its writer lock throughout, so no
    other writer updates what is being replaced. Without paths, the configured sources.
    """
    import shutil

    from core.errors import ConfigError
    from index.incremental import reindex_configured
    from index.lock import WriterLock

    paths = [Path(p) for p in paths]
    if not paths and not settings.sources:
        where = settings.config_path or "$GOVMAIL_CONFIG"
        raise ConfigError(f"nothing to rebuild from: give SOURCES or [[source]] in {where}")
    target = Path(settings.index_dir)
    fresh = target.with_name(target.name + ".rebuild")
    aside = target.with_name(target.name + ".replaced")
    for leftover in (fresh, aside):
        shutil.rmtree(leftover, ignore_errors=True)
    lock = None
    if target.is_dir():
        lock = WriterLock(target, settings.lock_timeout)
        lock.acquire()
    try:
        into = replace(settings, index_dir=fresh)
        if paths:
            report = index_paths(paths, into, progress=progress)
        else:
            report = reindex_configured(into, progress=progress)
        if target.exists():
            target.rename(aside)
        fresh.rename(target)
    finally:
        if lock is not None:
            lock.release()
    shutil.rmtree(aside, ignore_errors=True)
    return report
