"""Sources: sniffing by content, mbox/pipermail splitting with offsets, Maildir walking."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

from core.records import RawMessage, Rejection, SourceRef
from index.sources import iter_raw, pipermail_list, sniff
from tests.conftest import DATA

SOURCES = DATA / "sources"


def _raws(path: Path, **kw: object) -> list[RawMessage | Rejection]:
    return list(iter_raw(path, **kw))


def test_sniff_by_content_never_extension(tmp_path: Path) -> None:
    (tmp_path / "looks.eml").write_bytes((SOURCES / "mboxrd.mbox").read_bytes())
    (tmp_path / "mail.txt").write_bytes(b"Subject: hi\nFrom: a@b.c\n\nbody\n")
    (tmp_path / "page.mbox").write_bytes(b"<html><body><p>hello</p></body></html>")
    (tmp_path / "empty.txt").write_bytes(b"\n\n")
    (tmp_path / "blob.eml").write_bytes(b"\x00\x01\x02binary\x00")
    with gzip.open(tmp_path / "archive.txt", "wb") as out:
        out.write((SOURCES / "governance-2010-February.txt").read_bytes())
    assert {p.name: sniff(p) for p in sorted(tmp_path.iterdir())} == {
        "archive.txt": "pipermail.gz",
        "blob.eml": "binary",
        "empty.txt": "empty",
        "looks.eml": "mbox",
        "mail.txt": "eml",
        "page.mbox": "body",
    }
    assert sniff(SOURCES / "governance-2010-February.txt") == "pipermail"
    assert sniff(SOURCES / "maildir") == "maildir"
    assert sniff(SOURCES) == "folder"


def test_mboxrd_offsets_and_unescaping() -> None:
    raws = _raws(SOURCES / "mboxrd.mbox")
    data = (SOURCES / "mboxrd.mbox").read_bytes()
    second = data.index(b"From bob@example.org")
    assert [(r.source.key, r.format, r.envelope) for r in raws] == [
        ("0", "mbox", "From alice@example.org Mon Jan  4 10:00:00 2010"),
        (str(second), "mbox", "From bob@example.org Mon Jan  4 11:00:00 2010"),
    ]
    body = raws[0].data.decode()
    assert "\nFrom here on we agree.\n" in body
    assert "\n>From the minutes: nothing.\n" in body
    assert "\nFrom the floor, a remark that is no From_ line.\n" in body


def test_crlf_mbox_without_final_newline_and_8bit_from_line() -> None:
    raws = _raws(SOURCES / "crlf-no-final-newline.mbox")
    assert len(raws) == 2
    assert raws[1].data.endswith(b"Last line without newline")
    assert raws[1].envelope == "From délégué@example.org Tue Feb  2 10:00:00 2010"
    assert raws[0].data.startswith(b"From: =?utf-8?Q?Carol")


def test_pipermail_list_from_file_or_folder_name(tmp_path: Path) -> None:
    raws = _raws(SOURCES / "governance-2010-February.txt")
    assert [(r.format, r.list_hint) for r in raws] == [("pipermail", "governance")] * 2
    folder = tmp_path / "igf-discuss"
    folder.mkdir()
    with gzip.open(folder / "2010-February.txt.gz", "wb") as out:
        out.write((SOURCES / "governance-2010-February.txt").read_bytes())
    raws = _raws(folder)
    assert [(r.source.key, r.list_hint) for r in raws] == [
        ("0", "igf-discuss"), (str(raws[1].source.key), "igf-discuss")]
    assert int(raws[1].source.key) == (SOURCES / "governance-2010-February.txt").read_bytes().index(
        b"From jeanette at wzb.eu")
    assert pipermail_list(Path("x/2010-February.txt")) == "x"


def test_maildir_cur_new_nested_and_semicolon_flags() -> None:
    root = SOURCES / "maildir"
    raws = _raws(root)
    assert [(r.source, r.format) for r in raws] == [
        (SourceRef(str(root), "cur/1267578000.M1P1.host:2,S"), "maildir"),
        (SourceRef(str(root), "new/1267581600.M2P1.host"), "maildir"),
        (SourceRef(str(root / ".Sub Folder"), "cur/1267585200.M3P1.host;2,RS"), "maildir"),
    ]


def test_folder_of_mixed_sources_recursively(tmp_path: Path) -> None:
    shutil.copytree(SOURCES, tmp_path / "mix")
    (tmp_path / "mix" / "deeper").mkdir()
    (tmp_path / "mix" / "deeper" / "one.eml").write_bytes(b"Subject: x\n\nbody\n")
    raws = _raws(tmp_path / "mix")
    assert sum(isinstance(r, RawMessage) for r in raws) == 2 + 2 + 2 + 3 + 1
    assert [r.source.key for r in raws if r.source.path.endswith("one.eml")] == [""]


def test_unreadable_and_missing_become_rejections(tmp_path: Path) -> None:
    missing = tmp_path / "nope.mbox"
    assert _raws(missing) == [Rejection(SourceRef(str(missing)), "source", "no such file or folder")]
    broken = tmp_path / "broken.gz"
    broken.write_bytes(gzip.compress(b"From a@b Mon Jan  4 10:00:00 2010\nSubject: x\n\n" * 50)[:60])
    items = _raws(broken)
    assert items and isinstance(items[-1], Rejection) and items[-1].stage == "source"


def test_max_message_bytes_rejects_without_holding(tmp_path: Path) -> None:
    big = tmp_path / "big.mbox"
    big.write_bytes(b"From a@b.c Mon Jan  4 10:00:00 2010\nSubject: big\n\n" + b"x" * 5000 + b"\n\n"
                    + (SOURCES / "mboxrd.mbox").read_bytes())
    items = _raws(big, max_message_bytes=1000)
    assert [type(i).__name__ for i in items] == ["Rejection", "RawMessage", "RawMessage"]
    assert items[0].stage == "limits"
    assert items[0].reason == "message of 5016 bytes exceeds max_message_bytes (1000)"
