"""The reference stage: hand-annotated fixtures (en/fr/es), the seed, real mail, the data file.

Precision and recall are printed per kind (document, part, organisation) with ``-s``; the
thresholds are the issue's (precision >= 95%, recall >= 90%, at least 150 references).
"""

from __future__ import annotations

import json
import tomllib
from collections import Counter
from itertools import pairwise
from pathlib import Path

import pytest

from core.config import Settings
from core.errors import ConfigError
from core.records import Message
from core.refkeys import query_key
from index import references as R
from index.inspect import run_inspect
from index.pipeline import parse_stream
from tests.conftest import DATA

GOLDEN = DATA / "references" / "golden.toml"
JUDGED = DATA / "references" / "judged-real.json"


def kind_of(label: str) -> str:
    if label.startswith("mention:"):
        return "organisation"
    return "part" if "/" in label else "document"


def labels(cites: list[str] | tuple, mentions: list[str] | tuple) -> set[str]:
    return {f"cite:{c}" for c in cites} | {f"mention:{m}" for m in mentions}


def found_labels(found: R.References) -> set[str]:
    cites = [f"{c.where}:{c.document}" + (f"/{c.part}" if c.part else "") for c in found.cites]
    return labels(cites, found.mentions)


def score(pairs: list[tuple[set[str], set[str]]]) -> dict[str, tuple[int, int, int]]:
    """kind -> (true positives, found, expected), and "all"."""
    tally: dict[str, Counter[str]] = {}
    for expected, found in pairs:
        for label in expected | found:
            counts = tally.setdefault(kind_of(label), Counter())
            counts["tp"] += label in expected and label in found
            counts["found"] += label in found
            counts["expected"] += label in expected
    result = {k: (c["tp"], c["found"], c["expected"]) for k, c in sorted(tally.items())}
    result["all"] = tuple(sum(v[i] for v in result.values()) for i in range(3))  # type: ignore
    return result


def report(title: str, scores: dict[str, tuple[int, int, int]]) -> str:
    lines = [title]
    for kind, (tp, found, expected) in scores.items():
        precision = tp / found if found else 1.0
        recall = tp / expected if expected else 1.0
        lines.append(f"  {kind:<13} P {precision:6.1%}  R {recall:6.1%}  "
                     f"(tp {tp}, found {found}, annotated {expected})")
    return "\n".join(lines)


def pr(scores: dict[str, tuple[int, int, int]], kind: str = "all") -> tuple[float, float]:
    tp, found, expected = scores[kind]
    return (tp / found if found else 1.0), (tp / expected if expected else 1.0)


@pytest.fixture(scope="module")
def table() -> R.Table:
    return R.load_table()


def test_golden_fixtures_precision_and_recall(table: R.Table) -> None:
    cases = tomllib.loads(GOLDEN.read_text(encoding="utf-8"))["case"]
    pairs = []
    by_lang: dict[str, list[tuple[set[str], set[str]]]] = {}
    misses = []
    for case in cases:
        expected = labels(case.get("cites", []), case.get("mentions", []))
        found = found_labels(R.extract(case["text"], case.get("quoted", ""), table))
        pairs.append((expected, found))
        by_lang.setdefault(case["lang"], []).append((expected, found))
        if expected != found:
            misses.append(f"{case['text'][:60]!r}: missed {sorted(expected - found)}, "
                          f"extra {sorted(found - expected)}")
    scores = score(pairs)
    print("\n" + report(f"golden fixtures ({len(cases)} cases)", scores))
    for lang, lang_pairs in sorted(by_lang.items()):
        print(report(f"  [{lang}]", {"all": score(lang_pairs)["all"]}))
    print("\n".join(misses))
    assert scores["all"][2] >= 150
    precision, recall = pr(scores)
    assert precision >= 0.95 and recall >= 0.90, misses


def test_seed_message(seed_path: Path) -> None:
    records = [m for m in parse_stream([seed_path], Settings(), jobs=1) if isinstance(m, Message)]
    assert len(records) == 1
    seed = records[0]
    own = {(c.document, c.part) for c in seed.cites if c.where == "original"}
    quoted = {(c.document, c.part) for c in seed.cites if c.where == "quoted"}
    assert {("tunis-agenda", "73b"), ("tunis-agenda", "74")} <= own
    assert ("tunis-agenda", "76") in quoted
    assert ("tunis-agenda", "76") not in own
    assert {"igf", "itu", "wipo", "wto", "ecosoc", "cstd"} <= set(seed.mentions)


