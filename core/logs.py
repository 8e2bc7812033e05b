"""Logging, configured once by the command line: what a cron job mails is what went wrong.

Library code only calls ``logging.getLogger(__name__)``; this sets where records go (stderr)
and how loud: warnings by default, ``--verbose`` for progress and timings (``-vv`` for
debug), ``--quiet`` for errors only, or ``GOVMAIL_LOG=debug|info|warning|error``.
"""

from __future__ import annotations

import logging
import os
import sys

from core.errors import ConfigError

LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING,
          "error": logging.ERROR}
FORMAT = "govmail: %(levelname)s %(name)s: %(message)s"


def level_for(verbose: int, quiet: bool, environ: dict[str, str] | None = None) -> int:
    env = (environ if environ is not None else os.environ).get("GOVMAIL_LOG", "").strip().lower()
    if quiet:
        return logging.ERROR
    if verbose:
        return logging.DEBUG if verbose > 1 else logging.INFO
    if env:
        if env not in LEVELS:
            raise ConfigError(f"GOVMAIL_LOG={env!r} is not one of {', '.join(LEVELS)}")
        return LEVELS[env]
    return logging.WARNING


def configure(level: int) -> None:
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "govmail", False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.govmail = True  # type: ignore[attr-defined]
    handler.setFormatter(logging.Formatter(FORMAT))
    root.addHandler(handler)
    root.setLevel(level)
    # opensearch-py logs every failed request at WARNING with its traceback; govmail says
    # once, in its own words, what a failure means (the error line, a retry's message).
    logging.getLogger("opensearch").setLevel(logging.DEBUG if level <= logging.DEBUG
                                             else logging.ERROR)
