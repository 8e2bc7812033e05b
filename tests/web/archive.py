"""A real mbox of point-by-point replies (tests/data/web/interleaved.mbox), indexed through
the real parser, with each quote's place (``at``) and source set by the test.

Until the splitter stores ``at`` and the quote links itself, the test states them: a
quote stood right before the own-words paragraph that follows it in the mbox, and
quotes its parent (depth 1) or grandparent (depth 2). The pages must put each answer
right after the passage it answers from that data alone.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from backends import open_store
from core.config import Settings
from index import threads
from index.catalog import row_from_message
from index.document import to_document
from index.pipeline import parse_one
from index.plans import thread_node
from index.sources import iter_raw
from tests.conftest import DATA

MBOX = DATA / "web" / "interleaved.mbox"
# message id -> the own-words paragraph each quote stood before (None: after the words).
PLACES: dict[str, list[str | None]] = {
    "ec-reply-1@syr.example": ["Agreed, but", "No. It means", "A working group of whom?"],
    "ec-reply-2@itforchange.example": ["The Tunis text is", None],
}


def messages(mbox: Path = MBOX) -> list[Any]:
    return [parse_one(raw, Settings(), "governance") for raw in iter_raw(mbox)]


def root_of(message_id: str, parents: dict[str, str | None]) -> str:
    seen = {message_id}
    while (parent := parents.get(message_id)) and parent not in seen:
        seen.add(parent)
        message_id = parent
    return message_id


def quotes_with_places(message: Any, parents: dict[str, str | None]) -> list[dict[str, Any]]:
    places = PLACES.get(message.message_id, [])
    parent = parents.get(message.message_id)
    grandparent = parents.get(parent) if parent else None
    out = []
    for i, quote in enumerate(message.quotes):
        follows = places[i] if i < len(places) else None
        at = message.original_text.find(follows) if follows else -1
        source = parent if quote.depth == 1 else grandparent
        out.append({**quote.to_json(), "message_id": source, "at": at})
    return out


def build(index_dir: Path, mbox: Path = MBOX) -> Path:
    parsed = messages(mbox)
    parents = threads.parents(thread_node(row_from_message(m)) for m in parsed)
    store = open_store(Settings(index_dir=index_dir))
    try:
        writer = store.writer(len(parsed))
        for message in parsed:
            doc = to_document(message, None, parents.get(message.message_id))
            doc["thread_id"] = root_of(message.message_id, parents)
            doc["quotes_json"] = json.dumps(quotes_with_places(message, parents))
            writer.add(doc)
        writer.commit()
    finally:
        store.close()
    return index_dir
