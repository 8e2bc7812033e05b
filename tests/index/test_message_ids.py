"""Message-IDs with brackets inside stay whole, so two such messages never merge into one."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.config import Settings
from index.indexer import index_paths
from index.metadata import clean_id
from tests.indexing import stored_documents


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ('<"><script>alert(1)</script>@x>', '"><script>alert(1)</script>@x'),
        ("<id@example.org> (added by postmaster)", "id@example.org"),
        ("<id@example.org>", "id@example.org"),
        ("<>", None),
        ("  ", None),
    ],
)
def test_clean_id(header: str, expected: str | None) -> None:
    assert clean_id(header) == expected


def test_two_messages_with_bracketed_ids_are_two_records(tmp_path: Path) -> None:
    source = tmp_path / "hostile"
    source.mkdir()
    for n in (1, 2):
        (source / f"{n}.eml").write_text(
            f"From: a@example.org\nMessage-ID: <\"><script>alert({n})</script>@x>\n"
            f"Subject: hostile {n}\nDate: Mon, 1 Feb 2010 10:00:0{n} +0000\n\nbody {n}\n")
    index_dir = tmp_path / "ix"
    report = index_paths([source], Settings(index_dir=index_dir), progress=False)
    assert (report.read, report.indexed, report.duplicates) == (2, 2, 0)
    assert set(stored_documents(index_dir)) == {
        '"><script>alert(1)</script>@x', '"><script>alert(2)</script>@x'}
