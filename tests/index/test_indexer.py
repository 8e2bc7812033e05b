"""``govmail index``: a generated archive indexed twice gives the same documents."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from core.config import Settings
from core.records import Rejection, SourceRef
from govmail.cli import cli
from index.indexer import index_paths
from index.report import RunReport, run_lines
from sample.generator import generate, write_sample
from tests.indexing import document_count, stored_documents

MESSAGES = 300
SEED = 7


def bare(message_id: str | None) -> str:
    """Message-IDs as the index keeps them: without the angle brackets."""
    return (message_id or "").strip("<>")


def _documents(index_dir: Path) -> dict[str, dict]:
    docs = stored_documents(index_dir)
    assert document_count(index_dir) == len(docs), "a Message-ID is indexed twice"
    return docs


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("archive")
    write_sample(out, messages=MESSAGES, seed=SEED, formats={"mbox"})
    return out


def test_report_counts_and_summary() -> None:
    report = RunReport(sources=1, read=2000, indexed=1990, duplicates=6,
                       rejections=[Rejection(SourceRef("a.mbox", "0"), "mime", "x")] * 4,
                       seconds=5.2)
    assert report.summary() == (
        "read 2000, indexed 1990, duplicates 6, reported 4 in 5.2 s (385 msg/s)")
    with pytest.raises(AssertionError):
        RunReport(sources=1, read=3, indexed=1, duplicates=1)


def test_index_twice_gives_the_same_documents(archive: Path, tmp_path: Path) -> None:
    truth = list(generate(MESSAGES, SEED))
    copies = sum(1 if m.is_bare_body else len(m.copies) for m in truth)
    settings = Settings(index_dir=tmp_path / "ix", jobs=1)

    first = index_paths([archive], settings, progress=False)
    assert (first.read, first.indexed + first.reported) == (copies, MESSAGES)
    assert first.duplicates == copies - MESSAGES
    assert first.rejections == []
    docs = _documents(settings.index_dir)
    assert len(docs) == MESSAGES
    # Cross-posts are one document that keeps both lists.
    crossposted = [m for m in truth if len(m.copies) > 1 and m.message_id]
    assert crossposted, "the sample should cross-post a few messages"
    for m in crossposted:
        assert set(docs[bare(m.message_id)]["list"].split(",")) == set(m.lists)
    # Every list is right, also for archives that predate List-Id (named by their mbox).
    wrong = [(m.message_id, m.lists, docs[bare(m.message_id)]["list"]) for m in truth
             if m.message_id and not m.is_bare_body
             and set(docs[bare(m.message_id)]["list"].split(",")) != set(m.lists)]
    assert wrong == []

    second = index_paths([archive], settings, progress=False)
    assert (second.read, second.indexed, second.duplicates, second.reported) == (
        copies, 0, copies, 0)
    assert _documents(settings.index_dir) == docs

    runs = list(run_lines(settings.index_dir))
    assert [(r["command"], r["read"], r["indexed"]) for r in runs] == [
        ("index", copies, MESSAGES), ("index", copies, 0)]
    assert runs[0]["paths"] == [str(archive)]


def test_threads_match_the_generated_truth(archive: Path, tmp_path: Path) -> None:
    settings = Settings(index_dir=tmp_path / "ix", jobs=1)
    index_paths([archive / "mbox"], settings, progress=False)
    docs = _documents(settings.index_dir)
    truth = [m for m in generate(MESSAGES, SEED) if m.message_id and m.thread_root
             and not m.is_bare_body]
    right = sum(docs[bare(m.message_id)]["thread_id"] == bare(m.thread_root) for m in truth)
    assert right / len(truth) >= 0.95, f"{right} of {len(truth)} threads right"


def test_cli_index_prints_the_summary_and_rejections(tmp_path: Path) -> None:
    mbox = tmp_path / "one.mbox"
    mbox.write_bytes(
        b"From a@example.org Thu Feb 18 13:26:00 2010\n"
        b"From: A <a@example.org>\nMessage-ID: <one@example.org>\nSubject: WSIS\n"
        b"Date: Thu, 18 Feb 2010 13:26:00 +0000\n\nTunis Agenda paragraph.\n\n"
    )
    runner = CliRunner()
    result = runner.invoke(cli, ["index", str(mbox), "--index", str(tmp_path / "ix"),
                                 "--list", "governance", "--quiet"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("read 1, indexed 1, duplicates 0, reported 0 in ")
    line = json.loads((tmp_path / "ix" / "runs.jsonl").read_text().splitlines()[-1])
    assert (line["read"], line["indexed"], line["rejections"]) == (1, 1, [])
    assert _documents(tmp_path / "ix")["one@example.org"]["list"] == "governance"


def test_cli_reindex_lists_each_reported_message_with_its_location(tmp_path: Path) -> None:
    small = (b"From a@example.org Thu Feb 18 13:26:00 2010\n"
             b"From: A <a@example.org>\nMessage-ID: <small@example.org>\nSubject: WSIS\n"
             b"Date: Thu, 18 Feb 2010 13:26:00 +0000\n\nTunis Agenda paragraph.\n\n")
    big = (b"From b@example.org Fri Feb 19 09:00:00 2010\n"
           b"From: B <b@example.org>\nMessage-ID: <big@example.org>\nSubject: Annex\n"
           b"Date: Fri, 19 Feb 2010 09:00:00 +0000\n\n" + b"enhanced cooperation\n" * 400 + b"\n")
    mbox = tmp_path / "governance.mbox"
    mbox.write_bytes(small + big)
    config = tmp_path / "govmail.toml"
    config.write_text(
        f'index_dir = "{tmp_path / "ix"}"\n[limits]\nmax_message_bytes = 4000\n'
        f'[[source]]\npath = "{mbox}"\nlist = "governance"\n'
    )
    result = CliRunner().invoke(cli, ["--config", str(config), "reindex"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("read 2, indexed 1, duplicates 0, reported 1 in ")
    # The size counts the message, not its mbox "From " separator line.
    big_size = len(big) - len(big.split(b"\n", 1)[0]) - 1
    assert lines[1:] == [
        f"reported: {mbox}:{len(small)} [limits] message of {big_size} "
        "bytes exceeds max_message_bytes (4000)"
    ]
