"""analysis.stem and analysis.lang: stems that keep the field's meanings apart, per language."""

from __future__ import annotations

import pytest

from analysis.lang import detect
from analysis.stem import Stemmers, exceptions, stemmable


@pytest.fixture()
def stem():
    return Stemmers().stem


def test_governance_and_government_keep_apart(stem) -> None:
    assert stem("governance", "en") != stem("government", "en")
    assert stem("governments", "en") == stem("government", "en")
    assert stem("governmental", "en") not in {stem("government", "en"), stem("governance", "en")}
    assert stem("governing", "en") == stem("governed", "en") != stem("governance", "en")


def test_plurals_and_verb_forms_join(stem) -> None:
    assert stem("policies", "en") == stem("policy", "en") != stem("police", "en")
    assert stem("stakeholders", "en") == stem("stakeholder", "en")
    assert stem("cooperated", "en") == stem("cooperating", "en") != stem("cooperation", "en")
    assert stem("proposals", "en") == stem("proposal", "en")
    assert stem("registrars", "en") == stem("registrar", "en")
    assert stem("organizations", "en") != stem("organ", "en")


def test_stems_are_language_tagged(stem) -> None:
    assert stem("gouvernements", "fr") == stem("gouvernement", "fr") == "fr:gouvernement"
    assert stem("gouvernance", "fr") != stem("gouvernement", "fr")
    assert stem("regierungen", "de") == stem("regierung", "de")
    assert stem("gobiernos", "es") == stem("gobierno", "es") != stem("gobernanza", "es")
    assert stem("государства", "ru") == stem("государств", "ru")
    # No stemmer for Chinese (or an undetermined language): its Latin words stem as English.
    assert stem("proposals", "zh") == stem("proposal", "und") == stem("proposal", "en")


def test_a_query_word_gets_each_language_stem_once() -> None:
    assert Stemmers().stems("internet", ("en", "fr", "und", "zh")) == ["en:internet",
                                                                       "fr:internet"]


def test_the_vocabulary_table_is_read_for_every_language() -> None:
    table = exceptions()
    assert table["en"]["governments"] == "government"
    assert table["fr"]["governments"] == "government"  # English terms in French mail
    assert table["fr"]["gouvernements"] == "gouvernement"


def test_only_words_of_letters_are_stemmed() -> None:
    assert stemmable("policies", "word")
    assert not stemmable("2016", "word")
    assert not stemmable("同意", "cjk")
    assert not stemmable("icann.org", "host")


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("We need to strengthen enhanced cooperation among governments and stakeholders.",
         "en"),
        ("Nous devons renforcer la gouvernance de l'Internet et la coopération.", "fr"),
        ("Los gobiernos de la región pidieron que el foro se celebre cada año.", "es"),
        ("Die Regierungen haben beschlossen, das Forum in Berlin auszurichten.", "de"),
        ("A governança da Internet no Brasil é feita pelo comitê gestor.", "pt"),
        ("Управление интернетом требует участия государств.", "ru"),
        ("إن حوكمة الإنترنت في المنطقة العربية تحتاج إلى مشاركة أوسع.", "ar"),
        ("互联网治理论坛今年在日内瓦举行会议，多利益相关方模式得到了广泛支持。", "zh"),
        ("インターネットガバナンスフォーラムは京都で開催されました。", "ja"),
        ("인터넷 거버넌스 포럼이 서울에서 열렸습니다.", "ko"),
        ("ok", "und"),
    ],
)
def test_detect(text: str, lang: str) -> None:
    assert detect(text) == lang
