"""Every pipermail ``.txt``/``.txt.gz`` and mbox of ../shared/corpora splits into exactly as many
messages as an independent count finds, and no message holds a separator line in its body.

The independent count is Mailman's own reading rule (``mailbox.PortableUnixMailbox``: a line
starting ``From ``) narrowed by ``time.strptime`` on the ctime date Mailman writes at the end of
the line: no regex shared with :mod:`index.sources`, and no blank-line condition, so a separator
glued to the previous message's last line (as pipermail writes after a scrubbed attachment's URL)
is counted and a merged message shows as a difference.
"""

from __future__ import annotations

import gzip
import time
from pathlib import Path

import pytest

from core.records import RawMessage, Rejection
from index.sources import iter_raw, sniff

_CTIME_FORMATS = ((5, "%a %b %d %H:%M:%S %Y"), (6, "%a %b %d %H:%M:%S %Z %Y"))


def is_separator(line: bytes) -> bool:
    if not line.startswith(b"From "):
        return False
    words = line.decode("latin-1").split()
    for count, form in _CTIME_FORMATS:
        if len(words) > count:
            try:
                time.strptime(" ".join(words[-count:]), form)
            except ValueError:
                continue
            return True
    return False


def independent_count(path: Path) -> int:
    with open(path, "rb") as probe:
        gz = probe.read(2) == b"\x1f\x8b"
    with (gzip.open(path, "rb") if gz else open(path, "rb")) as handle:
        return sum(1 for line in handle if is_separator(line))


def _containers(corpora: Path) -> list[Path]:
    found = []
    for path in sorted(corpora.rglob("*")):
        if path.is_file() and sniff(path).split(".")[0] in ("mbox", "pipermail"):
            found.append(path)
    return found


def test_the_independent_rule_counts_a_glued_separator(tmp_path: Path) -> None:
    month = tmp_path / "governance-2010-February.txt"
    month.write_bytes(
        b"From anja at example.org  Wed Feb  3 10:00:12 2010\n"
        b"From: anja at example.org (Anja Kovacs)\nSubject: One\n\nBody one.\n"
        b"URL: http://lists.example.org/attachments/20100203/a.html\n"
        b"From milton at example.edu  Wed Feb  3 11:00:12 2010\n"
        b"From: milton at example.edu (Milton Mueller)\nSubject: Two\n\nBody two.\n")
    assert independent_count(month) == 2
    assert sum(1 for item in iter_raw(month) if isinstance(item, RawMessage)) == 2


@pytest.mark.corpora
def test_every_mbox_and_pipermail_file_splits_as_counted(shared_corpora: Path) -> None:
    containers = _containers(shared_corpora)
    assert len(containers) >= 30  # twisted-python alone has 24 months
    wrong = []
    total = 0
    for path in containers:
        items = list(iter_raw(path))
        raws = [i for i in items if isinstance(i, RawMessage)]
        assert not [i for i in items if isinstance(i, Rejection)], path
        expected = independent_count(path)
        total += expected
        if len(raws) != expected:
            wrong.append(f"{path.relative_to(shared_corpora)}: {len(raws)} != {expected}")
        for raw in raws:
            body_lines = raw.data.split(b"\n")
            assert not any(is_separator(line) for line in body_lines), raw.source
    print(f"\n{len(containers)} files, {total} messages counted independently")
    assert wrong == []


def _is_header_line(line: str) -> bool:
    name, colon, _ = line.partition(":")
    return bool(colon and name) and all(33 <= ord(c) <= 126 for c in name)


def _listserv_separators(lines: list[str]) -> int:
    return sum(1 for row, after in zip(lines, lines[1:], strict=False)
               if row == "=" * 73 and _is_header_line(after))


def listserv_count(path: Path) -> int:
    """Messages of a LISTSERV notebook log, counted apart from index.sources: every line of
    exactly 73 "=" whose next line is a header (a name of printable ASCII, then a colon),
    found with str methods on the decoded lines."""
    return _listserv_separators(path.read_bytes().decode("latin-1").splitlines())


@pytest.mark.corpora
def test_every_listserv_log_splits_as_counted(shared_corpora: Path) -> None:
    logs = [p for p in sorted(shared_corpora.rglob("*")) if p.is_file() and sniff(p) == "listserv"]
    assert len(logs) >= 20  # the 3GPP notebooks of bigbang-testdata
    total = 0
    for path in logs:
        raws = [i for i in iter_raw(path) if isinstance(i, RawMessage)]
        expected = listserv_count(path)
        total += expected
        assert len(raws) == expected, path
        # No message holds the start of another.
        for raw in raws:
            assert _listserv_separators(raw.data.decode("latin-1").splitlines()) == 0, raw.source
    # The corpora's README counts 82 LISTSERV messages in its 24 logs.
    assert total == 82
