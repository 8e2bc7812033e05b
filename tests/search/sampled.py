"""Generated archives for the search tests: `sample.generator` ground truth -> Message -> index.

The records are the generator's ground truth, not the parser's output, so these tests
measure the search layer alone: a parsing mistake cannot make a ranking look better
or worse than it is.
"""

from __future__ import annotations

from datetime import UTC
from pathlib import Path

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
