"""The ``govmail`` command: a search a running resident can answer is answered there.

Everything else, and every search no resident answers, runs the click command line
(``govmail/cli.py``). Only the standard library and ``core.config`` (itself standard
library only) are imported before that choice, so an answered search costs a Python
start, not numpy, Whoosh and click (issue 19; ``govmail/resident.py``).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence


def _index_option(args: Sequence[str]) -> str | None:
    """The value of the search's --index, as click would read it (last one wins)."""
    found = None
    for at, arg in enumerate(args):
        if arg == "--index" and at + 1 < len(args):
            found = args[at + 1]
        elif arg.startswith("--index="):
            found = arg.removeprefix("--index=")
    return found


def from_resident(argv: Sequence[str]) -> int | None:
    """The exit status of ``govmail ARGV`` answered by a resident, or None (then nothing
    was printed and the command line must run)."""
    # Only `govmail search ...`: options before the command (--config, -v) or `--` (after
    # which --index is a query word) take the ordinary path.
    if not argv or argv[0] != "search" or "--" in argv:
        return None
    args = list(argv[1:])
    try:
        import shutil

        from core import config
        from govmail import resident

        settings = config.load(None).with_overrides(index_dir=_index_option(args))
        width = shutil.get_terminal_size((100, 24)).columns
        styled = sys.stdout.isatty()
        answer = resident.ask(settings, args, width, styled)
    except Exception:  # a bad config file, say: the command line words it
        return None
    if answer is None or "declined" in answer:
        return None
    sys.stdout.write(str(answer.get("stdout", "")))
    sys.stdout.flush()
    if answer.get("stderr"):
        sys.stderr.write(str(answer["stderr"]))
    return int(answer["status"])


def main() -> None:
    status = from_resident(sys.argv[1:])
    if status is not None:
        sys.exit(status)
    from govmail.cli import cli

    cli()


if __name__ == "__main__":  # pragma: no cover
    main()
