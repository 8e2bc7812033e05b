"""The ``govmail`` command: a search a running resident can answer is answered there.

Everything else, and every search no resident answers, runs the click command line
(``govmail/cli.py``). Only the standard library is imported before that choice (and
``core.config``, itself standard library only, when neither --index nor $GOVMAIL_INDEX
says where the index is), so an answered search costs a Python
start, not numpy, Whoosh and click (issue 19; ``govmail/resident.py``).
"""

from __future__ import annotations

import os
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


def _terminal_width() -> int:
    """shutil.get_terminal_size's answer, without importing shutil (and its compressors)."""
    try:
        return int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        pass
    try:
        return os.get_terminal_size(sys.__stdout__.fileno()).columns or 100
    except (AttributeError, ValueError, OSError):
        return 100


def from_resident(argv: Sequence[str]) -> int | None:
    """The exit status of ``govmail ARGV`` answered by a resident, or None (then nothing
    was printed and the command line must run)."""
    # Only `govmail search ...`: options before the command (--config, -v) or `--` (after
    # which --index is a query word) take the ordinary path.
    if not argv or argv[0] != "search" or "--" in argv:
        return None
    args = list(argv[1:])
    try:
        from govmail import resident

        config_path = os.environ.get("GOVMAIL_CONFIG") or None
        index_dir = os.path.expanduser(_index_option(args) or os.environ.get("GOVMAIL_INDEX")
                                       or "")
        if not index_dir:
            # Only the configuration knows (its index_dir, else the XDG default).
            from core import config

            index_dir = str(config.load(None).index_dir)
        answer = resident.ask(index_dir, config_path, os.environ, args, _terminal_width(),
                              sys.stdout.isatty())
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
