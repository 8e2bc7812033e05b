"""What the benchmarks' command lines share: where they work, the JSON they write, and how
they stop the servers they start."""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from core.processes import stop_process

__all__ = ["add_output_arguments", "run_and_write", "stop_process"]


def add_output_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--workdir", default=os.environ.get(
        "GOVMAIL_BENCH_DIR", str(Path(tempfile.gettempdir()) / "govmail-bench")))
    parser.add_argument("--json", help="write the figures as one JSON object")


def run_and_write(parse_args: Callable[[list[str]], argparse.Namespace],
                  run: Callable[[argparse.Namespace], dict[str, Any]],
                  argv: list[str] | None) -> int:
    """Parse, run, and write the figures where ``--json`` says."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    figures = run(args)
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n")
    return 0


