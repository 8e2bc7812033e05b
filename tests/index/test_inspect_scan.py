"""`govmail inspect` reads a folder as `govmail index` does: 600 levels deep is no recursion
error, and a README.md beside the mail is not a message."""

from __future__ import annotations

import io
from pathlib import Path

from core.config import Settings
from index.inspect import run_inspect

MAIL = "From: a@example.org\nMessage-ID: <deep@example.org>\nSubject: deep\n\nhello\n"


def test_inspect_walks_600_levels_and_skips_a_readme(tmp_path: Path) -> None:
    folder = tmp_path.joinpath(*["d"] * 600)
    folder.mkdir(parents=True)
    (folder / "m.eml").write_text(MAIL)
    (tmp_path / "README.md").write_text("# What this archive is\n\nNot mail.\n")
    out, err = io.StringIO(), io.StringIO()
    assert run_inspect([tmp_path], Settings(), fmt="jsonl", out=out, err=err)
    assert out.getvalue().count("\n") == 1 and '"message_id": "deep@example.org"' in out.getvalue()
    assert err.getvalue().endswith("read 1, records 1, reported 0\n"), err.getvalue()
