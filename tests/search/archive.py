"""A hand-built archive of 33 messages for exact-set tests of the query language.

Five people write on four lists from December 2009 to March 2011; two of every three
messages reply to the one before and quote it. Each message's own words carry a
marker word (``marker07``) so a test can name it, and replies quote the parent's
marker, so bare words and ``quoted:`` give different, known sets. The last message
holds text that looks like HTML, for escaping.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from core.records import Author, CharsetReport, Message, Quote, SourceRef
from index.document import Identity
from tests.indexing import write_messages

# name, email, group
PEOPLE = (
    ("Parminder Jeet Singh", "parminder@itforchange.net", "civil society"),
    ("Bertrand de La Chapelle", "bdelachapelle@gmail.com", "government"),
    ("Milton Mueller", "mueller@syr.edu", "academia"),
    ("Avri Doria", "avri@acm.org", "technical community"),
    ("Jeanette Hofmann", "jeanette@wzb.eu", "academia"),
)
LISTS = ("governance", "igf", "icann-discuss", "ietf")
TOPICS = (
    "enhanced cooperation between governments and the multistakeholder forum",
    "the mandate of the internet governance forum after Sharm el Sheikh",
    "accountability of ICANN to the global public interest",
    "root zone signing with DNSSEC and the role of Verisign",
    "development agenda and access for the global south",
    "network neutrality rules in the European telecom package",
    "privacy of WHOIS records for individual registrants",
    "funding the IGF secretariat through voluntary contributions",
)
START = datetime(2009, 12, 1, 9, 30, tzinfo=UTC)
COUNT = 32


def message_id(number: int) -> str:
    return f"fixture{number:02d}@govmail.test"


def _lists(number: int) -> tuple[str, ...]:
    first = LISTS[number % len(LISTS)]
    # Every fifth message is cross-posted to the governance caucus too.
    if number % 5 == 0 and first != "governance":
        return (first, "governance")
    return (first,)


def build_messages(count: int = COUNT) -> list[Message]:
    """``count`` generated messages, then one whose text looks like markup."""
    messages: list[Message] = []
    for number in range(count):
        name, email, _ = PEOPLE[number % len(PEOPLE)]
        topic = TOPICS[number % len(TOPICS)]
        date = START + timedelta(days=15 * number, hours=number)
        is_reply = number % 3 != 0
        parent = messages[-1] if is_reply else None
        subject = f"{'Re: ' if parent else ''}{topic.split(' ')[0].title()} question {number // 3}"
        original = (
            f"Dear all, marker{number:02d} about {topic}.\n\n"
            f"I think we should discuss this further at the next meeting."
        )
        quotes: tuple[Quote, ...] = ()
        quoted = ""
        if parent is not None:
            quoted = parent.original_text.split("\n\n")[0]
            quotes = (Quote(parent.author.name, parent.message_id, 1, quoted),)
        root = parent.thread_id if parent is not None else message_id(number)
        messages.append(
            Message(
                message_id=message_id(number),
                source=SourceRef("fixture.mbox", str(number * 1000)),
                lists=_lists(number),
                subject=subject,
                subject_normalized=subject.removeprefix("Re: "),
                author=Author(name, email),
                date=date,
                date_source="header",
                in_reply_to=parent.message_id if parent else None,
                references=(parent.message_id,) if parent else (),
                original_text=original,
                quoted_text=quoted,
                quotes=quotes,
                signature=f"-- \n{name}",
                footer="",
                charset=CharsetReport("utf-8", "utf-8"),
                thread_id=root,
            )
        )
    messages.append(
        Message(
            message_id="markup@govmail.test",
            source=SourceRef("fixture.mbox", "999999"),
            lists=("ietf",),
            subject="Tags <b> & ampersands",
            subject_normalized="Tags <b> & ampersands",
            author=Author("Avri Doria", "avri@acm.org"),
            date=datetime(2011, 4, 1, 12, 0, tzinfo=UTC),
            date_source="header",
            in_reply_to=None,
            references=(),
            original_text="Compare <b>AT&T</b> & markup99 rules <script>alert(1)</script>",
            quoted_text="",
            quotes=(),
            signature="",
            footer="",
            charset=CharsetReport("utf-8", "utf-8"),
            thread_id="markup@govmail.test",
        )
    )
    return messages


def identity(message: Message) -> Identity:
    for name, email, group in PEOPLE:
        if name == message.author.name:
            return Identity(name=name, email=email, group=group, affiliation=None)
    raise AssertionError(message.author)


def write_index(index_dir: Path, messages: list[Message]) -> None:
    write_messages(index_dir, ((m, identity(m)) for m in messages))
