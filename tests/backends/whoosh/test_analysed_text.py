"""AnalysedText's fast indexing yields exactly Whoosh's own postings for the same analyzers.

The fast path (rows -> postings, stems counted per distinct word) replaced Whoosh's
analyzer -> Token -> format chain for CPU only; any drift here would silently change the
index, so each case compares the two term by term: bytes, frequency, weight, value.
"""

from __future__ import annotations

import pytest
from whoosh import fields

from analysis.lang import _LETTER, detect
from backends.whoosh.schema import (
    EXACT_ANALYZER,
    STEM_ANALYZER,
    AnalysedText,
    build_schema,
    language_tagged,
)
from core.fields import STEMMED

TEXTS = [
    "",
    "the of and",  # stop words only
    "Governance governance GOVERNMENTS government governed, the governance of governments.",
    "Délégué délégués: coopération renforcée; la gouvernance de l'Internet et les États.",
    "我基本同意OECD关于Tech Envoy的建议。我们同意。",
    "インターネットガバナンスフォーラム 인터넷 거버넌스 포럼 거버넌스",
    "See https://www.icann.org/resources/pages/x-2023 and mail jane.doe+igf@lists.example.net.",
    "Ёлка ёлки, التَّعَاوُنُ المُعَزَّزُ — a-b c.d e_f 2023 10.5 x y z " * 3,
]


def _whoosh(field: fields.FieldType, value: str) -> list[tuple]:
    return list(fields.TEXT.index(field, value))


@pytest.mark.parametrize("text", TEXTS)
@pytest.mark.parametrize("phrase", [True, False])
def test_exact_postings_match_whoosh(text: str, phrase: bool) -> None:
    field = AnalysedText(analyzer=EXACT_ANALYZER, phrase=phrase, field_boost=1.5)
    assert list(field.index(text)) == _whoosh(field, text)


@pytest.mark.parametrize("text", TEXTS)
@pytest.mark.parametrize("lang", [None, "en", "fr", "es", "de", "ru", "ar", "zh", "und"])
def test_stem_postings_match_whoosh(text: str, lang: str | None) -> None:
    field = AnalysedText(analyzer=STEM_ANALYZER, phrase=False, field_boost=2.0)
    value = language_tagged(lang, text)
    assert list(field.index(value)) == _whoosh(field, value)


def test_schema_text_fields_take_the_fast_path() -> None:
    schema = build_schema()
    for name, sub in STEMMED.items():
        assert type(schema[name]) is AnalysedText
        assert type(schema[sub]) is AnalysedText
    # The first analyzer's schema stays Whoosh's own type: old indexes pickle it.
    legacy = build_schema(legacy=True)
    assert all(type(legacy[name]) is not AnalysedText for name in legacy.names())


def test_other_calls_are_whoosh_own() -> None:
    field = AnalysedText(analyzer=EXACT_ANALYZER, phrase=True)
    words = ["alpha", "beta", "alpha"]
    assert list(field.index(words)) == _whoosh(field, words)
    assert list(field.index("alpha beta", mode="query")) == list(
        fields.TEXT.index(field, "alpha beta", mode="query"))


@pytest.mark.parametrize("text", [
    "short", "Hello, world: twelve letters here", "1234567890 1234567890 ab", "x" * 3000,
    "A plain English message about the Internet Governance Forum and its agenda.",
])
def test_ascii_letter_count_is_the_pattern_count(text: str) -> None:
    raw = text[:2000].encode("ascii")
    assert len(raw) - len(raw.translate(None, b"abcdefghijklmnopqrstuvwxyz"
                                        b"ABCDEFGHIJKLMNOPQRSTUVWXYZ")) == len(
        _LETTER.findall(text[:2000]))
    assert detect(text) in {"und", "en", "fr", "es", "de", "pt", "it", "nl", "tr", "pl", "sv"}
