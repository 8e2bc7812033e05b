"""The report of one run: counts kept message by message, progress, and the run log.

Counts satisfy ``read == indexed + duplicates + reported`` by construction (``consume``
counts each parsed item exactly once), and every run appends one JSON line to
``runs.jsonl`` in the index directory.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, TextIO

from core.records import Message, Rejection

RUN_LOG = "runs.jsonl"
# Without a terminal, one progress line this often (seconds) keeps cron logs short.
LOG_EVERY = 10.0


class _Adds(Protocol):
    def add(self, message: Message) -> bool: ...


@dataclass(frozen=True, slots=True)
class RunReport:
    """What one run read and did with it."""

    sources: int
    read: int
    indexed: int
    duplicates: int
    rejections: list[Rejection] = field(default_factory=list)
    seconds: float = 0.0
    rewritten: int = 0

    def __post_init__(self) -> None:
        assert self.read == self.indexed + self.duplicates + len(self.rejections), self

    @property
    def reported(self) -> int:
        return len(self.rejections)

    @property
    def rate(self) -> float:
        return self.read / self.seconds if self.seconds > 0 else 0.0

    def summary(self) -> str:
        return (
            f"read {self.read}, indexed {self.indexed}, duplicates {self.duplicates}, "
            f"reported {self.reported} in {self.seconds:.1f} s ({self.rate:.0f} msg/s)"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "sources": self.sources,
            "read": self.read,
            "indexed": self.indexed,
            "duplicates": self.duplicates,
            "reported": self.reported,
            "rewritten": self.rewritten,
            "seconds": round(self.seconds, 3),
            "rejections": [r.to_json() for r in self.rejections],
        }


class Progress:
    """A tqdm bar on a terminal, a line every LOG_EVERY seconds otherwise, or nothing."""

    def __init__(self, enabled: bool, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.bar: Any = None
        self.started = time.monotonic()
        self.last = self.started
        if enabled and self.stream.isatty():
            from tqdm import tqdm

            self.bar = tqdm(unit=" msg", file=self.stream, dynamic_ncols=True)

    def update(self, counts: Tally) -> None:
        if not self.enabled:
            return
        if self.bar is not None:
            self.bar.update(1)
            return
        now = time.monotonic()
        if now - self.last >= LOG_EVERY:
            self.last = now
            rate = counts.read / max(now - self.started, 1e-9)
            print(f"govmail: {counts.line()} ({rate:.0f} msg/s)", file=self.stream, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


@dataclass(slots=True)
class Tally:
    """Running counts of a run (mutable on purpose: it is filled message by message)."""

    read: int = 0
    indexed: int = 0
    duplicates: int = 0
    rejections: list[Rejection] = field(default_factory=list)

    def line(self) -> str:
        return (
            f"read {self.read}, indexed {self.indexed}, duplicates {self.duplicates}, "
            f"reported {len(self.rejections)}"
        )

    def report(self, sources: int, started: float, rewritten: int) -> RunReport:
        """The finished run's report, timed from the monotonic ``started``."""
        return RunReport(
            sources=sources,
            read=self.read,
            indexed=self.indexed,
            duplicates=self.duplicates,
            rejections=self.rejections,
            seconds=time.monotonic() - started,
            rewritten=rewritten,
        )


def consume(
    items: Iterable[Message | Rejection],
    session: _Adds,
    counts: Tally,
    progress: Progress,
) -> None:
    """Feed parsed items to the writer, counting each exactly once."""
    for item in items:
        counts.read += 1
        if isinstance(item, Rejection):
            counts.rejections.append(item)
        elif session.add(item):
            counts.indexed += 1
        else:
            counts.duplicates += 1
        progress.update(counts)


def log_run(index_dir: Path, command: str, sources: list[str], report: RunReport) -> None:
    """Append the run to ``runs.jsonl`` (one JSON object a line)."""
    entry = {
        "finished": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "command": command,
        "paths": sources,
        **report.to_json(),
    }
    with open(Path(index_dir) / RUN_LOG, "a", encoding="utf-8") as out:
        out.write(json.dumps(entry, ensure_ascii=False) + "\n")


def run_lines(index_dir: Path) -> Iterator[dict[str, Any]]:
    path = Path(index_dir) / RUN_LOG
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            yield json.loads(line)
