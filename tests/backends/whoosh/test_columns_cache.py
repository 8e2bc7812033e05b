"""Facet columns written beside their segment: a new process loads them, and a damaged,
stale or missing file only costs the walk over the postings, never a wrong count."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from backends import open_reader
from backends.whoosh.columns import CACHE_SUFFIX
from core.config import Settings
from core.fields import FACETS
from core.query import Every
from tests.search.archive import build_messages, write_index


def facet_counts(index_dir: Path) -> dict[str, Counter[str]]:
    """What a fresh process sees: a new reader, nothing cached in memory."""
    reader = open_reader(Settings(index_dir=index_dir))
    try:
        return reader.count(reader.matching(Every()), tuple(FACETS))
    finally:
        reader.close()


def cache_files(index_dir: Path) -> list[Path]:
    return sorted(index_dir.glob(f"*{CACHE_SUFFIX}"))


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Counter[str]]]:
    index_dir = tmp_path_factory.mktemp("columns") / "index"
    write_index(index_dir, build_messages(300))
    for path in cache_files(index_dir):
        path.unlink()
    # Counted with no file on disk: from the postings.
    return index_dir, facet_counts(index_dir)


def test_the_first_reader_writes_the_columns_and_the_next_loads_equal_counts(
    built: tuple[Path, dict[str, Counter[str]]],
) -> None:
    index_dir, walked = built
    files = cache_files(index_dir)
    assert files, "no column file written beside the segments"
    assert facet_counts(index_dir) == walked
    assert sum(walked["list"].values()) >= 300


@pytest.mark.parametrize("damage", ["truncate", "garbage", "other_size"])
def test_a_damaged_or_stale_file_is_ignored_and_rewritten(
    built: tuple[Path, dict[str, Counter[str]]], damage: str
) -> None:
    index_dir, walked = built
    facet_counts(index_dir)
    for path in cache_files(index_dir):
        data = path.read_bytes()
        if damage == "truncate":
            path.write_bytes(data[: len(data) // 2])
        elif damage == "garbage":
            path.write_bytes(b"\x00not an npz" * 50)
        else:
            # A valid file of another segment size: loading it would misplace every value.
            import numpy as np

            with np.load(path) as stored:
                arrays = {k: stored[k] for k in stored.files}
            import json

            meta = json.loads(arrays["meta"].tobytes())
            meta["size"] += 1
            arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
            with open(path, "wb") as out:
                np.savez(out, **arrays)
    assert facet_counts(index_dir) == walked
    # Rewritten: the next process loads a good file again.
    assert facet_counts(index_dir) == walked
    for path in cache_files(index_dir):
        with path.open("rb") as handle:
            assert handle.read(2) == b"PK"
