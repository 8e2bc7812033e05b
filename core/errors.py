"""The one exception tree of govmail: every error a user can cause is a GovmailError."""

from __future__ import annotations


class GovmailError(Exception):
    """Root of every error govmail raises on purpose; the CLI prints it as one line."""


class QueryError(GovmailError):
    """A query that cannot be run, with the offending token's position when known."""

    def __init__(self, message: str, position: int | None = None) -> None:
        super().__init__(message)
        self.position = position


class IndexNotFound(GovmailError):
    """No index exists at the configured directory."""


class IndexLocked(GovmailError):
    """Another writer holds the index and did not let go within the timeout."""


class SourceError(GovmailError):
    """A source path that cannot be read at all."""


class MessageError(GovmailError):
    """A stage cannot go on with this message; the pipeline turns it into a Rejection."""

    def __init__(self, reason: str, stage: str = "parse") -> None:
        super().__init__(reason)
        self.reason = reason
        self.stage = stage


class ConfigError(GovmailError):
    """A configuration file or value that makes no sense."""
