"""The corpus, end-to-end ingestion and the incremental batch, measured from outside.

:func:`prepare_corpus` writes the archive with ``govmail sample``'s own function
(:func:`sample.generator.write_sample`, mbox format) and, in a second process at the same
time, ``docs.jsonl``: the ground truth of every message (subject, original and quoted
text, author, list, date) that the baselines index and the query sets are drawn from.
Both are cached under the work directory by (messages, seed).

Ingestion runs ``index.indexer.index_paths`` in a child process (``python -m
bench.ingest ARCHIVE INDEX``) so that its memory and CPU are its own; the parent samples
the child's process tree with psutil (CPU of every process, summed RSS) and the child
reports its own wall time and the writer's commit times (the writer logs each flush),
which split the run into the parse stage (reading, decoding, splitting in the worker
processes, feeding the writer) and the index stage (Whoosh add + commit).
"""

from __future__ import annotations

import json
import logging
import os
import re
import resource
import subprocess
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SAMPLE_INTERVAL = 0.2
PSS_EVERY = 5
_FLUSH = re.compile(r"committed (\d+) new and (\d+) rewritten documents in ([\d.]+) s")


@dataclass(frozen=True, slots=True)
class Corpus:
    root: Path
    archive: Path
    docs: Path
    messages: int
    seed: int

    @property
    def raw_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.archive.rglob("*") if p.is_file())


def _write_archive(archive: Path, messages: int, seed: int) -> str:
    from sample.generator import write_sample

    return write_sample(archive, messages, seed, {"mbox"})


def _write_docs(docs: Path, messages: int, seed: int) -> int:
    from sample.generator import generate

    count = 0
    tmp = docs.with_suffix(".tmp")
    with open(tmp, "w", encoding="utf-8") as out:
        for m in generate(messages, seed):
            out.write(
                json.dumps(
                    {
                        "id": m.message_id or f"bench-{m.index}",
                        "subject": m.subject,
                        "original": m.original_text,
                        "quoted": m.quoted_text,
                        "author": m.author_name,
                        "list": m.list,
                        "date": int(m.date.timestamp()),
                    },
                    ensure_ascii=False,
                )
                + "\n"
            )
            count += 1
    tmp.replace(docs)
    return count


def prepare_corpus(workdir: Path, messages: int, seed: int) -> tuple[Corpus, float | None]:
    """The cached corpus, and the seconds it took to generate (None when it was cached)."""
    root = Path(workdir) / f"corpus-{messages}-{seed}"
    corpus = Corpus(root, root / "archive", root / "docs.jsonl", messages, seed)
    done = root / "done"
    if done.exists():
        return corpus, None
    root.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    # Two processes: the generator is pure Python and each pass takes ~1 ms a message.
    with ProcessPoolExecutor(max_workers=2) as pool:
        archive = pool.submit(_write_archive, corpus.archive, messages, seed)
        docs = pool.submit(_write_docs, corpus.docs, messages, seed)
        archive.result()
        docs.result()
    done.write_text("ok\n")
    return corpus, time.perf_counter() - started


# ------------------------------------------------------------------ process figures


