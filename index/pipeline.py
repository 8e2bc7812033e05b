"""The stage chain: RawMessage -> Message, one message at a time or over a worker pool.

Owns the order of the stages (limits, MIME, body split, metadata), the one place that catches
(:func:`parse_safely`: every failure becomes a Rejection, so read = records + reported holds by
construction), the per-message time limit and :func:`parse_stream`, which reads sources and
parses them in source order, in-process (jobs=1) or in a bounded multiprocessing pool.
Threads are not computed here: ``Message.thread_id`` stays None for the storage side.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import signal
import threading
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from pathlib import Path

from core.config import Settings
from core.errors import MessageError
from core.records import Message, RawMessage, Rejection
from index import metadata, mime, references
from index.sources import iter_raw

# Messages per task sent to a worker: big enough that pickling overhead stays small, small
# enough that one slow message does not hold back many others.
CHUNK = 32
# Chunks in flight per worker; bounds the parent's memory on a 1M-message archive.
IN_FLIGHT_PER_JOB = 4
# Parsed messages a background reader may hold ahead of the writer (see ahead()): enough
# to keep the parser processes busy through a Whoosh commit's serial stretches, small
# enough (~30 MB) that the parent's memory does not grow with the archive.
AHEAD = 4096


class _Timeout(Exception):
    pass


def _on_alarm(signum: int, frame: object) -> None:
    raise _Timeout()


@contextmanager
def _deadline(seconds: float) -> Iterator[None]:
    """SIGALRM after ``seconds`` when we own the main thread's alarm; otherwise no limit."""
    usable = (
        seconds > 0
        and hasattr(signal, "setitimer")
        and threading.current_thread() is threading.main_thread()
        and signal.getsignal(signal.SIGALRM) in (signal.SIG_DFL, _on_alarm)
    )
    if not usable:
        yield
        return
    signal.signal(signal.SIGALRM, _on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, signal.SIG_DFL)


def parse_one(raw: RawMessage, settings: Settings, list_name: str | None = None) -> Message:
    """Bytes to record, stage after stage; raises MessageError when a stage cannot go on."""
    from index.body import split_body
    from index.plain import declared_flowed

    if len(raw.data) > settings.max_message_bytes:
        raise MessageError(
            f"message of {len(raw.data)} bytes exceeds max_message_bytes "
            f"({settings.max_message_bytes})", stage="limits")
    decoded = mime.decode(raw, settings)
    text = decoded.text
    notes = list(decoded.notes)
    if len(text) > settings.max_text_chars:
        notes.append(f"limit: body text cut to max_text_chars ({settings.max_text_chars})")
        text = text[: settings.max_text_chars]
    flowed, delsp = declared_flowed(raw.data)
    split = split_body(text, decoded.content_type, settings, flowed, delsp)
    described = metadata.describe(decoded, split, raw, list_name)
    found = references.references_of(split.original_text, split.quoted_text, settings)
    notes.extend(described.notes)
    return Message(
        message_id=described.message_id,
        source=raw.source,
        lists=described.lists,
        subject=described.subject,
        subject_normalized=described.subject_normalized,
        author=described.author,
        date=described.date,
        date_source=described.date_source,
        in_reply_to=described.in_reply_to,
        references=described.references,
        original_text=split.original_text,
        quoted_text=split.quoted_text,
        quotes=split.quotes,
        signature=split.signature,
        footer=split.footer,
        charset=decoded.charset,
        attachments=decoded.attachments + split.attachments,
        message_id_source=described.message_id_source,
        thread_id=None,
        headers=decoded.header_block(),
        notes=tuple(dict.fromkeys(notes)),
        cites=found.cites,
        mentions=found.mentions,
        reference_spans=found.spans,
    )


def parse_safely(raw: RawMessage, settings: Settings,
                 list_name: str | None = None) -> Message | Rejection:
    """The only place that catches: any failure becomes a Rejection naming the stage."""
    try:
        with _deadline(settings.parse_timeout):
            return parse_one(raw, settings, list_name)
    except MessageError as exc:
        return Rejection(raw.source, exc.stage, exc.reason)
    except _Timeout:
        return Rejection(raw.source, "limits",
                         f"parsing took longer than parse_timeout ({settings.parse_timeout:g} s)")
    except RecursionError:
        return Rejection(raw.source, "limits", "structure nested too deeply to parse")
    except MemoryError:
        return Rejection(raw.source, "limits", "out of memory while parsing")
    except Exception as exc:  # the contract: one bad message never stops a run
        return Rejection(raw.source, "internal", f"{type(exc).__name__}: {exc}", internal=True)


Item = RawMessage | Rejection

_worker_settings: Settings | None = None
_worker_list: str | None = None


def _init_worker(settings: Settings, list_name: str | None) -> None:
    global _worker_settings, _worker_list
    _worker_settings, _worker_list = settings, list_name
    # Ctrl-C is the parent's to handle; workers just stop with it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _parse_chunk(chunk: list[Item]) -> list[Message | Rejection]:
    settings = _worker_settings or Settings()
    return [item if isinstance(item, Rejection) else parse_safely(item, settings, _worker_list)
            for item in chunk]


