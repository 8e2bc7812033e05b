"""The OpenSearch backend: govmail's index in a cluster, through the official client.

``connect`` builds the one client every part of the backend uses: several node URLs (any
may answer; the client marks a node that fails dead and retries the request on another),
TLS options, and credentials read from a file or the environment, never from the
configuration file and never logged.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from core.errors import ConfigError, GovmailError

# Seconds one request may take; bulk batches are bounded so this is ample.
REQUEST_TIMEOUT = 120


class ClusterError(GovmailError):
    """The cluster refused or could not take a request after every retry."""


def credentials(credentials_file: Path | str | None) -> tuple[str, str] | None:
    """user, password from the file (``user:password``, one line) or
    $GOVMAIL_OPENSEARCH_USER / $GOVMAIL_OPENSEARCH_PASSWORD; None when neither is set."""
    if credentials_file:
        try:
            line = Path(credentials_file).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"cannot read opensearch credentials file {credentials_file}: "
                              f"{exc.strerror}") from exc
        user, sep, password = line.partition(":")
        if not sep or not user:
            # The line itself is never repeated: it holds the password.
            raise ConfigError(f"opensearch credentials file {credentials_file} must hold "
                              "one line user:password")
        return user, password
    user = os.environ.get("GOVMAIL_OPENSEARCH_USER")
    if user:
        return user, os.environ.get("GOVMAIL_OPENSEARCH_PASSWORD", "")
    return None


def connect(
    urls: Sequence[str],
    verify_certs: bool = True,
    ca_certs: Path | str | None = None,
    credentials_file: Path | str | None = None,
) -> Any:
    """An ``opensearchpy.OpenSearch`` client over every node URL given."""
    from opensearchpy import OpenSearch

    if not urls:
        raise ConfigError("backend = \"opensearch\" needs [opensearch] url = [...]")
    options: dict[str, Any] = {
        "hosts": list(urls),
        "timeout": REQUEST_TIMEOUT,
        # A node that stops answering: the request goes to the next node, not to the user.
        "retry_on_timeout": True,
        "max_retries": max(3, len(urls)),
        "retry_on_status": (502, 503, 504),
    }
    if any(u.startswith("https:") for u in urls):
        options["use_ssl"] = True
        options["verify_certs"] = verify_certs
        if ca_certs:
            options["ca_certs"] = str(ca_certs)
        if not verify_certs:
            options["ssl_show_warn"] = False
    auth = credentials(credentials_file)
    if auth:
        options["http_auth"] = auth
    return OpenSearch(transport_class=_transport_class(), **options)


def _transport_class() -> type:
    """opensearch-py's Transport, whose "no node answered" is also govmail's one-line error.

    The client raises its ConnectionError once every node and retry failed; the command
    line's boundary knows only govmail's errors, so that reached users as an internal error.
    ``ClusterUnreachable`` is both, so code that retries on the client's error (``bulk``)
    still catches it.
    """
    from opensearchpy import Transport
    from opensearchpy.exceptions import ConnectionError as NoNodeAnswered

    class ClusterUnreachable(ClusterError, NoNodeAnswered):
        def __init__(self, urls: Sequence[str], cause: Exception) -> None:
            ClusterError.__init__(self, "N/A", str(cause), cause)
            self.urls = list(urls)
            self.cause = cause

        def __str__(self) -> str:
            reason = getattr(self.cause, "info", None) or self.cause
            if isinstance(reason, Exception):
                reason = str(reason.args[-1] if reason.args else reason)
            # urllib3 puts the connection's repr before what the system said.
            reason = str(reason).rpartition(": ")[2] or reason
            return (f"no OpenSearch node answered at {', '.join(self.urls)} ({reason}); "
                    "is the cluster running and the [opensearch] url right?")

    class GovmailTransport(Transport):
        def perform_request(self, *args: Any, **kwargs: Any) -> Any:
            try:
                return super().perform_request(*args, **kwargs)
            except ClusterUnreachable:
                raise
            except NoNodeAnswered as exc:
                urls = [f"{h.get('scheme', 'http')}://{h['host']}:{h['port']}"
                        if isinstance(h, dict) else str(h) for h in self.hosts]
                raise ClusterUnreachable(urls, exc) from exc

    return GovmailTransport
