"""The one exception tree of govmail: every error a user can cause is a GovmailError.

Each class carries the exit status the command line leaves with (the README's error
table); ``govmail/cli.py`` is the one place that turns an exception into a line and a status.
"""

from __future__ import annotations

# Statuses that are not errors: a search with no hits, an inspect that reported messages.
NOTHING_FOUND = 1
# The operating system refused a file operation (a path, a permission, a full disk): EX_IOERR.
IO_ERROR = 74
# Anything govmail did not raise on purpose: a bug, reported as one line (EX_SOFTWARE).
INTERNAL = 70


class GovmailError(Exception):
    """Root of every error govmail raises on purpose; the CLI prints it as one line."""

    exit_status = 2


class QueryError(GovmailError):
    """A query that cannot be run, with the offending token's position when known."""

    def __init__(self, message: str, position: int | None = None) -> None:
        super().__init__(message)
        self.position = position


class IndexNotFound(GovmailError):
    """No index exists at the configured directory."""

    exit_status = 3


class IndexLocked(GovmailError):
    """Another writer holds the index and did not let go within the timeout."""

    exit_status = 4


class SourceError(GovmailError):
    """A source path that cannot be read at all."""

    exit_status = 5


class MessageError(GovmailError):
    """A stage cannot go on with this message; the pipeline turns it into a Rejection."""

    def __init__(self, reason: str, stage: str = "parse") -> None:
        super().__init__(reason)
        self.reason = reason
        self.stage = stage


class ConfigError(GovmailError):
    """A configuration file or value that makes no sense."""


class WriterFailed(GovmailError):
    """A writer process died or lost documents; nothing from its batch was recorded."""


class DiskFull(GovmailError):
    """The index's file system filled up during a commit; the previous index is unchanged."""


class IndexDamaged(GovmailError):
    """An index or catalog file is damaged: ``govmail check`` says which, ``rebuild`` repairs."""

    exit_status = 6


class IndexFormatError(GovmailError):
    """An index built by another version of the text analysis: rebuild it, never mix the two."""

    exit_status = 2