@dataclass(slots=True)
class TreeSampler:
    """Samples a process tree: CPU seconds per pid (last seen) and the peak summed RSS."""

    pid: int
    samples: list[tuple[float, float, int]]  # (time.time(), cumulative CPU s, tree RSS bytes)
    peak_rss: int = 0
    # Summed RSS counts every page a forked writer shares with its parent once per
    # process; PSS divides shared pages among their sharers: the tree's real footprint.
    peak_pss: int = 0
    # The ingesting process alone: (time.time(), its cumulative CPU s).
    root_samples: list[tuple[float, float]] = field(default_factory=list)
    # Every descendant: pid -> (creation time, last CPU s seen).
    descendants: dict[int, tuple[float, float]] = field(default_factory=dict)
    _stop: threading.Event | None = None
    _thread: threading.Thread | None = None

    @classmethod
    def start(cls, pid: int) -> TreeSampler:
        sampler = cls(pid, [])
        sampler._stop = threading.Event()
        sampler._thread = threading.Thread(target=sampler._run, daemon=True)
        sampler._thread.start()
        return sampler

    def _run(self) -> None:
        import psutil

        cpu_by_pid: dict[int, float] = {}
        assert self._stop is not None
        try:
            root = psutil.Process(self.pid)
        except psutil.Error:
            return
        rounds = 0
        while not self._stop.is_set():
            try:
                procs = [root, *root.children(recursive=True)]
            except psutil.Error:
                break
            # PSS walks the page tables (smaps_rollup): at every sample it cost this
            # process ~11% of a core beside a 1M-message run, so it is read every
            # PSS_EVERY-th sample (each second); a writer's peak lasts seconds.
            with_pss = rounds % PSS_EVERY == 0
            rounds += 1
            rss = pss = 0
            for proc in procs:
                try:
                    with proc.oneshot():
                        times = proc.cpu_times()
                        if with_pss:
                            memory = proc.memory_full_info()
                            pss += memory.pss
                        else:
                            memory = proc.memory_info()
                except psutil.Error:
                    continue
                rss += memory.rss
                # Processes that exit keep their last figure: a pool worker's CPU still counts.
                cpu_by_pid[proc.pid] = times.user + times.system
                if proc.pid == self.pid:
                    self.root_samples.append((time.time(), cpu_by_pid[proc.pid]))
                else:
                    try:
                        created = proc.create_time()
                    except psutil.Error:
                        created = time.time()
                    self.descendants[proc.pid] = (created, cpu_by_pid[proc.pid])
            self.peak_rss = max(self.peak_rss, rss)
            self.peak_pss = max(self.peak_pss, pss)
            self.samples.append((time.time(), sum(cpu_by_pid.values()), rss))
            self._stop.wait(SAMPLE_INTERVAL)

    def stop(self) -> None:
        if self._stop is not None and self._thread is not None:
            self._stop.set()
            self._thread.join()

    def cores_busy(self, start: float, end: float) -> float:
        """Average cores in use between two wall-clock times (from the CPU-seconds samples)."""
        inside = [(t, c) for t, c, _ in self.samples if start <= t <= end]
        if len(inside) < 2 or inside[-1][0] <= inside[0][0]:
            return 0.0
        return (inside[-1][1] - inside[0][1]) / (inside[-1][0] - inside[0][0])

    def cpu_in(self, spans: list[tuple[float, float]]) -> tuple[float, float]:
        """(CPU seconds, wall seconds) of the sample intervals whose middle falls in ``spans``."""
        cpu = wall = 0.0
        for (t0, c0, _), (t1, c1, _) in zip(self.samples, self.samples[1:], strict=False):
            mid = (t0 + t1) / 2
            if any(a <= mid <= b for a, b in spans):
                cpu += c1 - c0
                wall += t1 - t0
        return cpu, wall

    def cpu_by_stage(self, spans: list[tuple[float, float]]) -> tuple[float, float]:
        """(parse CPU s, index CPU s) when the stages overlap.

        The writer's processes (Whoosh's MpWriter children) are started inside a flush;
        the parser processes before any. So a descendant's CPU goes to the stage in which
        it was created, and the ingesting process's own CPU to the stage of each sample
        interval (in a flush it adds documents and commits; outside it reads and feeds).
        """
        def inside(t: float) -> bool:
            return any(a <= t <= b for a, b in spans)

        parse = index = 0.0
        for (t0, c0), (t1, c1) in zip(self.root_samples, self.root_samples[1:], strict=False):
            if inside((t0 + t1) / 2):
                index += c1 - c0
            else:
                parse += c1 - c0
        for created, cpu in self.descendants.values():
            if inside(created):
                index += cpu
            else:
                parse += cpu
        return parse, index

    def cores_in(self, spans: list[tuple[float, float]]) -> float:
        """Average cores in use over the sample intervals that fall inside ``spans``."""
        cpu, wall = self.cpu_in(spans)
        return cpu / wall if wall > 0 else 0.0


