"""The Whoosh index stage alone, per field and option: ``python -m bench.whoosh_floor``.

Owns the measurement behind issue 7's "where a target cannot be met with Whoosh, show the
measurement that proves it": what Whoosh's ``add_document`` and ``commit`` cost a message
with the real schema (:data:`backends.whoosh.schema.SCHEMA`), and what each field or option adds.

The documents are built once and cached under ``--cache`` (default /tmp/whoosh-floor): a
sample archive (:func:`sample.generator.write_sample`, mbox), parsed by
:func:`index.pipeline.parse_stream` and turned into Whoosh documents by
:func:`index.document.to_document`, pickled. Each variant then runs in a fresh interpreter
(``--child``), so that its memory, caches and CPU are its own: it indexes every document into a
fresh directory and reports CPU seconds (``getrusage`` of itself and its children, plus the
live writer processes' CPU read from /proc at the end of the add loop) and wall seconds for
the adds and for the commit separately. CPU time, not wall time, is the figure: the machine
is shared. Each variant runs ``--repeat`` times (round-robin) and the table shows medians.
Every child also appends its run to ``CACHE/runs.jsonl``; ``--table-from FILE`` prints the
table from such a log, so a run cut short still yields its finished runs.

Variants (``--variants``, comma-separated; default all):

- ``real``: SCHEMA as is, a plain ``ix.writer(limitmb=160)`` (procs=1) on a plain FileStorage;
- ``real-procs2``: ``ix.writer(procs=2, multisegment=True, limitmb=160)``; the writer
  children's CPU counts. Their CPU is attributed to "add" up to the end of the add loop and
  the rest (the queued batches, their segments) to "commit";
- ``no-positions-quoted``: ``quoted`` as TEXT without positions (phrase=False);
- ``no-quoted``: ``quoted`` dropped from the schema and the documents;
- ``no-stored-text``: original/quoted/signature not stored, the headers (a STORED field) dropped;
- ``no-positions-all``: every TEXT field without positions (no phrase search at all);
- ``text-only``: only the five TEXT fields (as in SCHEMA), every other field dropped;
- ``no-text``: the TEXT fields dropped, every ID/KEYWORD/DATETIME/STORED field kept;
- ``codec``: ``real`` with govmail's postings format (``backends.whoosh.schema.index_codec()``,
  backends/whoosh/codec.py) instead of whoosh3's;
- ``patched``, ``patched-procs2``: ``real``/``real-procs2`` as govmail's writer runs them
  (``index.writer`` imported, so its two Whoosh patches apply; govmail's postings format;
  FileStorage without mmap; ``gc.freeze()`` around the writer, as ``IndexWriterSession``
  does): the best figure reachable with the real schema;
- ``analyzer-only``: TEXT_ANALYZER run over every TEXT field's value with positions=True,
  tokens counted: the tokenising floor;
- ``tokens``: per TEXT field, tokens a document (mean): where the postings come from.

It prints one table (add, commit and total CPU ms a document, wall ms, index bytes a
document, and the ingestion ceiling on two cores ``2000 / (parse_ms + index_ms)`` with
``--parse-ms``), then the tokens table.
"""

from __future__ import annotations

import argparse
import copy
import gc
import json
import os
import pickle
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CACHE = Path("/tmp/whoosh-floor")
REPO = Path(__file__).resolve().parents[1]
TEXT_FIELDS_STORED = ("original", "quoted", "signature")
STORED_DROPPED = ("headers",)
INDEX_VARIANTS = (
    "real", "real-procs2", "no-positions-quoted", "no-quoted", "no-stored-text",
    "no-positions-all", "text-only", "no-text", "codec", "patched", "patched-procs2",
)
VARIANTS = (*INDEX_VARIANTS, "analyzer-only", "tokens")
WRITER_MB = 160
RUNS_LOG = "runs.jsonl"
Document = dict[str, object]


@dataclass(frozen=True, slots=True)
class Run:
    """One variant's run in a child process; seconds, and the index's bytes."""

    variant: str
    docs: int
    add_cpu: float
    commit_cpu: float
    add_wall: float
    commit_wall: float
    index_bytes: int
    peak_rss_mb: float
    tokens: dict[str, float]

    @property
    def total_cpu(self) -> float:
        return self.add_cpu + self.commit_cpu


# --- documents -------------------------------------------------------------------------

