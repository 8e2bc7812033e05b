"""Test indexes written through the backend seam, with the parents the writer would store.

The search and web tests build their indexes from records they know exactly (ground truth,
not the parser's output); this writes them the way ``index/writer.py`` does, minus the
catalog: each document gets its thread parent from ``index/threads.py``.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from backends import open_reader, open_store
from core.config import Settings
from core.records import Message
from index import threads
from index.catalog import row_from_message
from index.document import Identity, to_document
from index.plans import thread_node


def write_messages(
    index_dir: Path, messages: Iterable[tuple[Message, Identity | None]], procs: int = 1
) -> Path:
    pairs = list(messages)
    parent = threads.parents(thread_node(row_from_message(m)) for m, _ in pairs)
    store = open_store(Settings(index_dir=index_dir), procs=procs)
    try:
        writer = store.writer(len(pairs))
        for message, identity in pairs:
            writer.add(to_document(message, identity, parent.get(message.message_id)))
        writer.commit()
    finally:
        store.close()
    return index_dir


def document_count(index_dir: Path) -> int:
    """Documents a reader sees now (0 when there is no index)."""
    from core.errors import IndexNotFound

    try:
        reader = open_reader(Settings(index_dir=index_dir))
    except IndexNotFound:
        return 0
    try:
        return reader.doc_count()
    finally:
        reader.close()


def stored_documents(index_dir: Path) -> dict[str, dict]:
    """message_id -> stored fields of every document a reader sees now."""
    reader = open_reader(Settings(index_dir=index_dir))
    try:
        return {d["message_id"]: d for d in reader.documents()}
    finally:
        reader.close()


def index_generation(index_dir: Path) -> int:
    """The commit a reader sees now, -1 when there is no index."""
    from core.errors import IndexNotFound

    try:
        reader = open_reader(Settings(index_dir=index_dir))
    except IndexNotFound:
        return -1
    try:
        return reader.generation()
    finally:
        reader.close()
