"""analysis.text: the exact forms index and query share (folding, CJK, URL and address parts)."""

from __future__ import annotations

import pytest

from analysis.text import fold, tokenize, words


def index_words(text: str) -> list[str]:
    return [t.text for t in tokenize(text)]


@pytest.mark.parametrize(
    ("raw", "folded"),
    [("Délégué", "delegue"), ("GOVERNANCE", "governance"), ("Straße", "strasse"),
     ("ﬁle", "file"), ("Ёлка", "елка"), ("Ｏｅｃｄ", "oecd"), ("Øresund", "oresund"),
     # Arabic diacritics and tatweel go; Devanagari vowel signs stay (they are letters).
     ("حَوْكَمَة", "حوكمة"), ("حـوكمة", "حوكمة"), ("हिन्दी", "हिन्दी")],
)
def test_fold(raw: str, folded: str) -> None:
    assert fold(raw) == folded


def test_cjk_bigrams_and_glued_latin_words() -> None:
    found = index_words("我基本同意OECD关于Tech Envoy的建议")
    assert {"同意", "建议", "oecd", "tech", "envoy", "基本", "关于"} <= set(found)
    # Bigrams overlap, so any 2-character word of the run is a token.
    assert found[:4] == ["我基", "基本", "本同", "同意"]


def test_cjk_query_of_three_characters_is_consecutive_bigrams() -> None:
    tokens = list(tokenize("隐私政策", query=True))
    assert [t.text for t in tokens] == ["隐私", "私政", "政策"]
    assert [t.pos for t in tokens] == [0, 1, 2]


def test_a_lone_cjk_character_is_a_unigram() -> None:
    assert words("我 是") == ["我", "是"]


def test_kana_and_hangul_runs() -> None:
    assert "ガバ" in index_words("インターネットガバナンス")
    assert {"거버", "버넌", "넌스"} <= set(index_words("인터넷 거버넌스 포럼"))


def test_url_parts_are_extra_tokens_at_the_host_position() -> None:
    tokens = list(tokenize("See https://www.icann.org/resources/pages/bylaws-2016, thanks"))
    texts = [t.text for t in tokens]
    assert {"www.icann.org", "icann.org", "icann", "org", "www", "https", "resources", "pages",
            "bylaws", "2016"} <= set(texts)
    host = next(t for t in tokens if t.text == "www.icann.org")
    assert {t.pos for t in tokens if t.kind == "extra"} == {host.pos}
    # The path follows the host, so the phrase icann.org/resources matches.
    assert next(t for t in tokens if t.text == "resources").pos == host.pos + 1
    assert texts[-1] == "thanks"


def test_a_query_keeps_the_main_stream_only() -> None:
    assert words("icann.org/resources") == ["icann.org", "resources"]
    assert words("https://www.icann.org/x") == ["www.icann.org", "x"]


def test_addresses_whole_and_by_parts() -> None:
    texts = index_words("write to secretariat@intgovforum.org.")
    assert {"secretariat@intgovforum.org", "secretariat", "intgovforum.org",
            "intgovforum"} <= set(texts)
    assert words("secretariat@intgovforum.org") == ["secretariat@intgovforum.org"]


def test_abbreviations_and_numbers_are_no_hosts() -> None:
    assert index_words("e.g. version 3.141 U.S. policy") == ["e.g", "version", "3.141",
                                                             "u.s", "policy"]


def test_stop_words_leave_no_gap_and_can_be_kept_marked() -> None:
    tokens = list(tokenize("the root of the zone"))
    assert [(t.text, t.pos) for t in tokens] == [("root", 0), ("zone", 1)]
    kept = list(tokenize("the root", keep_stops=True))
    assert [(t.text, t.stopped) for t in kept] == [("the", True), ("root", False)]


def test_arabic_word_with_diacritics_is_one_token() -> None:
    assert index_words("إن حَوْكَمَة الإنترنت") == ["ان", "حوكمة", "الانترنت"]
