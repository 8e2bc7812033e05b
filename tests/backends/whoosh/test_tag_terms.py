"""A language's few stems in a segment are read as one run of the term index instead of
looked up one by one (backends/whoosh/codec.py prefix_terms, matching's SegmentArrays):
the run holds what the look-ups find, and searches answer the same either way."""

from __future__ import annotations

from pathlib import Path

import pytest

from backends.whoosh import matching
from backends.whoosh.codec import field_terms, prefix_terms, term_info
from core.config import Settings
from core.results import SearchRequest
from search.engine import Engine
from tests.index.test_writer import make_message
from tests.search.sampled import sample_messages, write_index

# A few messages in other languages beside the sample's English: the runs of those stems.
OTHER_LANGUAGES = (
    "La gouvernance de l'internet est une question politique importante pour les "
    "gouvernements et la société civile, disent les délégués du forum.",
    "Управление интернетом является важным политическим вопросом для правительств и "
    "гражданского общества, говорят делегаты форума.",
    "Die Verwaltung des Internets ist eine wichtige politische Frage für die Regierungen "
    "und die Zivilgesellschaft, sagen die Delegierten des Forums.",
)


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    found = tmp_path_factory.mktemp("tags") / "index"
    messages = sample_messages(400, seed=31)
    others = [make_message(9000 + n, text=f"{OTHER_LANGUAGES[n % 3]} ({n})",
                           message_id=f"<other{n}@example.org>") for n in range(30)]
    # Two commits: two segments, so each has runs of its own.
    write_index(found, messages[:200] + others[:15])
    write_index(found, messages[200:] + others[15:])
    return found


def _tags(reader: object, name: str) -> dict[bytes, int]:
    found: dict[bytes, int] = {}
    for btext, _info in field_terms(reader, name):
        tag = btext[: btext.index(b":") + 1]
        found[tag] = found.get(tag, 0) + 1
    return found


def test_a_run_holds_every_term_of_its_prefix_with_its_postings(index_dir: Path) -> None:
    engine = Engine(Settings(index_dir=index_dir))
    leaves = engine.reader._searcher.reader().leaf_readers()
    assert len(leaves) >= 2
    languages = set()
    for reader, _offset in leaves:
        for name in ("original_stem", "subject_stem"):
            tags = _tags(reader, name)
            languages.update(tags)
            for tag, count in tags.items():
                run = prefix_terms(reader, name, tag, count)
                assert run is not None and len(run) == count
                for btext, info in run.items():
                    looked_up = term_info(reader, name, btext)
                    assert btext.startswith(tag)
                    assert info.doc_frequency() == looked_up.doc_frequency()
                    assert info.extent() == looked_up.extent()
                # One more term than the limit: looked up instead.
                assert prefix_terms(reader, name, tag, count - 1) is None
            assert prefix_terms(reader, name, b"zz:", 10) == {}
        assert prefix_terms(reader, "no_such_field", b"en:", 10) == {}
    # The sample writes several languages, so minority runs are exercised.
    assert len(languages) >= 3
    engine.close()


def test_searches_answer_the_same_with_runs_and_with_look_ups(
    index_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def answers() -> list[tuple[int, list[str]]]:
        engine = Engine(Settings(index_dir=index_dir), results_cached=0)
        words = ["governance", "internet", "gouvernance", "интернетом", "cooperation",
                 "multistakeholder", "regierungen", "politique", "policy rights", "delegates"]
        try:
            found = []
            for word in words:
                results = engine.search(SearchRequest(word, with_facets=False,
                                                      highlight=False, page_size=50))
                found.append((results.total, [h.message_id for h in results.hits]))
            return found
        finally:
            engine.close()

    with_runs = answers()
    assert sum(total for total, _ in with_runs) > 50
    monkeypatch.setattr(matching, "_SPARSE_TAG_MAX", -1)
    assert answers() == with_runs
