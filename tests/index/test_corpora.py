"""Every folder of ../shared/corpora is read without an unhandled exception; counts printed."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from core.config import Settings
from core.records import Message, Rejection
from index.pipeline import parse_stream

pytestmark = pytest.mark.corpora

FOLDERS = sorted(
    [
        "bigbang-testdata", "enmime-testdata", "fixtures-external", "ietf-mailarchive",
        "notmuch-maildir", "python-email-testdata", "robots-list-1994", "seed",
        "stalwart-mail-parser", "twisted-pipermail/twisted-web",
    ]
)


@pytest.mark.parametrize("folder", FOLDERS)
def test_folder_reads_cleanly(shared_corpora: Path, folder: str, capsys: pytest.CaptureFixture) -> None:
    items = list(parse_stream([shared_corpora / folder], Settings(), jobs=1))
    records = [i for i in items if isinstance(i, Message)]
    rejections = [i for i in items if isinstance(i, Rejection)]
    with capsys.disabled():
        stages = Counter(r.stage for r in rejections)
        print(f"\n{folder}: read {len(items)}, records {len(records)}, reported "
              f"{len(rejections)} {dict(stages)}")
    assert [r for r in rejections if r.internal] == []
    assert len(records) >= 1
    assert len(items) == len(records) + len(rejections)


def test_pipermail_gzip_months_in_a_pool(shared_corpora: Path, capsys: pytest.CaptureFixture) -> None:
    # twisted-python holds 8,593 messages in 24 gzip'd months; two of them keep the suite fast
    # (the whole folder takes ~30 s of CPU: `govmail inspect` it to see).
    folder = shared_corpora / "twisted-pipermail" / "twisted-python"
    months = [folder / "2010-November.txt.gz", folder / "2009-August.txt.gz"]
    counts: Counter = Counter()
    for item in parse_stream(months, Settings(), jobs=2):
        counts["records" if isinstance(item, Message) else item.stage] += 1
        if isinstance(item, Rejection):
            assert not item.internal, str(item)
    with capsys.disabled():
        print(f"\ntwisted-python: {dict(counts)}")
    assert counts["records"] >= 400
