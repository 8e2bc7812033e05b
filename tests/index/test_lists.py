"""Which list a message went to, and how that was known, when headers say more or less."""

from __future__ import annotations

import pytest

from core.config import Settings
from core.records import RawMessage, SourceRef
from index.pipeline import parse_one

HEAD = b"From: Anriette Esterhuysen <anriette@example.org>\nMessage-ID: <l1@example.org>\n" \
       b"Date: Tue, 02 Mar 2010 10:00:00 +0000\n"


def _record(headers: bytes, path: str = "/srv/mail/archive.mbox", fmt: str = "mbox",
            hint: str | None = None, configured: str | None = None) -> tuple[tuple[str, ...], list]:
    raw = RawMessage(SourceRef(path, "0"), HEAD + headers + b"\nEnhanced cooperation.\n", fmt,
                     None, hint)
    message = parse_one(raw, Settings(), configured)
    return message.lists, [n for n in message.notes if n.startswith("list ")]


@pytest.mark.parametrize(("headers", "path", "expected"), [
    (b"List-Id: IGC <governance.lists.igcaucus.org>\nList-Post: <mailto:other@x.org>\n",
     "/srv/bestbits.mbox", (("governance",), [])),
    (b"Subject: [bestbits] Proposal\nList-Post: <mailto:bb@lists.bestbits.net>\n",
     "/srv/mailman/archives/private/bestbits.mbox/bestbits.mbox",
     (("bestbits",), ["list from the mailbox name (no List-Id)"])),
    (b"List-Post: <mailto:plenary@wsis-cs.org>\n", "/home/me/mail/INBOX.mbox",
     (("plenary",), ["list from List-Post (no List-Id)"])),
    (b"X-Mailing-List: <ietf@ietf.org> archive/latest/1234\n", "/home/me/2010-February.mbox",
     (("ietf",), ["list from X-Mailing-List (no List-Id)"])),
    (b"Sender: owner-governance@lists.cpsr.org\n", "/home/me/mbox",
     (("governance",), ["list from Sender (no List-Id)"])),
    (b"Sender: ncuc-discuss-bounces@lists.ncuc.org\n", "/home/me/mbox",
     (("ncuc-discuss",), ["list from Sender (no List-Id)"])),
    (b"Subject: Re: [WSIS CS-Plenary] Draft statement\nPrecedence: list\n", "/home/me/mbox",
     (("wsis-cs-plenary",), ["list from the subject tag (no List-Id)"])),
    (b"Subject: Antw: AW: [igc] Draft statement\nX-BeenThere: igc@x.org\n", "/home/me/mbox",
     (("igc",), ["list from the subject tag (no List-Id)"])),
    # A tag on mail that shows no list software names no list (a personal "[humor]" folder).
    (b"Subject: Fwd: [humor] Consensus explained\n", "/home/me/mbox", ((), [])),
    (b"X-Mailing-List: @lists.example.org\nSubject: Draft\n", "/home/me/mbox", ((), [])),
    (b"Subject: Draft statement\nSender: jane@example.org\n", "/home/me/2013.mbox", ((), [])),
], ids=["list-id-wins", "mailman-mbox-name", "list-post", "x-mailing-list", "owner-sender",
        "bounces-sender", "subject-tag", "tag-after-localised-prefixes", "tag-without-list-traffic",
        "empty-local-part",
        "nothing-says"])
def test_list_comes_from_the_strongest_evidence(headers: bytes, path: str,
                                                expected: tuple) -> None:
    assert _record(headers, path) == expected


def test_configured_name_beats_headers_but_not_list_id() -> None:
    assert _record(b"List-Post: <mailto:plenary@wsis-cs.org>\n", configured="wsis-plenary") == (
        ("wsis-plenary",), [])
    assert _record(b"List-Id: <igf-discuss.intgovforum.org>\n", configured="wsis-plenary") == (
        ("igf-discuss",), [])


def test_pipermail_archive_name_is_recorded_as_the_source() -> None:
    assert _record(b"", "/srv/pipermail/governance/2010-February.txt", "pipermail",
                   hint="governance") == (("governance",), ["list from the archive's name (no List-Id)"])


def test_maildir_plus_plus_folder_names_the_list() -> None:
    assert _record(b"", "/home/me/Maildir/.Lists.igf-discuss", "maildir") == (
        ("igf-discuss",), ["list from the mailbox name (no List-Id)"])
