"""A quote links to its source whatever order the archive is read in: a reply indexed
before the message it quotes (another file, a later batch) links once that message comes."""

from __future__ import annotations

from pathlib import Path

from core.config import Settings
from index.pipeline import parse_one
from index.writer import IndexWriterSession
from tests.index.test_quote_links import PARENT, _eml, _linked


def _index(settings: Settings, *batches: list) -> dict[str, list[tuple[str | None, str | None]]]:
    for batch in batches:
        with IndexWriterSession(settings) as session:
            for raw in batch:
                session.add(parse_one(raw, settings))
    return {mid: [(q["message_id"], q["author"]) for q in quotes]
            for mid, quotes in _linked(settings.index_dir).items()}


def test_a_reply_read_before_its_parent_links_when_the_parent_is_indexed(tmp_path: Path) -> None:
    parent = _eml("a", PARENT + "\n")
    reply = _eml("b", f"> {PARENT}\n\nAgreed, and soon.\n", "a", 2)
    # Not a direct reply: found as an earlier message of the same thread.
    later = _eml("c", f"> {PARENT}\n\nWho drafts it?\n", "b", 3)
    reversed_order = _index(Settings(index_dir=tmp_path / "late", lock_timeout=1.0),
                            [later], [reply], [parent])
    together = _index(Settings(index_dir=tmp_path / "one", lock_timeout=1.0),
                      [parent, reply, later])
    assert reversed_order["b@example.org"] == [("a@example.org", "Person a")]
    assert reversed_order["c@example.org"] == [("a@example.org", "Person a")]
    assert reversed_order == together


def test_a_quote_that_gains_its_author_later_is_found_by_quotes_and_its_facet(
    tmp_path: Path,
) -> None:
    """The rewrite that relinks a quote also gives the quoted-author fields that author:
    they are not stored (quotes:) or were written before the author was known (facet)."""
    from core.results import SearchRequest
    from search.engine import Engine

    parent = _eml("a", PARENT + "\n")
    reply = _eml("b", f"> {PARENT}\n\nAgreed, and soon.\n", "a", 2)
    found = {}
    for name, batches in (("late", ([reply], [parent])), ("one", ([parent, reply],))):
        settings = Settings(index_dir=tmp_path / name, lock_timeout=1.0)
        _index(settings, *batches)
        engine = Engine(settings)
        results = engine.search(SearchRequest('quotes:"person a"', highlight=False))
        found[name] = ({hit.message_id for hit in results.hits},
                       {v.value: v.count for v in results.facets.get("quoted_author", ())})
        engine.close()
    assert found["late"] == found["one"]
    assert found["late"][0] == {"b@example.org"}
    assert found["late"][1] == {"Person a": 1}