def documents_path(cache: Path, messages: int, seed: int) -> Path:
    """The pickled documents of a sample archive, built on first use."""
    path = cache / f"docs-{messages}-{seed}.pickle"
    if path.is_file():
        return path
    from core.config import Settings
    from core.records import Message
    from index.document import to_document
    from index.pipeline import parse_stream
    from sample.generator import write_sample

    archive = cache / f"archive-{messages}-{seed}"
    if archive.exists():
        shutil.rmtree(archive)
    print(write_sample(archive, messages, seed, {"mbox"}), file=sys.stderr)
    paths = sorted((archive / "mbox").glob("*.mbox"))
    docs = [to_document(m) for m in parse_stream(paths, Settings(), jobs=0)
            if isinstance(m, Message)]
    shutil.rmtree(archive)
    # Written aside and renamed: an interrupted build never leaves a short cache behind.
    tmp = path.with_suffix(".partial")
    with tmp.open("wb") as out:
        pickle.dump(docs, out, protocol=pickle.HIGHEST_PROTOCOL)
    tmp.rename(path)
    print(f"cached {len(docs)} documents in {path}", file=sys.stderr)
    return path


# --- variants (run in the child) -------------------------------------------------------

def _replace_fields(schema: Any, make: Callable[[str, Any], Any | None],
                    names: tuple[str, ...]) -> Any:
    """A copy of ``schema`` where each of ``names`` becomes ``make(name, old)`` (None: removed)."""
    schema = copy.deepcopy(schema)
    for name in names:
        old = schema[name]
        schema.remove(name)
        new = make(name, old)
        if new is not None:
            schema.add(name, new)
    return schema


def _text_fields(schema: Any) -> tuple[str, ...]:
    from whoosh import fields

    return tuple(name for name, field in schema.items() if isinstance(field, fields.TEXT))


def _unpositioned(_name: str, old: Any) -> Any:
    from whoosh import fields

    from backends.whoosh.schema import TEXT_ANALYZER

    return fields.TEXT(analyzer=TEXT_ANALYZER, phrase=False, stored=old.stored,
                       field_boost=old.format.field_boost)


def _unstored(_name: str, old: Any) -> Any:
    from whoosh import fields

    from backends.whoosh.schema import TEXT_ANALYZER

    return fields.TEXT(analyzer=TEXT_ANALYZER, phrase=old.format.supports("positions"),
                       stored=False, field_boost=old.format.field_boost)


def variant_schema(variant: str) -> tuple[Any, tuple[str, ...]]:
    """(schema, fields to drop from every document) of an indexing variant."""
    from backends.whoosh.schema import SCHEMA

    base = variant.removesuffix("-procs2")
    if base in ("real", "codec", "patched"):
        return SCHEMA, ()
    if base == "no-positions-quoted":
        return _replace_fields(SCHEMA, _unpositioned, ("quoted",)), ()
    if base == "no-quoted":
        return _replace_fields(SCHEMA, lambda _n, _o: None, ("quoted",)), ("quoted",)
    if base == "no-stored-text":
        schema = _replace_fields(SCHEMA, _unstored, TEXT_FIELDS_STORED)
        return _replace_fields(schema, lambda _n, _o: None, STORED_DROPPED), STORED_DROPPED
    if base == "no-positions-all":
        return _replace_fields(SCHEMA, _unpositioned, _text_fields(SCHEMA)), ()
    text = _text_fields(SCHEMA)
    if base == "text-only":
        others = tuple(name for name in SCHEMA.names() if name not in text)
        return _replace_fields(SCHEMA, lambda _n, _o: None, others), others
    if base == "no-text":
        return _replace_fields(SCHEMA, lambda _n, _o: None, text), text
    raise ValueError(f"unknown variant {variant!r}; choose from {', '.join(VARIANTS)}")


def _cpu() -> float:
    """CPU seconds of this process and of its reaped children."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _live_cpu(pids: list[int]) -> float:
    """CPU seconds so far of live processes (/proc stat utime + stime)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        # Fields after the command (which may hold spaces) start at state; utime, stime = 14, 15.
        rest = stat.rsplit(")", 1)[1].split()
        total += int(rest[11]) + int(rest[12])
    return total / ticks


def _peak_mb() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, kids) / 1024


