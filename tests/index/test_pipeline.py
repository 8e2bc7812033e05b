"""The stage chain end to end: records or rejections, in order, the same in-process and pooled."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.config import Settings
from core.errors import MessageError
from core.records import Message, RawMessage, Rejection, SourceRef
from index import pipeline
from index.pipeline import parse_one, parse_safely, parse_stream
from tests.conftest import DATA

SOURCES = DATA / "sources"
MESSAGES = DATA / "messages"


def _json(items: list[Message | Rejection]) -> list[dict]:
    return [i.to_json() for i in items]


def test_jobs_1_and_jobs_2_give_identical_records() -> None:
    paths = [SOURCES, MESSAGES]
    one = list(parse_stream(paths, Settings(), jobs=1))
    two = list(parse_stream(paths, Settings(), jobs=2))
    assert len(one) > 60
    assert _json(one) == _json(two)


def test_pool_keeps_source_order_over_many_chunks(tmp_path: Path) -> None:
    mbox = tmp_path / "many.mbox"
    with open(mbox, "wb") as out:
        for i in range(pipeline.CHUNK * 5 + 3):
            out.write(b"From a@b.c Mon Jan  4 10:00:00 2010\nFrom: a@b.c\n"
                      b"Message-ID: <m%d@b.c>\nSubject: n %d\n\nbody %d\n\n" % (i, i, i))
    ids = [m.message_id for m in parse_stream([mbox], Settings(), jobs=2)]
    assert ids == [f"m{i}@b.c" for i in range(pipeline.CHUNK * 5 + 3)]


def test_read_equals_records_plus_reported(tmp_path: Path) -> None:
    (tmp_path / "good.eml").write_bytes(b"From: a@b.c\nSubject: ok\nMessage-ID: <g@b.c>\n\nfine\n")
    (tmp_path / "empty.eml").write_bytes(b"")
    (tmp_path / "blank.eml").write_bytes(b"Subject: \n")
    (tmp_path / "big.eml").write_bytes(b"Subject: big\n\n" + b"x" * 3000)
    settings = Settings(max_message_bytes=2000)
    items = list(parse_stream([tmp_path, tmp_path / "missing"], settings, jobs=1))
    records = [i for i in items if isinstance(i, Message)]
    reported = [i for i in items if isinstance(i, Rejection)]
    assert len(items) == len(records) + len(reported) == 5
    assert sorted((Path(r.source.path).name, r.stage) for r in reported) == [
        ("big.eml", "limits"), ("empty.eml", "source"), ("missing", "source")]


def test_parse_one_raises_message_error_and_parse_safely_reports_it() -> None:
    raw = RawMessage(SourceRef("x.eml"), b"x" * 100, "eml")
    with pytest.raises(MessageError):
        parse_one(raw, Settings(max_message_bytes=10))
    assert parse_safely(raw, Settings(max_message_bytes=10)) == Rejection(
        SourceRef("x.eml"), "limits", "message of 100 bytes exceeds max_message_bytes (10)")


def test_unexpected_exception_becomes_internal_rejection(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args: object) -> None:
        raise ZeroDivisionError("kaboom")

    monkeypatch.setattr(pipeline.mime, "decode", boom)
    raw = RawMessage(SourceRef("y.eml", "7"), b"Subject: x\n\nbody\n", "eml")
    assert parse_safely(raw, Settings()) == Rejection(
        SourceRef("y.eml", "7"), "internal", "ZeroDivisionError: kaboom", internal=True)


def test_parse_timeout_is_enforced(monkeypatch: pytest.MonkeyPatch) -> None:
    def slow(*args: object) -> None:
        while True:
            pass

    monkeypatch.setattr(pipeline.mime, "decode", slow)
    raw = RawMessage(SourceRef("z.eml"), b"Subject: x\n\nbody\n", "eml")
    assert parse_safely(raw, Settings(parse_timeout=0.2)) == Rejection(
        SourceRef("z.eml"), "limits", "parsing took longer than parse_timeout (0.2 s)")


def test_record_fields_from_a_pipermail_archive() -> None:
    first, second = parse_stream([SOURCES / "governance-2010-February.txt"], Settings(), jobs=1)
    assert (first.author.to_json(), first.lists, first.subject_normalized) == (
        {"name": "Parminder", "email": "parminder@itforchange.net", "source": "pipermail"},
        ("governance",), "IGF review")
    assert (second.author.name, second.in_reply_to, second.references) == (
        "Jeanette Hofmann", "4B7D7F2B.3040905@itforchange.net",
        ("4B7D7F2B.3040905@itforchange.net",))
    assert first.thread_id is None


def test_configured_list_name_applies_when_message_names_none() -> None:
    (record,) = [m for m in parse_stream([SOURCES / "maildir" / "new"], Settings(),
                                         list_name="igf-discuss", jobs=1)]
    assert record.lists == ("igf-discuss",)


def test_inspect_json_plain_and_counts(tmp_path: Path) -> None:
    import io
    import json

    from index.inspect import run_inspect

    (tmp_path / "empty.eml").write_bytes(b"")
    paths = [SOURCES / "governance-2010-February.txt", tmp_path / "empty.eml"]
    out, err = io.StringIO(), io.StringIO()
    assert run_inspect(paths, Settings(), fmt="json", out=out, err=err) is True
    records = json.loads(out.getvalue())
    assert [r["message_id"] for r in records] == [
        "4B7D7F2B.3040905@itforchange.net", "4B7E4D18.1010203@wzb.eu"]
    assert err.getvalue() == (f"{tmp_path / 'empty.eml'} [source] empty file\n"
                              "read 3, records 2, reported 1\n")
    out = io.StringIO()
    run_inspect(paths[:1], Settings(), fmt="plain", out=out, err=io.StringIO())
    plain = out.getvalue()
    assert plain.startswith(f"=== {SOURCES / 'governance-2010-February.txt'}:0 ===\n"
                            "Message-ID: 4B7D7F2B.3040905@itforchange.net\n"
                            "From:       Parminder <parminder@itforchange.net>  [pipermail]\n"
                            "Date:       2010-02-18T18:02:11Z  [header]\n")
    assert "--- Original ---\nJeanette and Bertrand," in plain
    out = io.StringIO()
    run_inspect(paths[:1], Settings(), fmt="jsonl", out=out, err=io.StringIO())
    assert [json.loads(line)["author"]["name"] for line in out.getvalue().splitlines()] == [
        "Parminder", "Jeanette Hofmann"]


def test_inspect_returns_false_when_nothing_could_be_read(tmp_path: Path) -> None:
    import io

    from index.inspect import run_inspect

    err = io.StringIO()
    assert run_inspect([tmp_path / "missing"], Settings(), fmt="plain", out=io.StringIO(),
                       err=err) is False
    assert err.getvalue().endswith("read 1, records 0, reported 1\n")
