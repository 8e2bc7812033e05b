"""Search engines behind one seam (``core/backend.py``): Whoosh embedded, OpenSearch for clusters.

:func:`open_reader` and :func:`open_store` pick the engine the configuration names and
import only that engine's package, so a site that never uses OpenSearch never loads its
client, and ``govmail search`` loads no writer code.
"""

from __future__ import annotations

from pathlib import Path

from core.backend import Reader, Store
from core.config import Settings
from core.errors import ConfigError

BACKENDS = ("whoosh", "opensearch")


def _check(settings: Settings) -> str:
    name = settings.backend
    if name not in BACKENDS:
        raise ConfigError(f"unknown backend {name!r} (backends: {', '.join(BACKENDS)})")
    return name


def open_reader(settings: Settings) -> Reader:
    if _check(settings) == "opensearch":
        from backends.opensearch.reader import OpenSearchReader

        return OpenSearchReader(settings)
    from backends.whoosh.reader import WhooshReader

    return WhooshReader(Path(settings.index_dir))


def open_store(settings: Settings, procs: int | None = None) -> Store:
    """``procs``: writer processes (None: the backend decides per batch)."""
    if _check(settings) == "opensearch":
        from backends.opensearch.store import OpenSearchStore

        return OpenSearchStore(settings)
    from backends.whoosh.store import WhooshStore

    return WhooshStore(Path(settings.index_dir), procs)


def verify_index(settings: Settings, deep: bool = True, rate: float = 0.0) -> list[str]:
    """Problems with the index files, one line each ([]: sound; a cluster checks itself).

    ``rate``: most MB a second a deep check reads (0: no bound).
    """
    if _check(settings) == "opensearch":
        return []
    from backends.whoosh.integrity import verify

    return verify(Path(settings.index_dir), deep, rate)
