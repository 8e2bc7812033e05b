"""bench.whoosh_floor on 50 messages: the variants build the schemas they claim, and it prints its table.

It asserts nothing about speed (figures come from the benchmark, never from timed tests).
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest
from whoosh import fields

from backends.whoosh.schema import SCHEMA
from bench import whoosh_floor


def _shape(field: fields.FieldType) -> tuple[object, ...]:
    # The copied fields' column objects have no __eq__: compare what indexing depends on.
    positions = field.format is not None and field.format.supports("positions")
    return (type(field), type(field.format), field.stored, field.scorable, positions,
            type(field.column_type))


def test_variant_schemas_change_only_their_fields() -> None:
    text = ("author_text", "original", "original_stem", "quoted", "quoted_author_text",
            "quoted_stem", "signature", "subject", "subject_stem")
    assert whoosh_floor._text_fields(SCHEMA) == text

    schema, dropped = whoosh_floor.variant_schema("no-positions-quoted")
    assert dropped == ()
    assert not schema["quoted"].format.supports("positions")
    assert schema["quoted"].stored
    assert schema.names() == SCHEMA.names()
    assert [n for n in schema.names() if _shape(schema[n]) != _shape(SCHEMA[n])] == ["quoted"]

    schema, dropped = whoosh_floor.variant_schema("no-quoted")
    assert dropped == ("quoted",)
    assert sorted(schema.names()) == sorted(n for n in SCHEMA.names() if n != "quoted")

    schema, dropped = whoosh_floor.variant_schema("no-stored-text")
    assert dropped == ("headers",)
    assert [n for n in ("original", "quoted", "signature") if schema[n].stored] == []
    assert all(schema[n].format.supports("positions") for n in ("original", "quoted"))
    assert "headers" not in schema.names()

    schema, dropped = whoosh_floor.variant_schema("text-only")
    assert sorted(schema.names()) == list(text)
    assert all(isinstance(schema[n], fields.TEXT) for n in text)

    # The real variants index SCHEMA itself, not a copy.
    assert whoosh_floor.variant_schema("real-procs2") == (SCHEMA, ())
    with pytest.raises(ValueError):
        whoosh_floor.variant_schema("no-such-variant")


def test_whoosh_floor_prints_one_row_per_variant(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    variants = ["real", "no-quoted", "codec", "tokens"]
    status = whoosh_floor.main(["--messages", "50", "--repeat", "1", "--cache", str(tmp_path),
                                "--variants", ",".join(variants)])
    assert status == 0
    with (tmp_path / "docs-50-1.pickle").open("rb") as src:
        docs = pickle.load(src)
    assert [d["message_id"] for d in docs] and all(d["message_id"] for d in docs)

    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"Whoosh index stage, {len(docs)} documents (50 sample messages")
    rows = [line.split(" | ") for line in out if line.startswith("| ") and "ms/doc" not in line
            and "TEXT field" not in line]
    main_rows = [r for r in rows if len(r) == 9]
    assert [r[0].lstrip("| ") for r in main_rows] == ["real", "no-quoted", "codec"]
    # Dropping a field's postings and stored text makes the index smaller; so do govmail's
    # posting blocks, which store positions without a pickle around each.
    as_int = {r[0].lstrip("| "): int(r[5].replace(",", "")) for r in main_rows}
    assert 0 < as_int["no-quoted"] < as_int["real"]
    assert 0 < as_int["codec"] < as_int["real"]
    token_rows = [r[0].lstrip("| ") for r in rows if len(r) == 3]
    assert sorted(token_rows) == ["all", "author_text", "original", "original_stem", "quoted",
                                  "quoted_author_text", "quoted_stem", "signature", "subject",
                                  "subject_stem"]

    # The runs log rebuilds the same table.
    logged = (tmp_path / whoosh_floor.RUNS_LOG).read_text().splitlines()
    assert [json.loads(line)["variant"] for line in logged] == variants
    assert whoosh_floor.main(["--table-from", str(tmp_path / whoosh_floor.RUNS_LOG)]) == 0
    again = capsys.readouterr().out.splitlines()
    assert [line for line in again if line.startswith("|")] == [
        line for line in out if line.startswith("|")]
