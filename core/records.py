"""The typed records that flow one way through the ingestion pipeline.

Each stage returns a new frozen record; only :class:`Message` leaves ``index/``.
A stage that cannot go on raises :class:`core.errors.MessageError`; the pipeline
turns that (or any unexpected exception) into a :class:`Rejection`, so that
``read == recorded + duplicates + rejected`` holds by construction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class SourceRef:
    """Where a message was read: a file path plus a key inside it.

    ``key`` is the byte offset of the message in an mbox or pipermail file (as a
    decimal string), the file name for a Maildir message, and "" for a file
    that holds exactly one message.
    """

    path: str
    key: str = ""

    def __str__(self) -> str:
        return f"{self.path}:{self.key}" if self.key else self.path

    def to_json(self) -> dict[str, str]:
        return {"path": self.path, "key": self.key}


@dataclass(frozen=True, slots=True)
class RawMessage:
    """The bytes of one message as a source yielded them.

    ``format`` is one of "mbox", "pipermail", "maildir", "eml", "body" (a bare
    HTML or text body without headers), "hypermail" or "pipermail-html" (an archive's
    HTML page of one message). ``envelope`` is the mbox ``From `` line
    when there was one; ``list_hint`` the list name the source implies
    (pipermail folder or configured name).
    """

    source: SourceRef
    data: bytes
    format: str
    envelope: str | None = None
    list_hint: str | None = None
    # What the container says about the message beside its bytes, as header pairs (a
    # pipermail HTML page's own Message-ID, which only the folder's thread.html holds).
    container: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class CharsetReport:
    """What the bytes said they were, what we decoded them as, and every repair."""

    declared: str | None
    used: str
    repairs: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"declared": self.declared, "used": self.used, "repairs": list(self.repairs)}


@dataclass(frozen=True, slots=True)
class Block:
    """One paragraph-like run of body text with its quoting context.

    ``depth`` 0 is the author's own text; 1 quotes the parent, 2 the grandparent.
    ``kind`` is "text", "attribution" (a "X wrote:" line or an Outlook header
    block, which names the quoted author but is neither original nor quoted
    text), "signature" or "footer". ``author``/``cite_id`` carry what the
    markup or an attribution line says about who is quoted.
    """

    text: str
    depth: int = 0
    kind: str = "text"
    author: str | None = None
    cite_id: str | None = None


@dataclass(frozen=True, slots=True)
class Quote:
    """One quoted passage, in body order; a deeper quote right after its parent is inside it.

    ``at`` is the offset in ``original_text`` where the passage stood, so a page can put
    the author's words and the quotes back in the order they were written (-1: unknown,
    records written before offsets existed). ``message_id`` names the quoted message
    once the writer found the text in it (index/quote_links.py).
    """

    author: str | None
    message_id: str | None
    depth: int
    text: str
    at: int = -1

    def to_json(self) -> dict[str, Any]:
        return {
            "author": self.author,
            "message_id": self.message_id,
            "depth": self.depth,
            "text": self.text,
            "at": self.at,
        }


@dataclass(frozen=True, slots=True)
class Split:
    """A body divided into the author's words and everything that is not theirs."""

    original_text: str
    quoted_text: str
    quotes: tuple[Quote, ...] = ()
    signature: str = ""
    footer: str = ""
    # A name found at a sign-off ("Parminder" above "X wrote:"); used to infer
    # the author of header-less bodies.
    signoff: str | None = None
    # Archive stubs ("A non-text attachment was scrubbed...") stand for attachments.
    attachments: tuple[Attachment, ...] = ()


@dataclass(frozen=True, slots=True)
class Author:
    name: str | None
    email: str | None
    # "header", "pipermail", "signoff", "attribution" or None when unknown.
    source: str | None = "header"

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "email": self.email, "source": self.source}


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str | None
    content_type: str
    size: int

    def to_json(self) -> dict[str, Any]:
        return {"filename": self.filename, "content_type": self.content_type, "size": self.size}


@dataclass(frozen=True, slots=True)
class Cite:
    """A governance document (an id of index/references.toml), maybe a part, and on which side.

    ``part`` is a paragraph, section or article as ``core.refkeys.part_key`` spells it
    ("76", "73b", "4.2"), None for the document as a whole; ``where`` is "original" (the
    author's own words) or "quoted".
    """

    document: str
    part: str | None
    where: str

    def to_json(self) -> dict[str, Any]:
        return {"document": self.document, "part": self.part, "where": self.where}


@dataclass(frozen=True, slots=True)
class RefSpan:
    """Where one reference stands: ``text[start:end]`` of the own words ("original") or of
    the quoted text ("quoted", ``Message.quoted_text``), and the index value it is, in
    ``field`` ("cites": tunis-agenda/76; "mentions": itu)."""

    where: str
    start: int
    end: int
    field: str
    value: str


@dataclass(frozen=True, slots=True)
class Message:
    """The finished record: what ``govmail inspect`` prints and the writer indexes."""

    message_id: str
    source: SourceRef
    lists: tuple[str, ...]
    subject: str
    subject_normalized: str
    author: Author
    date: datetime | None
    date_source: str | None
    in_reply_to: str | None
    references: tuple[str, ...]
    original_text: str
    quoted_text: str
    quotes: tuple[Quote, ...]
    signature: str
    footer: str
    charset: CharsetReport
    attachments: tuple[Attachment, ...] = ()
    # "header" when Message-ID came from the message, "content" when derived.
    message_id_source: str = "header"
    thread_id: str | None = None
    # Decoded header block, for the "raw decoded source" view.
    headers: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)
    # Documents cited and organisations (ids) named, in own and quoted text (index/references).
    cites: tuple[Cite, ...] = ()
    mentions: tuple[str, ...] = ()
    # Where the references stand, for the message page's marks; not a record key of its own
    # (inspect shows the references themselves), so to_json leaves it out.
    reference_spans: tuple[RefSpan, ...] = ()

    @property
    def list(self) -> str | None:
        return self.lists[0] if self.lists else None

    def to_json(self) -> dict[str, Any]:
        """The record as DESIGN.md's ``govmail inspect`` keys."""
        return {
            "message_id": self.message_id,
            "message_id_source": self.message_id_source,
            "source": self.source.to_json(),
            "list": self.list,
            "lists": list(self.lists),
            "subject": self.subject,
            "subject_normalized": self.subject_normalized,
            "author": self.author.to_json(),
            "date": iso_utc(self.date),
            "date_source": self.date_source,
            "in_reply_to": self.in_reply_to,
            "references": list(self.references),
            "thread_id": self.thread_id,
            "original_text": self.original_text,
            "quoted_text": self.quoted_text,
            "quotes": [q.to_json() for q in self.quotes],
            "signature": self.signature,
            "footer": self.footer,
            "charset": self.charset.to_json(),
            "attachments": [a.to_json() for a in self.attachments],
            "notes": list(self.notes),
            "cites": [c.to_json() for c in self.cites],
            "mentions": list(self.mentions),
        }


@dataclass(frozen=True, slots=True)
class Rejection:
    """A message (or a whole source) that could not be recorded, and why."""

    source: SourceRef
    stage: str
    reason: str
    internal: bool = False

    def __str__(self) -> str:
        return f"{self.source} [{self.stage}] {self.reason}"

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source.to_json(),
            "stage": self.stage,
            "reason": self.reason,
            "internal": self.internal,
        }


def iso_utc(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with a ``Z``, the one date format of every output."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
