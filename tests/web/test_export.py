"""`govmail export`: the researcher's CSV/JSON lines and the mbox of original bytes."""

from __future__ import annotations

import csv
import io
import json
import mailbox
from pathlib import Path

from click.testing import CliRunner

from govmail.cli import cli
from tests.web import archive


def run(index: Path, *args: str) -> tuple[int, bytes, str]:
    result = CliRunner().invoke(cli, ["export", "--index", str(index), *args])
    return result.exit_code, result.stdout_bytes, result.stderr


def test_csv_has_the_columns_a_researcher_codes(archive_index: Path) -> None:
    status, out, err = run(archive_index, "tunis", "--format", "csv")
    assert status == 0, err
    rows = list(csv.DictReader(io.StringIO(out.decode("utf-8"))))
    assert list(rows[0]) == ["date", "author", "group", "list", "subject", "message_id",
                             "thread_id", "own_words_length", "quoted_authors", "cites",
                             "quoted_cites", "mentions"]
    assert [r["message_id"] for r in rows] == [
        "ec-root@itforchange.example", "ec-reply-1@syr.example",
        "ec-reply-2@itforchange.example"]
    reply = rows[1]
    assert (reply["author"], reply["list"], reply["thread_id"], reply["quoted_authors"]) == (
        "Milton Mueller", "governance", "ec-root@itforchange.example", "Parminder Jeet Singh")
    assert int(reply["own_words_length"]) == len(archive.messages()[1].original_text)
    assert "exported 3 of 3 messages" in err


def test_jsonl_and_nothing_found(archive_index: Path) -> None:
    status, out, _ = run(archive_index, "--format", "jsonl", "--filter", "author=Avri Doria")
    assert status == 0
    lines = [json.loads(line) for line in out.decode().splitlines()]
    assert [(r["author"], r["date"]) for r in lines] == [("Avri Doria", "2010-02-21T10:00:00Z")]
    assert run(archive_index, "nosuchwordanywhere")[0] == 1


def test_mbox_holds_the_original_bytes(archive_index: Path, tmp_path: Path) -> None:
    target = tmp_path / "out.mbox"
    status, _, err = run(archive_index, "--format", "mbox", "--output", str(target))
    assert status == 0, err
    copy = tmp_path / "source.mbox"
    copy.write_bytes(archive.MBOX.read_bytes())
    boxes = [mailbox.mbox(str(target)), mailbox.mbox(str(copy))]
    try:
        exported, source = ({m["Message-ID"]: b.get_bytes(k) for k, m in b.items()}
                            for b in boxes)
        assert exported == source and len(exported) == 4
    finally:
        for box in boxes:
            box.close()


def test_a_lost_source_is_reported_not_dropped_silently(tmp_path: Path) -> None:
    moved = tmp_path / "archive.mbox"
    moved.write_bytes(archive.MBOX.read_bytes())
    index = archive.build(tmp_path / "index", moved)
    moved.unlink()
    status, out, err = run(index, "--format", "mbox")
    assert (status, out) == (0, b"")
    assert err.count("not exported (source unreadable)") == 4
    assert "exported 0 of 4 messages" in err