def _dir_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file())


def run_indexer(
    paths: list[Path], index_dir: Path, jobs: int = 0, profile: Path | None = None
) -> dict[str, Any]:
    """``index_paths`` in a child process, watched from here; the figures of that run."""
    command = [sys.executable, "-m", "bench.ingest", "--index", str(index_dir), "--jobs", str(jobs)]
    if profile is not None:
        command += ["--profile", str(profile)]
    command += [str(p) for p in paths]
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.time()
    child = subprocess.Popen(
        command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    sampler = TreeSampler.start(child.pid)
    out, err = child.communicate()
    ended = time.time()
    sampler.stop()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if child.returncode != 0:
        tail = "\n".join(err.strip().splitlines()[-8:])
        raise RuntimeError(f"indexer exited with {child.returncode}:\n{tail}")
    report = json.loads(out.strip().splitlines()[-1])
    wall = ended - started
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    flush_spans = [(s, e) for s, e in report["flushes"]]
    flush_s = sum(e - s for s, e in flush_spans)
    run_s = report["seconds"]
    parse_spans = _gaps(report["started"], report["ended"], flush_spans)
    index_bytes = _dir_bytes(index_dir)
    indexed = report["indexed"]
    read = max(report["read"], 1)
    # Parsing goes on during flushes (index.pipeline.ahead), so CPU is split by process
    # role rather than by the clock.
    parse_cpu, index_cpu = sampler.cpu_by_stage(flush_spans)
    return {
        "read": report["read"],
        "indexed": indexed,
        "duplicates": report["duplicates"],
        "rejected": report["reported"],
        "wall_s": round(wall, 2),
        "run_s": round(run_s, 2),
        "msgs_per_s": round(report["read"] / run_s, 1) if run_s else 0.0,
        "parse_s": round(run_s - flush_s, 2),
        "index_s": round(flush_s, 2),
        "parse_msgs_per_s": round(report["read"] / (run_s - flush_s), 1)
        if run_s > flush_s
        else 0.0,
        "index_msgs_per_s": round(indexed / flush_s, 1) if flush_s else 0.0,
        "commits": len(flush_spans),
        "cpu_s": round(cpu, 1),
        "cores_busy": round(cpu / wall, 2) if wall else 0.0,
        "cores_busy_parse": round(sampler.cores_in(parse_spans), 2),
        "cores_busy_index": round(sampler.cores_in(flush_spans), 2),
        # CPU per message does not depend on how many other jobs share the VM.
        "cpu_ms_per_msg": round(cpu * 1000 / read, 2),
        "parse_cpu_ms_per_msg": round(parse_cpu * 1000 / read, 2),
        "index_cpu_ms_per_msg": round(index_cpu * 1000 / max(indexed, 1), 2),
        "loadavg_after": [round(x, 2) for x in os.getloadavg()],
        "peak_rss_mb": round(sampler.peak_rss / 2**20, 1),
        "peak_pss_mb": round(sampler.peak_pss / 2**20, 1),
        "peak_rss_parent_mb": round(report["maxrss_kb"] / 1024, 1),
        "peak_rss_largest_child_mb": round(report["children_maxrss_kb"] / 1024, 1),
        "index_bytes": index_bytes,
        "index_bytes_per_msg": round(index_bytes / indexed) if indexed else 0,
    }


def _gaps(start: float, end: float, spans: list[tuple[float, float]]) -> list[tuple[float, float]]:
    gaps, cursor = [], start
    for a, b in sorted(spans):
        if a > cursor:
            gaps.append((cursor, a))
        cursor = max(cursor, b)
    if end > cursor:
        gaps.append((cursor, end))
    return gaps


def run_ingest(
    corpus: Corpus, index_dir: Path, jobs: int = 0, profile: Path | None = None
) -> dict[str, Any]:
    """Index the whole corpus into a fresh ``index_dir``."""
    import shutil

    if index_dir.exists():
        shutil.rmtree(index_dir)
    figures = run_indexer([corpus.archive], index_dir, jobs, profile)
    figures["raw_bytes_per_msg"] = round(corpus.raw_bytes / max(figures["read"], 1))
    return figures


# ------------------------------------------------------------------- incremental


INCREMENT = 1000


def run_incremental(
    workdir: Path,
    index_dir: Path,
    settings: Any,
    seed: int,
    jobs: int = 0,
    count: int = INCREMENT,
    timeout: float = 120.0,
) -> dict[str, Any]:
    """Add ``count`` new messages to the built index; seconds until search shows them.

    The engine is opened before the batch, as a running server's would be; the clock
    runs from the start of ``index_paths`` until ``Engine.search("")`` counts them.
    """
    from core.results import SearchRequest
    from sample.generator import write_sample
    from search.engine import Engine

    batch = Path(workdir) / f"increment-{count}-{seed}"
    if not (batch / "done").exists():
        # A different seed: new Message-IDs, so every message is new to the index.
        write_sample(batch / "archive", count, seed + 7919, {"mbox"})
        (batch / "done").write_text("ok\n")
    engine = Engine(settings)
    everything = SearchRequest("", with_facets=False, highlight=False, page_size=1)
    before = engine.search(everything).total
    started = time.time()
    figures = run_indexer([batch / "archive"], index_dir, jobs)
    indexed_at = time.time()
    expected = before + figures["indexed"]
    seen = before
    while time.time() - started < timeout:
        seen = engine.search(everything).total
        if seen >= expected:
            break
        time.sleep(0.01)
    visible_at = time.time()
    engine.close()
    return {
        "messages": count,
        "indexed": figures["indexed"],
        "index_s": round(indexed_at - started, 2),
        "visible_s": round(visible_at - started, 2),
        "visible": seen >= expected,
        "commit_s": figures["index_s"],
        "peak_rss_mb": figures["peak_rss_mb"],
    }


# ----------------------------------------------------------------- the child side


class _FlushLog(logging.Handler):
    """Collects (start, end) of every writer flush from its "committed ..." log line."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.spans: list[tuple[float, float]] = []

    def emit(self, record: logging.LogRecord) -> None:
        match = _FLUSH.search(record.getMessage())
        if match:
            self.spans.append((record.created - float(match.group(3)), record.created))


def _child(argv: list[str]) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m bench.ingest")
    parser.add_argument("--index", required=True, type=Path)
    parser.add_argument("--jobs", type=int, default=0)
    parser.add_argument("--profile", type=Path)
    parser.add_argument("paths", nargs="+", type=Path)
    args = parser.parse_args(argv)

    from core.config import Settings
    from index.indexer import index_paths

    handler = _FlushLog()
    writer_log = logging.getLogger("index.writer")
    writer_log.addHandler(handler)
    writer_log.setLevel(logging.INFO)
    settings = Settings(index_dir=args.index, jobs=args.jobs)
    started = time.time()
    if args.profile is not None:
        import cProfile

        profiler = cProfile.Profile()
        report = profiler.runcall(index_paths, args.paths, settings, progress=False)
        profiler.dump_stats(str(args.profile))
    else:
        report = index_paths(args.paths, settings, progress=False)
    ended = time.time()
    print(
        json.dumps(
            {
                **{k: v for k, v in report.to_json().items() if k != "rejections"},
                "started": started,
                "ended": ended,
                "flushes": handler.spans,
                "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                "children_maxrss_kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(_child(sys.argv[1:]))
