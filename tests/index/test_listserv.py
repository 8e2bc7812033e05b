"""LISTSERV notebook logs (``LIST.LOGyymm[A-E]``), as list archives export them: messages
between rows of 73 "=", each header block first, values padded with spaces. A row inside a
body is text, not a separator; the list is the log's name."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.config import Settings
from core.records import Message, RawMessage
from index.pipeline import parse_stream
from index.sources import iter_raw, sniff

ROW = b"=" * 73
LOG = (
    ROW + b"\n"
    b"Date:         Thu, 9 Mar 2017 12:46:03 +0000\n"
    b"Reply-To:     kevin.holley@BT.COM\n"
    b"Sender:       ITU-T ad hoc group <3GPP_TSG_SA_ITUT_AHG@LIST.ETSI.ORG>\n"
    b"From:         Kevin Holley <kevin.holley@BT.COM>\n"
    b"Subject:      TSG-SA ITU-T AHG email reflector\n"
    b"Message-ID:   <1489063566015.65027@bt.com>\n"
    b"\n"
    b"Thanks Greg, the reflector works.\n"
    b"\n"
    + ROW + b"\n"
    b"A row of the same '=' inside a body, with no header after it, stays text.\n"
    b"\n"
    + ROW + b"\n"
    b"Date:         Fri, 10 Mar 2017 09:00:00 +0100\n"
    b"From:         Ruixin Wang wangruixin@CAICT.AC.CN\n"
    b"Subject:      Re: TSG-SA ITU-T AHG email reflector\n"
    b"In-Reply-To:  <1489063566015.65027@bt.com>\n"
    b"Message-ID:   <r2@caict.ac.cn>\n"
    b"\n"
    b"Agreed, we will use it for the liaison replies.\n"
    + ROW + b"\n"
    b"Date:         Fri, 10 Mar 2017 10:00:00 +0100\n"
    b"From:         =?iso-8859-1?Q?Hans_R=F6nneke?= <hans.roenneke@example.com>\n"
    b"Subject:      Re: TSG-SA ITU-T AHG email reflector\n"
    b"Message-ID:   <r3@example.com>\n"
    b"\n"
    b"Fine with me.\n"
)


@pytest.fixture(params=["lf", "crlf"])
def log(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    path = tmp_path / "3GPP_TSG_SA_ITUT_AHG" / "3GPP_TSG_SA_ITUT_AHG.LOG1703B"
    path.parent.mkdir()
    path.write_bytes(LOG if request.param == "lf" else LOG.replace(b"\n", b"\r\n"))
    return path


def test_a_notebook_log_is_sniffed_by_its_content(log: Path) -> None:
    assert sniff(log) == "listserv"
    renamed = log.with_name("export.txt")
    log.rename(renamed)
    assert sniff(renamed) == "listserv"


def test_each_message_of_the_log_is_a_record_of_its_list(log: Path) -> None:
    raws = [r for r in iter_raw(log) if isinstance(r, RawMessage)]
    assert len(raws) == 3
    records = [m for m in parse_stream([log], Settings(), jobs=1) if isinstance(m, Message)]
    assert [m.message_id for m in records] == [
        "1489063566015.65027@bt.com", "r2@caict.ac.cn", "r3@example.com"]
    first, second, third = records
    assert first.author.name == "Kevin Holley"
    assert first.date is not None and first.date.isoformat().startswith("2017-03-09T12:46:03")
    assert first.subject == "TSG-SA ITU-T AHG email reflector"
    # The row inside the first body is the first message's text, not a lost message.
    assert "stays text" in first.original_text
    assert second.author.name == "Ruixin Wang"
    assert second.author.email == "wangruixin@caict.ac.cn"
    assert second.in_reply_to == "1489063566015.65027@bt.com"
    assert third.author.name == "Hans Rönneke"
    assert {m.lists for m in records} == {("3GPP_TSG_SA_ITUT_AHG",)}
