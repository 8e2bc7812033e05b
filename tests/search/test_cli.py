"""`govmail search` and `govmail stats` through click, and the JSON shape against its schema."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from core.results import SearchRequest
from govmail.cli import cli
from search.engine import Engine
from tests.conftest import REPO

SCHEMA_PATH = REPO / "core" / "result.schema.json"


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def run(index: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, [*args, "--index", str(index)], env={"GOVMAIL_CONFIG": ""})
    return result.exit_code, result.stdout, result.stderr


def test_json_output_matches_the_schema_and_the_api(
    fixture_index: Path, engine: Engine, validator: jsonschema.Draft202012Validator
) -> None:
    code, out, err = run(fixture_index, "search", "dnssec", "OR", "whois", "--format", "json",
                         "--facets")
    assert (code, err) == (0, "")
    printed = json.loads(out)
    validator.validate(printed)
    api = engine.search(SearchRequest(query="dnssec OR whois")).to_json()
    validator.validate(api)
    del printed["elapsed_ms"], api["elapsed_ms"]
    assert printed == api


def test_json_leaves_facets_out_unless_asked(fixture_index: Path, engine: Engine,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Counting facets was most of a JSON search's time (issue 19): only --facets asks."""
    from backends.whoosh.reader import WhooshReader

    counted: list[tuple[str, ...]] = []
    real = WhooshReader.count

    def spy(self, matched, names):  # type: ignore[no-untyped-def]
        counted.append(tuple(names))
        return real(self, matched, names)

    monkeypatch.setattr(WhooshReader, "count", spy)
    code, out, _ = run(fixture_index, "search", "dnssec", "--format", "json")
    assert code == 0 and json.loads(out)["facets"] == {} and counted == []
    code, out, _ = run(fixture_index, "search", "dnssec", "--format", "json", "--facets")
    assert code == 0 and json.loads(out)["facets"]["list"] and counted


def test_schema_rejects_a_wrong_shape(validator: jsonschema.Draft202012Validator) -> None:
    wrong = {"query": "x", "total": -1, "page": 1, "page_size": 20, "hits": [],
             "facets": {}, "suggestion": None, "elapsed_ms": 1.0}
    assert [e.message for e in validator.iter_errors(wrong)] == [
        "-1 is less than the minimum of 0"
    ]


def test_every_facet_and_empty_results_match_the_schema(
    engine: Engine, validator: jsonschema.Draft202012Validator
) -> None:
    for query in ("", "zzzzq", "quoted:marker07", "markup99"):
        validator.validate(engine.search(SearchRequest(query=query, page_size=100)).to_json())


def test_jsonl_is_one_hit_a_line(fixture_index: Path) -> None:
    code, out, _ = run(fixture_index, "search", "dnssec", "--format", "jsonl", "--sort", "date")
    lines = [json.loads(line) for line in out.splitlines()]
    assert code == 0
    assert [h["message_id"] for h in lines] == [
        f"fixture{n:02d}@govmail.test" for n in (3, 11, 19, 27)
    ]


def test_csv(fixture_index: Path) -> None:
    code, out, _ = run(fixture_index, "search", "marker05", "--format", "csv")
    rows = list(csv.reader(io.StringIO(out)))
    assert code == 0
    assert rows == [
        ["date", "author", "email", "list", "subject", "message_id", "thread_id", "score",
         "snippet"],
        ["2010-02-14T14:30:00Z", "Parminder Jeet Singh", "parminder@itforchange.net", "igf",
         "Re: Network question 1", "fixture05@govmail.test", "fixture03@govmail.test",
         rows[1][7],
         "Dear all, marker05 about network neutrality rules in the European telecom package. "
         "I think we …"],
    ]
    assert float(rows[1][7]) > 0


def test_table(fixture_index: Path) -> None:
    code, out, _ = run(fixture_index, "search", "marker05")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["2010-02-14", "Parminder", "Jeet", "…", "igf", "Re:", "Network",
                                "question", "1"] or lines[0].startswith("2010-02-14 Parminder")
    assert "marker05" in lines[1]
    assert lines[-1].startswith("1 hit, showing 1-1 (page 1 of 1, ")


def test_facets_flag(fixture_index: Path) -> None:
    code, out, _ = run(fixture_index, "search", "quoted:marker07", "--facets")
    assert code == 0
    assert out.splitlines()[-7:] == [
        "author: Avri Doria (1)",
        "list: governance (1)",
        "year: 2010 (1)",
        "month: 2010-03 (1)",
        "quoted_author: Milton Mueller (1)",
        "group: technical community (1)",
        "lang: en (1)",
    ]


def test_count_and_filters(fixture_index: Path) -> None:
    assert run(fixture_index, "search", "discuss", "--count") == (0, "32\n", "")
    assert run(fixture_index, "search", "discuss", "--count", "--filter", "list=ietf",
               "--filter", "list=igf") == (0, "16\n", "")
    assert run(fixture_index, "search", "discuss", "--count", "--filter", "list=ietf",
               "--filter", "year=2011") == (0, "2\n", "")


def test_no_hits_exit_1(fixture_index: Path) -> None:
    code, out, _ = run(fixture_index, "search", "zzzzq", "--format", "json")
    assert (code, json.loads(out)["total"]) == (1, 0)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("search", "date:zzz"), "Error: bad query: cannot read the date 'zzz' at position 6 "
         "(use YYYY, YYYY-MM or YYYY-MM-DD)\n"),
        (("search", "hello", "(world"), "Error: bad query: unclosed '(' at position 7\n"),
        (("search", "icann", "--filter", "list"), "Error: bad query: filter 'list' is not "
         "FACET=VALUE\n"),
        (("search", "icann", "--filter", "size=3"), "Error: bad query: unknown facet 'size' "
         "(facets: author, list, year, month, quoted_author, group, cites, "
         "mentions, lang)\n"),
        (("search", "icann", "--page", "501"),
         "Error: --page 501: at most 500 (the max_page setting)\n"),
    ],
)
def test_bad_query_exit_2_with_one_line(fixture_index: Path, args: tuple[str, ...],
                                        message: str) -> None:
    assert run(fixture_index, *args) == (2, "", message)


def test_missing_index_exit_3(tmp_path: Path) -> None:
    code, out, err = run(tmp_path / "none", "search", "icann")
    assert (code, out) == (3, "")
    assert err.startswith("Error: no index at ") and err.count("\n") == 1


def test_stats(fixture_index: Path, engine: Engine) -> None:
    code, out, _ = run(fixture_index, "stats", "--format", "json")
    assert (code, json.loads(out)) == (0, engine.stats())
    code, out, _ = run(fixture_index, "stats")
    assert code == 0
    assert out.splitlines()[:5] == [
        "messages    33",
        "authors     5",
        "lists       4",
        "first date  2009-12-01T09:30:00Z",
        "last date   2011-04-01T12:00:00Z",
    ]
