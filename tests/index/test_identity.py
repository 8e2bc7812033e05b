"""Author identity: addresses, spellings, aliases files and persistence across runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.config import Settings
from core.errors import ConfigError
from core.results import SearchRequest
from index.document import Identity
from index.identity import Aliases, Observation, normalize_name, resolve
from index.writer import IndexWriterSession
from search.engine import Engine
from tests.conftest import DATA
from tests.index.test_writer import make_message
from tests.indexing import stored_documents

ALIASES = DATA / "aliases"


def test_normalize_name_folds_accents_case_quotes_and_comma_order() -> None:
    assert normalize_name('"Müller, Jürgen"') == "jurgen muller"
    assert normalize_name("  Délégué   Ténébreux ") == "delegue tenebreux"
    assert normalize_name("'Parminder'") == "parminder"
    assert normalize_name(None) == ""


def test_same_address_is_one_person_named_by_the_most_frequent_spelling() -> None:
    resolution = resolve([
        Observation("<1>", "W. Kleinwächter", "wolfgang@example.de"),
        Observation("<2>", "Wolfgang Kleinwächter", "Wolfgang@Example.de"),
        Observation("<3>", "Wolfgang Kleinwächter", "wolfgang@example.de"),
        Observation("<4>", "Milton Mueller", "mueller@syr.example"),
    ])
    assert resolution.identity_of("<1>") == Identity(
        name="Wolfgang Kleinwächter",
        email="wolfgang@example.de",
        aliases=("W. Kleinwächter", "Wolfgang Kleinwächter", "wolfgang@example.de"),
    )
    assert resolution.keys["<1>"] == resolution.keys["<2>"] == resolution.keys["<3>"]
    assert resolution.identity_of("<4>").name == "Milton Mueller"


def test_a_name_with_one_address_maps_to_it_and_an_ambiguous_name_does_not() -> None:
    resolution = resolve([
        Observation("<1>", "Anriette Esterhuysen", "anriette@apc.example"),
        Observation("<2>", "anriette esterhuysen", None),
        # One word seen with two addresses: could be two people, stays apart.
        Observation("<3>", "Milton", "milton@a.example"),
        Observation("<4>", "Milton", "mm@b.example"),
        Observation("<5>", "Milton", None),
        Observation("<6>", None, None),
    ])
    assert resolution.keys["<2>"] == resolution.keys["<1>"] == "email:anriette@apc.example"
    assert resolution.identity_of("<2>").name == "Anriette Esterhuysen"
    assert [resolution.keys[m] for m in ("<3>", "<4>", "<5>")] == [
        "email:milton@a.example", "email:mm@b.example", "name:milton"]
    assert resolution.identity_of("<6>") == Identity(name="(unknown)")


def test_a_full_name_joins_its_addresses() -> None:
    resolution = resolve([
        Observation("<1>", "Inés Sánchez", "ines@work.example"),
        Observation("<2>", "Ines Sanchez", "isanchez@home.example"),
        Observation("<3>", "Inés Sánchez", "ines@work.example"),
        Observation("<4>", "Ines Sanchez", None),
        Observation("<5>", "Inés Sánchez", "isanchez@home.example"),
    ])
    assert len({resolution.keys[m] for m in ("<1>", "<2>", "<3>", "<4>", "<5>")}) == 1
    assert resolution.identity_of("<4>") == Identity(
        name="Inés Sánchez",
        email="ines@work.example",
        aliases=("Ines Sanchez", "Inés Sánchez", "ines@work.example", "isanchez@home.example"),
    )


@pytest.mark.parametrize(("first", "second"), [
    (("John Clark", "john.clark@cctldregistry.net"), ("J. Clark", "john.clark50@163.com")),
    (("周静", "zhou@openaccessalliance.int"), ("Jing Zhou", "zhou26@yandex.ru")),
    (("李娜", "nli@rootservers.example"), ("Na Li", "nli77@gmail.com")),
    (("Михаил Попов", "popov@mincom.example"), ("Mikhail Popov", "popov12@mail.ru")),
    (("Ece Kılıç", "ece@bilgi.example"), ("Ece Kilic", "ekilic@gmail.com")),
], ids=["initial", "han-script", "initial-and-surname", "cyrillic", "dotless-i"])
def test_a_second_address_with_the_same_local_part_and_a_matching_name_joins(
        first: tuple[str, str], second: tuple[str, str]) -> None:
    resolution = resolve([Observation("<1>", *first), Observation("<2>", *first),
                          Observation("<3>", *second)])
    assert resolution.keys["<1>"] == resolution.keys["<3>"]
    assert resolution.identity_of("<3>").name == first[0]


@pytest.mark.parametrize(("first", "second"), [
    (("Laura Young", "young@example.org"), ("Andrew Young", "young@example.net")),
    (("John Clark", "jclark@example.org"), ("John Clarke", "jclark7@example.net")),
    (("周静", "zhou@example.org"), ("Wei Zhang", "zhou26@example.net")),
    (("Info Desk", "info@icann.example"), ("Press Office", "info2@itu.example")),
], ids=["other-first-name", "other-surname", "other-script-no-link", "role-accounts"])
def test_similar_addresses_of_different_people_stay_apart(
        first: tuple[str, str], second: tuple[str, str]) -> None:
    resolution = resolve([Observation("<1>", *first), Observation("<2>", *second)])
    assert resolution.keys["<1>"] != resolution.keys["<2>"]


def test_the_sample_archive_resolves_to_its_true_authors() -> None:
    from sample.generator import generate

    messages = [m for m in generate(3000, 1) if m.message_id]
    resolution = resolve(Observation(m.message_id, m.author_name, m.author_email)
                         for m in messages)
    keys_of_person: dict[int, set[str]] = {}
    for m in messages:
        keys_of_person.setdefault(m.author_key, set()).add(resolution.keys[m.message_id])
    split = {person: keys for person, keys in keys_of_person.items() if len(keys) > 1}
    assert split == {}
    # The one known merge is the rule "same address = same person": the sample gives
    # two people one shared address.
    persons_of_key: dict[str, set[int]] = {}
    for m in messages:
        persons_of_key.setdefault(resolution.keys[m.message_id], set()).add(m.author_key)
    assert sorted(len(p) for p in persons_of_key.values() if len(p) > 1) == [2]


@pytest.mark.parametrize("name", ["aliases.csv", "aliases.toml"])
def test_aliases_file_merges_addresses_and_assigns_group(name: str) -> None:
    aliases = Aliases.load(ALIASES / name)
    resolution = resolve([
        Observation("<1>", "Parminder", "parminder@itforchange.net"),
        Observation("<2>", "P. J. Singh", "psingh@example.in"),
        Observation("<3>", "Parminder", None),
        Observation("<4>", "B. de La Chapelle", "BdelaChapelle@example.fr"),
    ], aliases)
    parminder = resolution.identity_of("<1>")
    assert parminder == Identity(
        name="Parminder Jeet Singh",
        email="parminder@itforchange.net",
        group="civil society",
        affiliation="IT for Change",
        aliases=("P. J. Singh", "Parminder", "parminder@itforchange.net", "psingh@example.in"),
    )
    assert resolution.identity_of("<2>") == parminder == resolution.identity_of("<3>")
    assert resolution.identity_of("<4>") == Identity(
        name="Bertrand de La Chapelle",
        email="bdelachapelle@example.fr",
        group="government",
        aliases=("B. de La Chapelle", "bdelachapelle@example.fr"),
    )


def test_aliases_file_errors_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown group 'industry'"):
        Aliases.load(ALIASES / "bad-group.csv")
    with pytest.raises(ConfigError, match="aliases file .*missing.csv"):
        Aliases.load(tmp_path / "missing.csv")


def _authors(index_dir: Path) -> dict[str, tuple]:
    return {mid: (d["author"], d.get("group"), d.get("affiliation"))
            for mid, d in stored_documents(index_dir).items()}


def test_aliases_persist_in_the_catalog_across_runs(tmp_path: Path) -> None:
    settings = Settings(index_dir=tmp_path / "ix", aliases=ALIASES / "aliases.toml")
    with IndexWriterSession(settings) as session:
        session.add(make_message(1, name="Parminder", email="parminder@itforchange.net"))
    # A later run without the aliases file keeps what it said.
    plain = Settings(index_dir=tmp_path / "ix")
    with IndexWriterSession(plain) as session:
        session.add(make_message(2, name="P Singh", email="psingh@example.in"))
    expected = ("Parminder Jeet Singh", "civil society", "IT for Change")
    assert _authors(settings.index_dir) == {"<m1@example.org>": expected,
                                            "<m2@example.org>": expected}
    # from: finds the canonical name on every document, whatever the spelling.
    found = Engine(settings).search(SearchRequest('from:"Jeet Singh"'))
    assert sorted(h.message_id for h in found.hits) == ["<m1@example.org>", "<m2@example.org>"]
