"""How govmail serves its WSGI app: waitress behind a bounded connection policy.

- The port is bound before "serving" is printed, so a taken port is one line naming a
  free one, not a traceback after a success message.
- Waitress reads requests in its event loop and hands only complete ones to worker
  threads, so clients that trickle header bytes hold a connection, never a thread; what
  bounds them is ``connection_limit`` (waitress's default of 100 let 101 tricklers
  refuse everyone) and ``channel_timeout`` (an idle connection is closed).
- Waitress's own error responses (400, 431) get the same security headers as the app's.
- Absolute URLs (the Atom feed's links, /opensearch.xml) come from ``base_url``, never
  from the request's Host header, which any client sets.
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

from core.errors import ConfigError, GovmailError

# Connections waitress holds open at once. Each costs a socket and a few KB in the event
# loop (poll(), not select(), so past 1,024 descriptors is fine); threads are separate.
CONNECTION_LIMIT = 1000
# Seconds a connection may send nothing before waitress closes it.
CHANNEL_TIMEOUT = 30


class PortInUse(GovmailError):
    """The port asked for is taken."""


def free_port_after(host: str, port: int, tries: int = 20) -> int | None:
    for candidate in range(port + 1, min(65536, port + 1 + tries)):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind((host, candidate))
            except OSError:
                continue
            return candidate
    return None


def with_base_url(app: Callable[..., Any], base_url: str) -> Callable[..., Any]:
    """The app, seeing every request as addressed to ``base_url`` (scheme, host, prefix)."""
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"base_url {base_url!r} is not an http(s)://host[:port][/prefix] URL")
    prefix = parts.path.rstrip("/")

    def fixed(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        environ["wsgi.url_scheme"] = parts.scheme
        environ["HTTP_HOST"] = parts.netloc
        environ["SERVER_NAME"] = parts.hostname or parts.netloc
        environ["SERVER_PORT"] = str(parts.port or (443 if parts.scheme == "https" else 80))
        if prefix:
            environ["SCRIPT_NAME"] = prefix
            path = environ.get("PATH_INFO", "")
            if path.startswith(prefix + "/") or path == prefix:
                environ["PATH_INFO"] = path[len(prefix):]
        for forwarded in ("HTTP_X_FORWARDED_HOST", "HTTP_X_FORWARDED_PROTO", "HTTP_FORWARDED"):
            environ.pop(forwarded, None)
        return app(environ, start_response)

    return fixed


def create(app: Callable[..., Any], host: str, port: int, threads: int,
           connection_limit: int = CONNECTION_LIMIT,
           channel_timeout: int = CHANNEL_TIMEOUT) -> Any:
    """A bound waitress server (call ``.run()``), or PortInUse with a port to try."""
    from waitress.channel import HTTPChannel
    from waitress.server import create_server
    from waitress.task import ErrorTask

    from web import SECURITY_HEADERS

    class SecureErrorTask(ErrorTask):
        def execute(self) -> None:
            # Before the parent's: the header block is written on the first write().
            self.response_headers.extend(SECURITY_HEADERS.items())
            super().execute()

    class Channel(HTTPChannel):
        error_task_class = SecureErrorTask

    try:
        server = create_server(
            app, host=host, port=port, threads=threads, ident="govmail",
            connection_limit=connection_limit, channel_timeout=channel_timeout,
            asyncore_use_poll=True, cleanup_interval=min(30, channel_timeout),
        )
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise
        other = free_port_after(host, port)
        hint = f"; try --port {other}" if other else ""
        raise PortInUse(f"port {port} is in use{hint}") from None
    server.channel_class = Channel
    return server