def index_variant(variant: str, docs: list[Document], workdir: Path) -> Run:
    """Index ``docs`` under one variant into a fresh directory under ``workdir``."""
    from whoosh.filedb.filestore import FileStorage

    patched = variant.startswith("patched")
    if patched:
        import index.writer  # noqa: F401  (applies govmail's two Whoosh patches)
    schema, dropped = variant_schema(variant)
    if dropped:
        docs = [{k: v for k, v in d.items() if k not in dropped} for d in docs]
    directory = Path(tempfile.mkdtemp(prefix=f"ix-{variant}-", dir=workdir))
    try:
        ix = FileStorage(str(directory), supports_mmap=not patched).create_index(schema)
        procs = 2 if variant.endswith("-procs2") else 1
        if patched:
            gc.freeze()
        cpu0, wall0 = _cpu(), time.perf_counter()
        options: dict[str, Any] = {"limitmb": WRITER_MB}
        if patched or variant == "codec":
            from backends.whoosh.schema import index_codec

            options["codec"] = index_codec()
        if procs > 1:
            writer = ix.writer(procs=procs, multisegment=True, **options)
        else:
            writer = ix.writer(**options)
        for doc in docs:
            writer.add_document(**doc)
        live = _live_cpu([t.pid for t in getattr(writer, "tasks", ()) if t.pid])
        cpu1, wall1 = _cpu(), time.perf_counter()
        writer.commit()
        cpu2, wall2 = _cpu(), time.perf_counter()
        if patched:
            gc.unfreeze()
        indexed = ix.doc_count()
        if indexed != len(docs):
            raise RuntimeError(f"{variant}: {indexed} documents indexed of {len(docs)}")
        size = sum(f.stat().st_size for f in directory.iterdir() if f.is_file())
        ix.close()
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    return Run(variant, len(docs), cpu1 - cpu0 + live, cpu2 - cpu1 - live, wall1 - wall0,
               wall2 - wall1, size, _peak_mb(), {})


def analyze_variant(variant: str, docs: list[Document]) -> Run:
    """Only the analyzer over every TEXT field (positions on), tokens counted per field."""
    from backends.whoosh.schema import SCHEMA, TEXT_ANALYZER

    names = _text_fields(SCHEMA)
    counts = dict.fromkeys(names, 0)
    cpu0, wall0 = _cpu(), time.perf_counter()
    for doc in docs:
        for name in names:
            value = doc.get(name)
            if value:
                n = 0
                for _token in TEXT_ANALYZER(str(value), positions=True, mode="index"):
                    n += 1
                counts[name] += n
    cpu1, wall1 = _cpu(), time.perf_counter()
    mean = {name: counts[name] / max(len(docs), 1) for name in names}
    return Run(variant, len(docs), cpu1 - cpu0, 0.0, wall1 - wall0, 0.0, 0, _peak_mb(), mean)


def child(variant: str, docs_file: Path, workdir: Path) -> Run:
    with docs_file.open("rb") as src:
        docs: list[Document] = pickle.load(src)
    if variant in ("analyzer-only", "tokens"):
        return analyze_variant(variant, docs)
    return index_variant(variant, docs, workdir)


# --- parent ----------------------------------------------------------------------------

def run_child(variant: str, docs_file: Path, workdir: Path) -> Run:
    """One variant in a fresh interpreter; its Run from the last line it prints."""
    command = [sys.executable, "-m", "bench.whoosh_floor", "--child", variant,
               "--docs", str(docs_file), "--cache", str(workdir)]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{variant} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return Run(**json.loads(done.stdout.strip().splitlines()[-1]))


@dataclass(frozen=True, slots=True)
class Row:
    """Medians of a variant's runs, milliseconds a document."""

    variant: str
    docs: int
    add_ms: float
    commit_ms: float
    total_ms: float
    wall_ms: float
    bytes_per_doc: float
    peak_rss_mb: float
    totals: tuple[float, ...]


def summarise(runs: list[Run]) -> Row:
    docs = runs[0].docs or 1

    def med(values: list[float]) -> float:
        return statistics.median(values) * 1000 / docs

    return Row(
        variant=runs[0].variant,
        docs=runs[0].docs,
        add_ms=med([r.add_cpu for r in runs]),
        commit_ms=med([r.commit_cpu for r in runs]),
        total_ms=med([r.total_cpu for r in runs]),
        wall_ms=med([r.add_wall + r.commit_wall for r in runs]),
        bytes_per_doc=statistics.median(r.index_bytes for r in runs) / docs,
        peak_rss_mb=statistics.median(r.peak_rss_mb for r in runs),
        totals=tuple(r.total_cpu * 1000 / docs for r in runs),
    )


