"""A synthetic index for the hardening tests: many distinct words, built without the parser.

Query and XSS tests need an index whose term dictionary is large enough that a
careless wildcard or range would be expensive, and whose fields hold exactly the
text a test put there. Messages are made as ``core.records.Message`` and written
through the indexer's own ``index.document.to_document`` into ``backends.whoosh.schema.SCHEMA``,
so the engine reads a real index in its real layout.
"""

from __future__ import annotations

import random
import string
from datetime import UTC, datetime, timedelta
from pathlib import Path

from core.records import Author, CharsetReport, Message, Quote, SourceRef
from tests.indexing import write_messages

LISTS = ("igc", "igf", "icann", "ietf", "w3c")


def vocabulary(count: int, seed: int = 8) -> list[str]:
    """``count`` distinct lower-case words of 4 to 9 letters, the same for a given seed."""
    rng = random.Random(seed)
    words: set[str] = set()
    while len(words) < count:
        words.add("".join(rng.choices(string.ascii_lowercase, k=rng.randint(4, 9))))
    return sorted(words)


def message(i: int, words: list[str], rng: random.Random, **fields: object) -> Message:
    body = " ".join(rng.choices(words, k=60))
    base = {
        "message_id": f"m{i}@hardening.example",
        "source": SourceRef("hardening", str(i)),
        "lists": (LISTS[i % len(LISTS)],),
        "subject": " ".join(rng.choices(words, k=4)),
        "subject_normalized": "",
        "author": Author(f"Author {i % 37}", f"author{i % 37}@example.org"),
        "date": datetime(2005, 1, 1, tzinfo=UTC) + timedelta(days=3 * i),
        "date_source": "header",
        "in_reply_to": None,
        "references": (),
        "original_text": body,
        "quoted_text": " ".join(rng.choices(words, k=10)),
        "quotes": (Quote(f"Author {(i + 1) % 37}", None, 1, "quoted words"),),
        "signature": "",
        "footer": "",
        "charset": CharsetReport("utf-8", "utf-8"),
        "thread_id": f"m{i - i % 5}@hardening.example",
    }
    base.update(fields)
    return Message(**base)  # type: ignore[arg-type]


def build(directory: Path, messages: int = 400, words: int = 6000, seed: int = 8) -> Path:
    """An index of ``messages`` messages over a ``words``-word vocabulary."""
    rng = random.Random(seed)
    vocab = vocabulary(words, seed)
    return write_messages(directory, ((message(i, vocab, rng), None) for i in range(messages)))
