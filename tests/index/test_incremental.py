"""Issue 6: reindex reads only what is new, from mbox tails and new Maildir files."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

import index.incremental as incremental
from core.config import Settings, SourceConfig
from core.errors import ConfigError
from index.catalog import Catalog
from index.incremental import parse_interval, reindex_configured, watch_configured
from sample.generator import SampleMessage, generate, write_maildir, write_mbox
from tests.index.test_indexer import bare
from tests.indexing import document_count, stored_documents


def _truth(count: int, seed: int) -> list[SampleMessage]:
    """Messages with a Message-ID, one copy each: the count of new records is exact."""
    return [m for m in generate(count, seed) if m.message_id and not m.is_bare_body]


def _settings(tmp: Path, mbox: Path, maildir: Path, **extra: object) -> Settings:
    return Settings(
        index_dir=tmp / "ix",
        jobs=1,
        sources=(SourceConfig(mbox, "governance"), SourceConfig(maildir, "igf-discuss")),
        **extra,  # type: ignore[arg-type]
    )


def _ids(index_dir: Path) -> list[str]:
    ids = sorted(stored_documents(index_dir))
    assert document_count(index_dir) == len(ids), "a Message-ID is indexed twice"
    return ids


def _forbid_reading(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"a no-op reindex opened {args[:1]}")

    monkeypatch.setattr(incremental, "open", refuse, raising=False)
    monkeypatch.setattr(incremental, "_read", refuse)


def test_appended_mbox_and_new_maildir_files(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    truth = _truth(1000, 11)
    old, appended, fresh = truth[:300], truth[300:800][:500], truth[800:][:100]
    assert (len(appended), len(fresh)) == (500, 100)
    mbox, maildir = tmp_path / "src" / "governance.mbox", tmp_path / "src" / "igf"
    write_mbox(mbox, old[:200])
    write_maildir(maildir, old[200:])
    settings = _settings(tmp_path, mbox, maildir)

    first = reindex_configured(settings, progress=False)
    assert (first.read, first.indexed, first.duplicates, first.reported) == (300, 300, 0, 0)

    write_mbox(mbox, appended, append=True)
    write_maildir(maildir, fresh)
    second = reindex_configured(settings, progress=False)
    assert (second.read, second.indexed, second.duplicates, second.reported) == (600, 600, 0, 0)
    assert sorted(_ids(settings.index_dir)) == sorted(bare(m.message_id) for m in truth[:900])

    # Sources point at the real files with real offsets, not at scratch copies.
    catalog = Catalog(settings.index_dir)
    row = catalog.get(bare(appended[0].message_id))
    assert row.source_path == str(mbox.resolve())
    with open(mbox, "rb") as handle:
        handle.seek(int(row.source_key))
        assert handle.read(5) == b"From "
    fresh_row = catalog.get(bare(fresh[0].message_id))
    assert fresh_row.source_path == str(maildir.resolve())
    assert (maildir / fresh_row.source_key).is_file()
    catalog.close()

    _forbid_reading(monkeypatch)
    third = reindex_configured(settings, progress=False)
    assert (third.read, third.indexed) == (0, 0)


def test_rewritten_or_truncated_mbox_is_read_again_and_deduplicated(tmp_path: Path) -> None:
    truth = _truth(200, 12)
    mbox, maildir = tmp_path / "governance.mbox", tmp_path / "igf"
    write_mbox(mbox, truth[:100])
    write_maildir(maildir, [])
    settings = _settings(tmp_path, mbox, maildir)
    assert reindex_configured(settings, progress=False).indexed == 100
    # Truncated to 50 messages, then 30 new ones: same size class, different bytes.
    write_mbox(mbox, truth[:50] + truth[100:130])
    report = reindex_configured(settings, progress=False)
    assert (report.read, report.indexed, report.duplicates) == (80, 30, 50)
    # A Maildir message moving from new/ to cur/ with flags is not new.
    write_maildir(maildir, truth[130:140])
    assert reindex_configured(settings, progress=False).indexed == 10
    for path in (maildir / "new").iterdir():
        path.rename(maildir / "cur" / (path.name + ":2,S"))
    assert reindex_configured(settings, progress=False).read == 0
    assert len(_ids(settings.index_dir)) == 140


def test_watch_runs_and_stops(tmp_path: Path) -> None:
    truth = _truth(20, 13)
    mbox, maildir = tmp_path / "governance.mbox", tmp_path / "igf"
    write_mbox(mbox, truth)
    write_maildir(maildir, [])
    settings = _settings(tmp_path, mbox, maildir)
    assert watch_configured(settings, "1s", runs=2) == 2
    assert len(_ids(settings.index_dir)) == len(truth)
    assert parse_interval("15m") == 900.0
    assert parse_interval("1.5h") == 5400.0
    with pytest.raises(ConfigError, match="bad interval 'soon'"):
        parse_interval("soon")
    with pytest.raises(ConfigError, match="no \\[\\[source\\]\\] configured"):
        reindex_configured(Settings(index_dir=tmp_path / "other"))


@pytest.fixture(scope="session")
def big_index(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A 20,000-message archive (mbox + Maildir), indexed once per session."""
    tmp = tmp_path_factory.mktemp("big")
    truth = [m for m in generate(20_000, 21) if not m.is_bare_body]
    mbox, maildir = tmp / "governance.mbox", tmp / "igf"
    write_mbox(mbox, truth[:10_000])
    write_maildir(maildir, truth[10_000:])
    settings = Settings(
        index_dir=tmp / "ix",
        sources=(SourceConfig(mbox, "governance"), SourceConfig(maildir, "igf-discuss")),
    )
    report = reindex_configured(settings, progress=False)
    assert report.read == len(truth)
    return settings


@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("GOVMAIL_TEST_20K"),
                    reason="builds a 20,000-message index (minutes); set GOVMAIL_TEST_20K=1")
def test_noop_reindex_of_20k_takes_under_a_second(big_index: Settings,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    _forbid_reading(monkeypatch)
    timings = []
    for _ in range(3):
        started = time.monotonic()
        report = reindex_configured(big_index, progress=False)
        timings.append(time.monotonic() - started)
        assert (report.read, report.indexed) == (0, 0)
    assert min(timings) < 1.0, timings