def read_sources(paths: Iterable[Path | str], settings: Settings,
                 list_name: str | None = None) -> Iterator[Item]:
    for path in paths:
        yield from iter_raw(path, list_name, max_message_bytes=settings.max_message_bytes)


def _chunks(items: Iterator[Item], size: int) -> Iterator[list[Item]]:
    chunk: list[Item] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def worker_count(jobs: int | None) -> int:
    """Parser processes for ``jobs`` (0/None: one per core)."""
    return jobs if jobs else (os.cpu_count() or 1)


def pooled(jobs: int | None) -> bool:
    """True when parse_stream parses in worker processes rather than here."""
    return worker_count(jobs) > 1


def parse_stream(paths: Iterable[Path | str], settings: Settings, list_name: str | None = None,
                 jobs: int | None = None) -> Iterator[Message | Rejection]:
    """Every record or rejection under ``paths``, in source order.

    jobs=1 parses here; otherwise a pool of ``jobs`` processes (0/None: one per core) gets
    chunks of messages, with at most a few chunks per worker in flight so memory stays flat.
    """
    references.table(settings)  # a bad site references file stops the run before any message
    items = read_sources(paths, settings, list_name)
    workers = worker_count(jobs)
    if workers <= 1:
        for item in items:
            yield item if isinstance(item, Rejection) else parse_safely(item, settings, list_name)
        return
    yield from _pooled(items, settings, list_name, workers)


def _pooled(items: Iterator[Item], settings: Settings, list_name: str | None,
            workers: int) -> Iterator[Message | Rejection]:
    """Chunks over a process pool, results in submission order, a few chunks per worker in flight.

    concurrent.futures rather than multiprocessing.Pool: a worker killed mid-task (OOM killer,
    a segfault in lxml) breaks the executor with an exception instead of hanging the parent
    forever; that chunk's messages are reported and a fresh pool takes the rest.
    """
    context = multiprocessing.get_context("fork" if hasattr(os, "fork") else "spawn")

    def start() -> ProcessPoolExecutor:
        return ProcessPoolExecutor(workers, mp_context=context, initializer=_init_worker,
                                   initargs=(settings, list_name))

    executor = start()
    pending: deque[tuple[list[Item], Future]] = deque()
    limit = workers * IN_FLIGHT_PER_JOB

    def drain_one() -> Iterator[Message | Rejection]:
        nonlocal executor
        chunk, future = pending.popleft()
        try:
            yield from future.result()
        except BrokenProcessPool:
            for item in chunk:
                yield item if isinstance(item, Rejection) else Rejection(
                    item.source, "internal", "parser worker process died", internal=True)
            # Every later chunk of the broken pool is lost too: resubmit them to a new one.
            executor.shutdown(wait=False, cancel_futures=True)
            executor = start()
            for index, (waiting, _) in enumerate(pending):
                pending[index] = (waiting, executor.submit(_parse_chunk, waiting))

    try:
        for chunk in _chunks(items, CHUNK):
            pending.append((chunk, executor.submit(_parse_chunk, chunk)))
            while len(pending) >= limit:
                yield from drain_one()
        while pending:
            yield from drain_one()
    finally:
        executor.shutdown(wait=True, cancel_futures=True)


class _Failed:
    __slots__ = ("error",)

    def __init__(self, error: BaseException) -> None:
        self.error = error


_DONE = object()


def ahead(items: Iterator[Message | Rejection],
          limit: int = AHEAD) -> Iterator[Message | Rejection]:
    """``items``, pulled by a background thread up to ``limit`` records ahead of the caller.

    With a worker pool the parent's own share of parsing is receiving results; while it
    is busy in a flush (Whoosh add + commit) nobody would collect them, and the workers
    would sit idle after their few chunks in flight. A thread keeps collecting (it waits
    on pipes, so it barely holds the GIL) and the two stages overlap: the parser processes
    and the writer's processes share both cores. Only for pooled parsing: in-process
    parsing (jobs=1) must stay on the main thread, where the SIGALRM time limit works.
    An exception in the thread is raised here; leaving early stops the thread.
    """
    slots: queue.Queue[object] = queue.Queue(maxsize=max(1, limit // CHUNK))
    stop = threading.Event()

    def put(entry: object) -> bool:
        while not stop.is_set():
            try:
                slots.put(entry, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def run() -> None:
        batch: list[Message | Rejection] = []
        try:
            for item in items:
                batch.append(item)
                if len(batch) >= CHUNK:
                    if not put(batch):
                        return
                    batch = []
            if batch and not put(batch):
                return
            put(_DONE)
        except BaseException as exc:  # handed to the consumer, raised there
            # What was read before the error is delivered first, as without the thread.
            if not batch or put(batch):
                put(_Failed(exc))
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()

    thread = threading.Thread(target=run, name="govmail-parse-ahead", daemon=True)
    thread.start()
    try:
        while True:
            entry = slots.get()
            if entry is _DONE:
                return
            if isinstance(entry, _Failed):
                raise entry.error
            yield from entry  # type: ignore[misc]
    finally:
        stop.set()
        thread.join()