@pytest.mark.corpora
def test_hand_judged_real_mail(shared_corpora: Path, table: R.Table) -> None:
    """Real list mail, every reference judged by reading the message (see the data README)."""
    judged = json.loads(JUDGED.read_text(encoding="utf-8"))
    truth = {(m["source"], m["message_id"]): m for m in judged["messages"]}
    pairs: dict[str, list[tuple[set[str], set[str]]]] = {}
    for name, sources in judged["sources"].items():
        for rel in sources:
            for record in parse_stream([shared_corpora / rel], Settings(), jobs=1):
                if not isinstance(record, Message):
                    continue
                entry = truth.get((rel, record.message_id))
                expected = labels(entry["cites"], entry["mentions"]) if entry else set()
                found = found_labels(R.References(record.cites, record.mentions))
                if expected or found:
                    pairs.setdefault(name, []).append((expected, found))
    for name, items in pairs.items():
        print("\n" + report(f"real mail, {name} set ({len(items)} messages)", score(items)))
    everything = [p for items in pairs.values() for p in items]
    precision, recall = pr(score(everything))
    assert precision >= 0.9 and recall >= 0.9


def test_abbreviation_needs_the_full_name(table: R.Table) -> None:
    alone = R.extract("Section 74 of TA reads so.", "", table)
    assert alone.cites == ()
    spelled_in_quote = R.extract("Section 74 of TA reads so.", "the Tunis Agenda says", table)
    assert ("tunis-agenda", "74", "original") in {(c.document, c.part, c.where)
                                                  for c in spelled_in_quote.cites}


def test_parts_of_other_texts_are_not_guessed(table: R.Table) -> None:
    found = R.extract("Paragraph 12 of the report on the Tunis Agenda is weak.", "", table)
    assert {(c.document, c.part) for c in found.cites} == {("tunis-agenda", None)}


def test_site_file_extends_the_shipped_table(tmp_path: Path) -> None:
    site = tmp_path / "refs.toml"
    site.write_text('[[organisation]]\nid = "diplo"\nname = "DiploFoundation"\n'
                    'names = ["Diplo Foundation", "DiploFoundation"]\n\n'
                    '[[document]]\nid = "tunis-agenda"\nname = "Tunis Agenda"\n'
                    'abbreviations = ["TAIS"]\n', encoding="utf-8")
    table = R.load_table(site)
    found = R.extract("The Diplo Foundation read TAIS para 40 and the Tunis Agenda.", "", table)
    assert "diplo" in found.mentions
    assert ("tunis-agenda", "40") in {(c.document, c.part) for c in found.cites}
    # The shipped names are still there.
    assert "itu" in R.extract("ITU", "", table).mentions


@pytest.mark.parametrize("content", ["[[document]]\nname = 'x'\n", "not toml [",
                                     "[[document]]\nid='x'\nanchor='x'\n",
                                     "[[organisation]]\nid='x'\nnames='ITU'\n",
                                     "[[organisation]]\nid='Big Org'\n",
                                     "[[document]]\nid='x'\nanchor='x'\npattern='('\n"])
def test_bad_site_file_is_a_config_error(tmp_path: Path, content: str) -> None:
    site = tmp_path / "refs.toml"
    site.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError):
        R.load_table(site)
    with pytest.raises(ConfigError):
        R.load_table(tmp_path / "missing.toml")


@pytest.mark.parametrize(("typed", "value"), [
    ("Tunis Agenda", "tunis-agenda"),
    ('"Tunis Agenda 76"', "tunis-agenda/76"),
    ("tunis-agenda/73(b)", "tunis-agenda/73b"),
    ("Tunis Agenda para 72 (a)", "tunis-agenda/72a"),
    ("RFC 2026", "rfc-2026"),
    ("A/RES/70/125", "a-res-70-125"),
    ("RIPE NCC", "ripe-ncc"),
    ("ITU", "itu"),
    ("Agenda de Túnez", "agenda-de-tunez"),
])
def test_query_keys(typed: str, value: str) -> None:
    assert query_key(typed) == value


