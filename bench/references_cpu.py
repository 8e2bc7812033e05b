"""What the reference stage adds to parsing: ``python -m bench.references_cpu [--messages N]``.

Issue 20's bound: parse CPU per message may grow by at most 10%. Two runs of
``bench.parse_cpu`` (with and without the stage) differ by more than that on a shared machine
from one minute to the next, so this measures both in the same loop, message by message: the
parse with the stage switched off, then the stage on that record, each timed with
``time.process_time()``. A busy machine slows both alike, and the stage runs right after the
parse as in the pipeline (same caches). Prints both in ms per message and their ratio, for the
synthetic archive of ``bench.parse_cpu`` and, with ``--corpus PATH``, for real mail.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from core.config import Settings
from core.records import Message, RawMessage
from index import references
from index.pipeline import parse_safely, read_sources


def measure(paths: list[Path], passes: int) -> tuple[int, float, float]:
    """(messages, ms per message without the stage, ms per message of the stage)."""
    settings = Settings()
    items = [i for i in read_sources(paths, settings) if isinstance(i, RawMessage)]
    table = references.table(settings)
    real = references.references_of
    empty = references.References()
    references.references_of = lambda original, quoted, s: empty  # type: ignore[assignment]
    clock = time.process_time
    rest = stage = 0.0
    try:
        for _ in range(passes):
            for item in items:
                started = clock()
                record = parse_safely(item, settings)
                parsed = clock()
                if isinstance(record, Message):
                    references.extract(record.original_text, record.quoted_text, table)
                stage += clock() - parsed
                rest += parsed - started
    finally:
        references.references_of = real  # type: ignore[assignment]
    count = max(1, passes * len(items))
    return len(items), rest / count * 1000, stage / count * 1000


def main(argv: list[str] | None = None) -> None:
    from bench.parse_cpu import synthetic_archive

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--passes", type=int, default=3)
    parser.add_argument("--corpus", type=Path, action="append", default=[],
                        help="real mail to measure too (repeatable)")
    args = parser.parse_args(argv)
    runs = [("synthetic", synthetic_archive(args.messages, args.seed))]
    runs += [(str(path), [path]) for path in args.corpus]
    for name, paths in runs:
        count, rest, stage = measure(paths, args.passes)
        print(f"{name}: {count} messages x{args.passes}: parse without references "
              f"{rest:.3f} ms/msg, reference stage {stage:.3f} ms/msg = +{stage / rest:.1%}")


if __name__ == "__main__":
    main()
