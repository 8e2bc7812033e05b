"""Generated archives for the search tests: `sample.generator` ground truth -> Message -> index.

The records are the generator's ground truth, not the parser's output, so these tests
measure the search layer alone: a parsing mistake cannot make a ranking look better
or worse than it is.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from datetime import UTC
from pathlib import Path

import pytest

from core.records import Author, CharsetReport, Message, Quote, SourceRef
from index.document import Identity
from sample.generator import SampleMessage, generate
from tests.indexing import write_messages

GROUPS = (
    "civil society",
    "government",
    "private sector",
    "technical community",
    "academia",
    "intergovernmental",
)


def to_message(sample: SampleMessage) -> Message:
    message_id = sample.message_id or f"sample-{sample.index}@govmail.test"
    quotes: tuple[Quote, ...] = ()
    if sample.quoted_text:
        quotes = (Quote(sample.quoted_author, sample.quoted_message_id, 1, sample.quoted_text),)
    return Message(
        message_id=message_id,
        source=SourceRef("sample.mbox", str(sample.index)),
        lists=tuple(sample.lists),
        subject=sample.subject,
        subject_normalized=sample.subject,
        author=Author(sample.author_name, sample.author_email),
        date=sample.date.astimezone(UTC),
        date_source="header",
        in_reply_to=sample.in_reply_to,
        references=tuple(sample.references),
        original_text=sample.original_text,
        quoted_text=sample.quoted_text,
        quotes=quotes,
        signature=sample.signature,
        footer=sample.footer,
        charset=CharsetReport(sample.charset, sample.charset),
        thread_id=sample.thread_root or message_id,
    )


def sample_messages(count: int, seed: int) -> list[Message]:
    return [to_message(s) for s in generate(count, seed)]


def identity(message: Message) -> Identity:
    """A canonical name (the name, else the address) and a group fixed by the name."""
    name = message.author.name or message.author.email or "(unknown)"
    group = GROUPS[sum(map(ord, name)) % len(GROUPS)]
    return Identity(name=name, email=message.author.email, group=group)


def write_index(index_dir: Path, messages: list[Message], procs: int = 1) -> None:
    write_messages(index_dir, ((m, identity(m)) for m in messages), procs=procs)


def cached_index(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
                 messages: list[Message], key: str) -> Path:
    """An index of ``messages`` kept in pytest's cache until the code that shapes it changes.

    ``key`` names the messages (their count and seed). A 20,000-message index takes 45 s
    to build on an idle 2-core machine and minutes on a busy one; the slow tests that read
    it share one copy, also across the two pytest runs of CI.
    """
    import backends.whoosh.schema
    import index.document
    import sample.generator

    cache = getattr(request.config, "cache", None)
    if cache is None:
        index_dir = tmp_path_factory.mktemp("sample") / "index"
        write_index(index_dir, messages, procs=2)
        return index_dir
    digest = hashlib.sha256(key.encode())
    for module in (sample.generator, index.document, backends.whoosh.schema):
        digest.update(Path(module.__file__ or "").read_bytes())
    digest.update(Path(__file__).read_bytes())
    index_dir = Path(cache.mkdir(f"sample-{key}-{digest.hexdigest()[:16]}")) / "index"
    if not index_dir.is_dir():
        # Built privately, then renamed: two test sessions at once must not share a
        # half-written index (they did, and one writer deleted the other's temp files).
        private = Path(tempfile.mkdtemp(prefix="index-", dir=index_dir.parent))
        write_index(private, messages, procs=2)
        try:
            private.rename(index_dir)
        except OSError:  # another session finished first; use its index
            shutil.rmtree(private, ignore_errors=True)
    return index_dir