def test_inspect_json_shows_cites_and_mentions(tmp_path: Path) -> None:
    mail = tmp_path / "one.eml"
    mail.write_text("From: A <a@example.org>\nSubject: s\nMessage-ID: <x@example.org>\n\n"
                    "See para 72 of the Tunis Agenda and ask the ITU.\n\n"
                    "B wrote:\n> RFC 2026 says so.\n", encoding="utf-8")
    import io

    out, err = io.StringIO(), io.StringIO()
    assert run_inspect([mail], Settings(), fmt="json", out=out, err=err)
    record = json.loads(out.getvalue())[0]
    assert {"document": "tunis-agenda", "part": "72", "where": "original"} in record["cites"]
    assert {"document": "rfc-2026", "part": None, "where": "quoted"} in record["cites"]
    assert record["mentions"] == ["itu"]
    plain = io.StringIO()
    run_inspect([mail], Settings(), out=plain, err=io.StringIO())
    assert "Cites (original): tunis-agenda 72" in plain.getvalue()
    assert "Mentions: itu" in plain.getvalue()


def test_sample_generator_planted_truth() -> None:
    """Planted references are all found; no part or RFC is found that was not planted."""
    from core.records import RawMessage, SourceRef
    from index.pipeline import parse_safely
    from sample.generator import PLANTED_DOCUMENTS, generate

    settings = Settings()
    planted_ids = {doc for doc, _ in PLANTED_DOCUMENTS}
    planted = found_total = hit = 0
    extra: list[str] = []
    missed: list[str] = []
    for sample in generate(400, 3):
        raw = RawMessage(SourceRef(f"sample-{sample.index}"), sample.raw,
                         "body" if sample.is_bare_body else "eml")
        record = parse_safely(raw, settings)
        assert isinstance(record, Message)
        found = {f"cite:{c.document}" + (f"/{c.part}" if c.part else "")
                 for c in record.cites if c.where == "original"}
        found |= {f"mention:{m}" for m in record.mentions}
        truth = set(sample.planted)
        planted += len(truth)
        hit += len(truth & found)
        missed += sorted(truth - found)
        # Parts of the planted documents and RFCs come only from planting (or the vocabulary
        # phrases the truth lists): any other is a false positive. ("paragraph 85 of the
        # affirmation of commitments" is the grammar's, a true citation nobody planted.)
        checkable = {f for f in found if f.startswith("cite:rfc-") or (
            "/" in f and f[5:].split("/")[0] in planted_ids)}
        found_total += len(checkable)
        extra += sorted(checkable - truth)
    precision = (found_total - len(extra)) / found_total
    recall = hit / planted
    print(f"\nsample generator (400 messages, seed 3): planted {planted}, recall {recall:.1%}; "
          f"parts and RFCs found {found_total}, precision {precision:.1%}")
    assert planted >= 100
    assert recall >= 0.99, missed[:10]
    assert precision >= 0.99, extra[:10]


def test_spans_say_where_every_reference_stands(table: R.Table) -> None:
    """Each cite and mention has a span on its side, each span's text is the reference
    it names (a page marks it), and spans on one side never overlap."""
    from core.refkeys import cite_value

    cases = tomllib.loads(GOLDEN.read_text(encoding="utf-8"))["case"]
    for case in cases:
        texts = {"original": case["text"], "quoted": case.get("quoted", "")}
        found = R.extract(texts["original"], texts["quoted"], table)
        spanned = {(s.where, s.field, s.value) for s in found.spans}
        for cite in found.cites:
            assert (cite.where, "cites", cite_value(cite.document, cite.part)) in spanned, case
        assert {v for _, f, v in spanned if f == "mentions"} == set(found.mentions), case
        cited = {(c.where, cite_value(c.document, c.part)) for c in found.cites} | {
            (c.where, c.document) for c in found.cites}
        for where in texts:
            side = [s for s in found.spans if s.where == where]
            for span in side:
                shown = texts[where][span.start:span.end]
                assert shown and shown == shown.strip(), (case, span)
                assert span.field == "mentions" or (where, span.value) in cited, (case, span)
            assert all(a.end <= b.start for a, b in pairwise(side)), (case, side)