def table(rows: list[Row], parse_ms: float) -> str:
    head = ("| variant | add ms/doc | commit ms/doc | total CPU ms/doc | wall ms/doc "
            "| index bytes/doc | peak RSS MB | 2-core ceiling msg/s | runs (total CPU ms/doc) |")
    lines = [head, "|" + "---|" * 9]
    for r in rows:
        ceiling = 2000 / (parse_ms + r.total_ms)
        size = f"{r.bytes_per_doc:,.0f}" if r.bytes_per_doc else "-"
        runs = " ".join(f"{t:.2f}" for t in r.totals)
        lines.append(f"| {r.variant} | {r.add_ms:.2f} | {r.commit_ms:.2f} | {r.total_ms:.2f} "
                     f"| {r.wall_ms:.2f} | {size} | {r.peak_rss_mb:.0f} | {ceiling:.0f} | {runs} |")
    return "\n".join(lines)


def tokens_table(tokens: dict[str, float]) -> str:
    lines = ["| TEXT field | tokens/doc (mean) | share |", "|---|---|---|"]
    total = sum(tokens.values()) or 1.0
    for name, mean in sorted(tokens.items(), key=lambda kv: -kv[1]):
        lines.append(f"| {name} | {mean:.1f} | {mean / total:.0%} |")
    lines.append(f"| all | {sum(tokens.values()):.1f} | 100% |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.whoosh_floor",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3, help="runs per variant (median shown)")
    parser.add_argument("--variants", default=",".join(VARIANTS),
                        help=f"comma-separated, from: {', '.join(VARIANTS)}")
    parser.add_argument("--parse-ms", type=float, default=2.2,
                        help="parse-stage CPU ms a message, for the 2-core ceiling")
    parser.add_argument("--cache", type=Path, default=CACHE,
                        help="where the documents are cached and the indexes written")
    parser.add_argument("--table-from", type=Path,
                        help=f"print the table from a runs log (CACHE/{RUNS_LOG}) and stop")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--docs", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.cache.mkdir(parents=True, exist_ok=True)

    if args.child:
        run = child(args.child, args.docs, args.cache)
        line = json.dumps({f: getattr(run, f) for f in Run.__slots__})  # type: ignore[attr-defined]
        # Also kept on disk: a run cut short still leaves its finished runs (--table-from).
        with (args.cache / RUNS_LOG).open("a") as log:
            log.write(line + "\n")
        print(line)
        return 0
    if args.table_from:
        logged: dict[str, list[Run]] = {}
        for text in args.table_from.read_text().splitlines():
            run = Run(**json.loads(text))
            logged.setdefault(run.variant, []).append(run)
        tokens = logged.pop("tokens", [Run("tokens", 0, 0, 0, 0, 0, 0, 0, {})])[-1].tokens
        print_report([summarise(r) for r in logged.values()], tokens, args)
        return 0

    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = set(variants) - set(VARIANTS)
    if unknown:
        parser.error(f"unknown variant(s) {', '.join(sorted(unknown))}")
    docs_file = documents_path(args.cache, args.messages, args.seed)
    tokens: dict[str, float] = {}
    # Round-robin over the variants, so that a burst of load on the shared machine
    # touches every variant's runs alike rather than one variant's all.
    runs: dict[str, list[Run]] = {v: [] for v in variants if v != "tokens"}
    for _ in range(max(1, args.repeat)):
        for variant in runs:
            run = run_child(variant, docs_file, args.cache)
            runs[variant].append(run)
            print(f"{variant}: {run.total_cpu * 1000 / max(run.docs, 1):.2f} ms CPU/doc",
                  file=sys.stderr)
    if "tokens" in variants:
        tokens = run_child("tokens", docs_file, args.cache).tokens
    print_report([summarise(r) for r in runs.values()], tokens, args)
    return 0


def print_report(rows: list[Row], tokens: dict[str, float], args: argparse.Namespace) -> None:
    docs = rows[0].docs if rows else 0
    repeats = max((len(r.totals) for r in rows), default=0)
    print(f"Whoosh index stage, {docs} documents ({args.messages} sample messages, seed "
          f"{args.seed}), medians of up to {repeats} runs; CPU = getrusage of the child "
          f"and its writer processes; ceiling = 2000 / ({args.parse_ms} parse ms + total ms)")
    if rows:
        print(table(rows, args.parse_ms))
    if tokens:
        print()
        print(tokens_table(tokens))


if __name__ == "__main__":
    sys.exit(main())
