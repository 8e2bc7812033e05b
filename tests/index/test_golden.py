"""Golden tests: every fixture in tests/data/messages against the keys its sibling JSON lists.

A fixture ``<name>.<ext>`` (eml, mbox, html, txt ...) has ``<name>.json`` holding only the keys
that matter: dotted keys ("author.name"), exact values, ``{"contains": [...], "excludes": [...]}``
for text, lists of partial objects (each compared on its own keys), and for multi-message or
failing fixtures ``count``, ``records`` (one partial object per record) and ``rejections``.
``.eml`` fixtures run in LF and CRLF forms. On a mismatch ``<name>.actual.json`` is written and
the test fails with a unified diff; ``pytest --update-golden`` rewrites the expectations.
"""

from __future__ import annotations

import difflib
import json
from pathlib import Path
from typing import Any

import pytest

from core.config import Settings
from core.records import Message, Rejection
from index.pipeline import parse_stream
from tests.conftest import DATA

MESSAGES = DATA / "messages"
MINIMUM = 60
FIXTURES = sorted(
    p for p in MESSAGES.iterdir()
    if p.is_file() and p.suffix != ".json" and not p.name.startswith(".")
)
CASES = [(p, form) for p in FIXTURES for form in (("lf", "crlf") if p.suffix == ".eml" else ("as-is",))]


def test_enough_fixtures() -> None:
    assert len(FIXTURES) >= MINIMUM
    assert [p.name for p in FIXTURES if not p.with_suffix(".json").is_file()] == []


def _lookup(record: dict[str, Any], dotted: str) -> Any:
    value: Any = record
    for part in dotted.split("."):
        if isinstance(value, dict):
            value = value.get(part)
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value


def _view(expected: Any, actual: Any) -> Any:
    """The actual value, shaped like the expectation so that equality means "passes"."""
    if isinstance(expected, dict) and set(expected) <= {"contains", "excludes"}:
        text = actual if isinstance(actual, str) else json.dumps(actual, ensure_ascii=False)
        view: dict[str, list[str]] = {}
        if "contains" in expected:
            view["contains"] = [s for s in expected["contains"] if s in text]
            view["missing"] = [s for s in expected["contains"] if s not in text]
            if not view["missing"]:
                del view["missing"]
        if "excludes" in expected:
            view["excludes"] = [s for s in expected["excludes"] if s not in text]
            found = [s for s in expected["excludes"] if s in text]
            if found:
                view["present"] = found
        return view
    if isinstance(expected, list) and isinstance(actual, list) and expected and all(
            isinstance(e, dict) for e in expected):
        keys = [list(e) for e in expected]
        return [
            {k: _view(expected[i][k], _lookup(a, k)) for k in keys[min(i, len(keys) - 1)]}
            if isinstance(a, dict) else a
            for i, a in enumerate(actual)
        ]
    return actual


def _record_view(expected: dict[str, Any], record: dict[str, Any]) -> dict[str, Any]:
    return {key: _view(value, _lookup(record, key)) for key, value in expected.items()}


def _actual(expected: dict[str, Any], items: list[Message | Rejection]) -> dict[str, Any]:
    records = [i.to_json() for i in items if isinstance(i, Message)]
    rejections = [i.to_json() for i in items if isinstance(i, Rejection)]
    multi = {"count", "records", "rejections"}
    if set(expected) & multi:
        view: dict[str, Any] = {}
        for key, value in expected.items():
            if key == "count":
                view[key] = len(records)
            elif key == "records":
                view[key] = [_record_view(value[min(i, len(value) - 1)], r)
                             for i, r in enumerate(records)] if value else records
            elif key == "rejections":
                view[key] = _view(value, rejections)
            else:
                view[key] = _view(value, _lookup(records[0], key) if records else None)
        return view
    if len(records) != 1:
        return {"count": len(records), "rejections": rejections}
    return _record_view(expected, records[0])


def _crlf(data: bytes) -> bytes:
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def _updated(expected: Any, actual: Any) -> Any:
    """What --update-golden writes: actual values, but contains/excludes lists are kept."""
    if isinstance(expected, dict) and set(expected) <= {"contains", "excludes"}:
        return expected
    if isinstance(expected, dict) and isinstance(actual, dict):
        return {k: _updated(v, actual.get(k)) for k, v in expected.items()}
    return actual


@pytest.mark.parametrize(("path", "form"), CASES, ids=[f"{p.name}-{f}" for p, f in CASES])
def test_golden(path: Path, form: str, tmp_path: Path, update_golden: bool) -> None:
    expected_path = path.with_suffix(".json")
    expected = json.loads(expected_path.read_text(encoding="utf-8"))
    data = path.read_bytes()
    target = tmp_path / path.name
    target.write_bytes(_crlf(data) if form == "crlf" else data)
    items = list(parse_stream([target], Settings(), jobs=1))
    actual = _actual(expected, items)
    if actual == expected:
        return
    if update_golden and form != "crlf":
        expected_path.write_text(
            json.dumps(_updated(expected, actual), ensure_ascii=False, indent=2) + "\n",
            encoding="utf-8")
        return
    want = json.dumps(expected, ensure_ascii=False, indent=2, sort_keys=True).splitlines()
    got = json.dumps(actual, ensure_ascii=False, indent=2, sort_keys=True).splitlines()
    path.with_suffix(".actual.json").write_text("\n".join(got) + "\n", encoding="utf-8")
    diff = "\n".join(difflib.unified_diff(want, got, "expected", f"actual ({form})", lineterm=""))
    pytest.fail(f"{path.name} ({form}) differs from {expected_path.name}:\n{diff}", pytrace=False)
