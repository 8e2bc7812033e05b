"""Archive HTML pages: hypermail (W3C) and Mailman 2 pipermail pages read as the messages they
show, index pages reported; a pipermail month's pages give the records of the same month's .txt.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from core.config import Settings
from core.records import Message, RawMessage, Rejection
from index import archive_pages
from index.pipeline import parse_stream
from index.sources import iter_raw, sniff

HYPERMAIL_PAGE = b"""<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" "x">
<html xmlns="http://www.w3.org/1999/xhtml" lang="en">
<head>
<meta name="generator" content="hypermail 2.1.8, see http://www.hypermail-project.org/" />
<title>Re: Enhanced cooperation from Anja Kovacs on 2010-02-03</title>
<link rel="start" href="../" title="governance@lists.igcaucus.org archives" />
</head>
<body>
<h1>Re: Enhanced cooperation</h1>
<!-- received="Wed Feb  3 10:00:12 2010" -->
<!-- sent="Wed, 3 Feb 2010 15:29:58 +0530" -->
<!-- name="Anja Kovacs" -->
<!-- email="anja&#x40;example.org" -->
<!-- subject="Re: Enhanced cooperation" -->
<!-- id="4B6947F6.1@example.org" -->
<!-- inreplyto="4B68A1C2.7@example.net" -->
<div class="head">[ <a href="index.html">Date view</a> ] navigation the author never wrote</div>
<!-- body="start" -->
<address class="headers"><span id="from">From: Anja Kovacs</span></address>
<p>
Dear all,<br />
I agree with Parminder on this point.<br />
<br />
<em class="quotelev1">&gt; The process must stay open to all stakeholders.</em><br />
<em class="quotelev2">and nobody should be left out</em><br />
<p>
Best, Anja
<span id="received">Received on Wed Feb 03 2010 - 10:00:12 UTC</span>
<!-- body="end" -->
<div class="foot">[ <a href="thread.html">Thread view</a> ]</div>
</body>
</html>
"""


def _records(path: Path) -> tuple[list[Message], list[Rejection]]:
    items = list(parse_stream([path], Settings(), jobs=1))
    return ([i for i in items if isinstance(i, Message)],
            [i for i in items if isinstance(i, Rejection)])


def test_a_hypermail_page_gives_its_own_metadata_and_quote_levels(tmp_path: Path) -> None:
    page = tmp_path / "0042.html"
    page.write_bytes(HYPERMAIL_PAGE)
    assert sniff(page) == "hypermail"
    [record], rejected = _records(page)
    assert rejected == []
    assert (record.author.name, record.author.email) == ("Anja Kovacs", "anja@example.org")
    assert record.date == datetime(2010, 2, 3, 9, 59, 58, tzinfo=UTC)
    assert record.message_id == "4B6947F6.1@example.org"
    assert record.in_reply_to == "4B68A1C2.7@example.net"
    assert record.subject == "Re: Enhanced cooperation"
    assert record.lists == ("governance",)
    assert "I agree with Parminder" in record.original_text
    assert "navigation" not in record.original_text and "Received on" not in record.original_text
    assert "stay open" not in record.original_text
    depths = {q.depth for q in record.quotes}
    assert {1, 2} <= depths, record.quotes


def test_index_pages_are_reported_not_indexed(tmp_path: Path) -> None:
    (tmp_path / "date.html").write_bytes(
        b'<html><head><meta name="generator" content="hypermail 2.1.8" />'
        b"<title>governance: by date</title></head><body><ul><li>x</li></ul></body></html>")
    (tmp_path / "thread.html").write_bytes(
        b"<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 3.2//EN\">\n<HTML><HEAD>"
        b"<title>The Governance February 2010 Archive by thread</title></HEAD><BODY>"
        b"<li> <b>Messages sorted by:</b></li></BODY></HTML>")
    (tmp_path / "index.html").write_bytes(b"thread.html\n")
    messages, rejected = _records(tmp_path)
    assert messages == []
    assert [r.reason for r in rejected] == [archive_pages.INDEX_REASON] * 3


@pytest.mark.corpora
def test_w3c_hypermail_folder_gives_three_messages(shared_corpora: Path) -> None:
    messages, rejected = _records(shared_corpora / "bigbang-testdata" / "w3c-hypermail")
    assert len(messages) == 3
    assert sorted(r.reason for r in rejected) == [archive_pages.INDEX_REASON] * 2
    for record in messages:
        assert record.author.name == "Nick Doty"
        assert record.author.email == "npdoty@ischool.berkeley.edu"
        assert record.date is not None and record.date_source == "header"
        assert record.subject and record.message_id_source == "header"
        assert record.lists == ("public-privacy",)
        assert "W3C home" not in record.original_text
    reply = next(m for m in messages if m.subject.startswith("Re:"))
    assert reply.in_reply_to == "CABQTWrn2fqvee6qg2VTcDA5rR8QihQy7qjycDGBM2xafwGyRmQ@mail.gmail.com"
    assert reply.date == datetime(2020, 1, 30, 23, 47, 14, tzinfo=UTC)
    assert reply.original_text.rstrip().endswith("Thanks,\nNick")
    assert "Here's our proposal" not in reply.original_text
    assert "Here's our proposal" in reply.quoted_text
    assert reply.quotes[0].depth == 1 and reply.quotes[0].author == "Paul Jensen"


# Lines that name the quoted author: the .txt of 2005-May lost its accented letters
# ("a ?crit"), so its French attribution lines are not recognised while the page's are.
_ATTRIBUTION = re.compile(r"(?:wrote|writes|[ée?]crit)\s*:\s*$")


def _comparable(text: str) -> list[str]:
    ascii_only = "".join(c if ord(c) < 128 else "?" for c in text)
    return [line for line in ascii_only.splitlines()
            if line.strip() and not _ATTRIBUTION.search(line)]


@pytest.mark.corpora
def test_pipermail_pages_give_the_records_of_the_same_months_txt(shared_corpora: Path) -> None:
    month = shared_corpora / "twisted-pipermail" / "twisted-web"
    txt = [m for m in parse_stream([month / "2005-May.txt"], Settings(), jobs=1)
           if isinstance(m, Message)]
    envelopes = [r.envelope for r in iter_raw(month / "2005-May.txt")
                 if isinstance(r, RawMessage)]
    pages, rejected = _records(month / "2005-May")
    assert len(txt) == len(pages) == len(envelopes) == 89
    assert len(rejected) == 5  # index, author, date, subject, thread
    offsets = set()
    for plain, page, envelope in zip(txt, pages, envelopes, strict=True):
        where = page.source.path
        assert page.message_id == plain.message_id, where
        assert page.message_id_source == "header", where
        assert page.author == plain.author, where
        assert page.subject == plain.subject, where
        assert page.in_reply_to == plain.in_reply_to, where
        assert page.lists == plain.lists == ("twisted-web",), where
        assert _comparable(page.original_text) == _comparable(plain.original_text), where
        # The page shows the arrival time with its zone (MDT), the .txt's From_ line the same
        # wall-clock time without one: one constant offset across the month.
        stamp = datetime.strptime(" ".join(envelope.split()[-5:]), "%a %b %d %H:%M:%S %Y")
        offsets.add(stamp.replace(tzinfo=UTC) - page.date)
    assert offsets == {timedelta(hours=-6)}
