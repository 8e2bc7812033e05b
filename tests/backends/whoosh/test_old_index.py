"""An index written before the backend seam still opens and answers as it did (pickled paths)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from core.config import Settings
from core.results import SearchRequest
from search.engine import Engine
from tests.conftest import REPO

OLD_INDEX = REPO / "tests" / "data" / "index-v1"
EXPECTED = json.loads((OLD_INDEX / "expected.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    # A copy: opening must not need to write, but a test must never risk the fixture.
    copy = tmp_path_factory.mktemp("index-v1")
    for path in OLD_INDEX.iterdir():
        if path.suffix in {".seg", ".toc"}:
            shutil.copy(path, copy / path.name)
    return Engine(Settings(index_dir=Path(copy)))


@pytest.mark.parametrize("case", EXPECTED, ids=[c["query"] or "(every message)" for c in EXPECTED])
def test_old_index_answers_as_it_did(engine: Engine, case: dict) -> None:
    found = engine.search(SearchRequest(query=case["query"], page_size=50, with_facets=True))
    assert found.total == case["total"]
    assert [hit.message_id for hit in found.hits] == case["ids"]
    facets = {k: [[v.value, v.count] for v in values] for k, values in found.facets.items()}
    # Facets added since (cites, mentions, lang) have no field in the old index: empty, not an error.
    assert {k: v for k, v in facets.items() if k in case["facets"]} == case["facets"]
    assert all(not v for k, v in facets.items() if k not in case["facets"])


def test_expected_answers_are_not_empty() -> None:
    # The fixture is only a guard if its queries find mail.
    assert sum(1 for case in EXPECTED if case["total"] > 0) >= len(EXPECTED) - 1
