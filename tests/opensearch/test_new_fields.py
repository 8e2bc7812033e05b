"""An index made before the field table gained fields takes documents with them: the
mapping is strict, so `govmail index` maps the new fields first (Whoosh adds its own)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.opensearch.conftest import client, govmail, index_name

pytestmark = pytest.mark.opensearch

# Fields added to the field table after OpenSearch indexes were first made.
LATER = ("reference_spans_json", "quoted_cites")


def test_an_older_mapping_gains_the_new_fields(config: Path, urls: list[str],
                                               tmp_path: Path) -> None:
    from backends.opensearch.mapping import index_body
    from backends.opensearch.store import concrete, swap

    alias = index_name(config)
    body = index_body(shards=1, replicas=0)
    for name in LATER:
        del body["mappings"]["properties"][name]
    found = client(urls)
    try:
        found.indices.create(index=concrete(alias, 1), body=body)
        swap(found, alias, concrete(alias, 1))
    finally:
        found.close()
    archive = tmp_path / "archive"
    govmail("sample", str(archive), "--messages", "60", "--seed", "5")
    done = govmail("--config", str(config), "index", str(archive))
    assert done.returncode == 0, done.stderr
    stats = json.loads(govmail("--config", str(config), "stats", "--format", "json").stdout)
    assert stats["messages"] == 60
    found = client(urls)
    try:
        mapped = next(iter(found.indices.get_mapping(index=alias).values()))
    finally:
        found.close()
    assert set(LATER) <= set(mapped["mappings"]["properties"])
