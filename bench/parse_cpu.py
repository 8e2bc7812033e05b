"""The parse stage alone, measured in CPU time: ``python -m bench.parse_cpu --messages 5000``.

Owns the parse-stage micro-benchmark and its exactness check. It writes (once, cached under
/tmp/parse-cpu) a synthetic mbox archive with :func:`sample.generator.write_sample`, reads the raw
messages with :func:`index.pipeline.read_sources` and parses every one in this process
(jobs=1) through :func:`index.pipeline.parse_safely`, timing each with
``time.process_time()`` so that a busy shared machine does not inflate the figure. It prints
CPU ms per message, the median of ``--passes`` passes.

``--dump FILE`` pickles every record (the synthetic archive plus the real corpora of
../shared/corpora when present, which exercise HTML, charsets and mojibake that the synthetic
mail does not); ``--compare FILE`` checks that the current code yields exactly those records
and prints the first difference. Together they prove an optimisation changed no output.
"""

from __future__ import annotations

import argparse
import pickle
import statistics
import sys
import time
from dataclasses import fields, is_dataclass
from pathlib import Path

from core.config import Settings
from core.records import Message, RawMessage, Rejection
from index.pipeline import parse_safely, read_sources
from sample.generator import write_sample

CACHE = Path("/tmp/parse-cpu")
REPO = Path(__file__).resolve().parents[1]
CORPORA = REPO.parent / "shared" / "corpora"
# The folders tests/index/test_corpora.py reads, plus two gzip'd pipermail months.
CORPUS_PATHS = (
    "bigbang-testdata", "enmime-testdata", "fixtures-external", "ietf-mailarchive",
    "notmuch-maildir", "python-email-testdata", "robots-list-1994", "seed",
    "stalwart-mail-parser", "twisted-pipermail/twisted-web",
    "twisted-pipermail/twisted-python/2010-November.txt.gz",
    "twisted-pipermail/twisted-python/2009-August.txt.gz",
)

Record = Message | Rejection


def synthetic_archive(messages: int, seed: int) -> list[Path]:
    """The mbox files of a cached sample archive, written on first use."""
    root = CACHE / f"{messages}-{seed}"
    done = root / ".complete"
    if not done.is_file():
        print(write_sample(root, messages, seed, {"mbox"}), file=sys.stderr)
        done.touch()
    return sorted((root / "mbox").glob("*.mbox"))


def corpus_paths() -> list[Path]:
    if not CORPORA.is_dir():
        print(f"{CORPORA} is absent: synthetic archive only", file=sys.stderr)
        return []
    return [CORPORA / rel for rel in CORPUS_PATHS if (CORPORA / rel).exists()]


def read_all(paths: list[Path], settings: Settings) -> list[RawMessage | Rejection]:
    return list(read_sources(paths, settings))


def parse_pass(items: list[RawMessage | Rejection], settings: Settings) -> tuple[list[Record], float]:
    """Parse every item; (records, total CPU seconds spent inside parse_safely)."""
    clock = time.process_time
    records: list[Record] = []
    spent = 0.0
    for item in items:
        if isinstance(item, Rejection):
            records.append(item)
            continue
        started = clock()
        record = parse_safely(item, settings)
        spent += clock() - started
        records.append(record)
    return records, spent


def first_difference(old: object, new: object, where: str = "") -> str | None:
    """Where two records (or values inside them) first differ, with both values; None if equal."""
    if old == new:
        return None
    if is_dataclass(old) and type(old) is type(new):
        for f in fields(old):  # type: ignore[arg-type]
            found = first_difference(getattr(old, f.name), getattr(new, f.name), f"{where}.{f.name}")
            if found:
                return found
    if isinstance(old, tuple | list) and isinstance(new, tuple | list) and len(old) == len(new):
        for index, (a, b) in enumerate(zip(old, new, strict=True)):
            found = first_difference(a, b, f"{where}[{index}]")
            if found:
                return found
    return f"{where or 'record'}:\n  before: {old!r:.600}\n  now:    {new!r:.600}"


def compare(dumped: dict[str, list[Record]], current: dict[str, list[Record]]) -> int:
    """Print the first difference per set; the number of differing records overall."""
    differing = 0
    for name, before in dumped.items():
        now = current.get(name)
        if now is None:
            print(f"{name}: not parsed in this run (dumped {len(before)} records)")
            differing += len(before)
            continue
        if len(now) != len(before):
            print(f"{name}: {len(before)} records dumped, {len(now)} now")
        bad = [i for i, (a, b) in enumerate(zip(before, now, strict=False)) if a != b]
        differing += len(bad) + abs(len(now) - len(before))
        if bad:
            first = bad[0]
            source = getattr(before[first], "source", "?")
            print(f"{name}: {len(bad)} of {len(before)} records differ; first #{first} ({source})")
            print(first_difference(before[first], now[first]))
        elif len(now) == len(before):
            print(f"{name}: all {len(now)} records identical")
    return differing


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.parse_cpu", description=__doc__)
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--passes", type=int, default=3)
    parser.add_argument("--dump", type=Path, help="pickle every parsed record to this file")
    parser.add_argument("--compare", type=Path, help="check records equal this dump")
    parser.add_argument("--no-corpora", action="store_true",
                        help="skip ../shared/corpora (timing of the synthetic archive only)")
    args = parser.parse_args(argv)
    settings = Settings()

    sets: dict[str, list[RawMessage | Rejection]] = {
        "synthetic": read_all(synthetic_archive(args.messages, args.seed), settings)}
    if (args.dump or args.compare or not args.no_corpora) and not args.no_corpora:
        paths = corpus_paths()
        if paths:
            sets["corpora"] = read_all(paths, settings)

    results: dict[str, list[Record]] = {}
    for name, items in sets.items():
        parsed = sum(1 for i in items if isinstance(i, RawMessage))
        per_pass: list[float] = []
        for _ in range(max(1, args.passes)):
            records, spent = parse_pass(items, settings)
            per_pass.append(spent * 1000 / max(parsed, 1))
        results[name] = records
        rejected = sum(1 for r in records if isinstance(r, Rejection))
        shown = " ".join(f"{v:.3f}" for v in per_pass)
        print(f"{name}: {parsed} messages parsed ({rejected} rejected), CPU ms/msg "
              f"median {statistics.median(per_pass):.3f} (passes: {shown})")

    status = 0
    if args.dump:
        with args.dump.open("wb") as out:
            pickle.dump(results, out, protocol=pickle.HIGHEST_PROTOCOL)
        print(f"dumped {sum(len(r) for r in results.values())} records to {args.dump}")
    if args.compare:
        with args.compare.open("rb") as src:
            dumped = pickle.load(src)
        differing = compare(dumped, results)
        print("compare: identical" if not differing else f"compare: {differing} records differ")
        status = 1 if differing else 0
    return status


if __name__ == "__main__":
    sys.exit(main())
