"""cites:/quoted_cites:/mentions: through `govmail search`, and facet counts equal a brute force.

The archive is the sample generator's (with its planted references), parsed and indexed by the
real pipeline; the expected counts are counted over the parsed records themselves.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

from core.config import Settings
from core.records import Message
from govmail.cli import cli
from index.indexer import index_paths
from index.pipeline import parse_stream
from index.references import values
from sample.generator import write_sample


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Message]]:
    root = tmp_path_factory.mktemp("refs")
    write_sample(root / "sample", 300, 5, {"mbox"})
    mboxes = sorted((root / "sample" / "mbox").glob("*.mbox"))
    settings = Settings(index_dir=root / "index", jobs=1)
    index_paths(mboxes, settings, progress=False)
    records = [r for r in parse_stream(mboxes, settings, jobs=1) if isinstance(r, Message)]
    unique = list({r.message_id: r for r in records}.values())
    return root / "index", unique


def search(index: Path, *args: str) -> dict:
    result = CliRunner().invoke(cli, ["search", "--index", str(index), "--format", "json",
                                      "--limit", "100", *args])
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.output)


def test_facet_counts_equal_a_brute_force_count(archive: tuple[Path, list[Message]]) -> None:
    index, records = archive
    cites = Counter(v for r in records for v in values(r.cites, "original"))
    mentions = Counter(m for r in records for m in r.mentions)
    assert cites and mentions
    result = search(index, "--facets", "*")
    shown = {name: dict(map(tuple, pairs)) for name, pairs in result["facets"].items()}
    # The facet lists the most frequent values; each one shown is exact.
    assert shown["cites"] and shown["mentions"]
    for value, count in shown["cites"].items():
        assert cites[value] == count, value
    for value, count in shown["mentions"].items():
        assert mentions[value] == count, value
    top = cites.most_common(1)[0]
    assert shown["cites"][top[0]] == top[1]


def test_search_by_document_part_and_organisation(archive: tuple[Path, list[Message]]) -> None:
    index, records = archive
    part = Counter(v for r in records for v in values(r.cites, "original") if "/" in v)
    value, count = part.most_common(1)[0]
    document, _, number = value.partition("/")
    by_id = search(index, f"cites:{value}")
    assert by_id["total"] == count
    expected = {r.message_id for r in records if value in values(r.cites, "original")}
    assert {h["message_id"] for h in by_id["hits"]} == expected
    # The whole document finds at least the messages citing one of its parts.
    assert search(index, f"cites:{document}")["total"] >= count
    quoted = sum(value in values(r.cites, "quoted") for r in records)
    assert search(index, f"quoted_cites:{value}")["total"] == quoted
    itu = sum("itu" in r.mentions for r in records)
    assert itu and search(index, "mentions:ITU")["total"] == itu
    both = sum("itu" in r.mentions and value in values(r.cites, "original") for r in records)
    assert search(index, f"mentions:itu cites:{value}")["total"] == both


def test_canonical_names_in_queries(archive: tuple[Path, list[Message]]) -> None:
    index, records = archive
    tunis = sum("tunis-agenda" in values(r.cites, "original") for r in records)
    assert tunis
    assert search(index, 'cites:"Tunis Agenda"')["total"] == tunis
    assert search(index, "cites:tunis-agenda*")["total"] == tunis
