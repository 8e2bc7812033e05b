"""What the Whoosh backend runs for words under the current analysis (STEM_SOME)."""

from __future__ import annotations

from backends.whoosh.schema import build_schema
from backends.whoosh.translate import to_whoosh
from search.query import parse


def whoosh(text: str, languages: tuple[str, ...] = ("en",)) -> str:
    return str(to_whoosh(parse(text).query, build_schema(), languages))


def test_a_bare_word_is_its_exact_form_or_its_stems() -> None:
    assert whoosh("Governments", ("en", "fr")) == (
        "(original:governments^2.0 OR original_stem:en:government"
        " OR original_stem:fr:government OR subject:governments^2.0"
        " OR subject_stem:en:government OR subject_stem:fr:government)"
    )


def test_a_quoted_word_and_a_phrase_are_exact_forms() -> None:
    assert whoosh('"Governance"') == "(original:governance^3.0 OR subject:governance^3.0)"
    # (Whoosh's str() of a phrase omits its boost.)
    assert whoosh('"root zones"') == '(original:"root zones" OR subject:"root zones")'


def test_wildcards_run_on_folded_exact_forms() -> None:
    assert whoosh("Gouvernanç*") == "(original:gouvernanc* OR subject:gouvernanc*)"


def test_split_words_are_phrases_of_their_parts() -> None:
    assert whoosh("subject:隐私政策") == 'subject:"隐私 私政 政策"'
    assert whoosh("subject:icann.org/resources") == 'subject:"icann.org resources"'


def test_names_are_folded_never_stemmed() -> None:
    assert whoosh("from:Parminder") == "author_text:parminder"
    assert whoosh('quotes:"Kurt Hornik"') == 'quoted_author_text:"kurt hornik"'


def test_the_first_analyzers_index_is_queried_as_it_was_built() -> None:
    legacy = build_schema(legacy=True)
    assert str(to_whoosh(parse("governments").query, legacy)) == (
        "(original:govern OR subject:govern)"
    )
    assert str(to_whoosh(parse('quotes:"Kurt Hornik"').query, legacy)) == (
        "quoted_author:Kurt Hornik"
    )
