"""`govmail migrate --to opensearch`: a Whoosh index into the cluster, through the real CLI.

A small generated archive is indexed into Whoosh; the migration must leave the cluster
answering as Whoosh does (totals and facets, the unstored from:/quotes: fields included),
be idempotent and resumable (documents removed from the cluster are sent again, the rest
skipped), let `govmail index` continue from the copied catalog, and fail with one line
and status 6 when the cluster holds other messages.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.opensearch.conftest import client, drop, govmail, index_name, search_json, stats

pytestmark = [pytest.mark.opensearch, pytest.mark.slow]

MESSAGES = 300


def _configs(folder: Path, urls: list[str], name: str) -> tuple[Path, Path]:
    whoosh = folder / "whoosh.toml"
    whoosh.write_text(f'backend = "whoosh"\nindex_dir = "{folder / "whoosh"}"\n',
                      encoding="utf-8")
    cluster = folder / f"{name}.toml"
    cluster.write_text("\n".join([
        'backend = "opensearch"', f'index_dir = "{folder / (name + "-state")}"',
        "[opensearch]", f"url = {json.dumps(urls)}", f'index = "{name}"',
        "shards = 3", "replicas = 1"]) + "\n", encoding="utf-8")
    return whoosh, cluster


def _migrate(config: Path, whoosh_dir: Path, check: bool = True):
    done = govmail("--config", str(config), "migrate", "--to", "opensearch",
                   "--from", str(whoosh_dir), check=False)
    if check:
        assert done.returncode == 0, done.stderr
    return done


@pytest.fixture(scope="module")
def migrated(tmp_path_factory: pytest.TempPathFactory, urls: list[str]):
    folder = tmp_path_factory.mktemp("migrate")
    archive = folder / "archive"
    govmail("sample", str(archive), "--messages", str(MESSAGES), "--seed", "5")
    whoosh, cluster = _configs(folder, urls, f"osrest-migrate-{folder.name}")
    done = govmail("--config", str(whoosh), "index", "-q", str(archive))
    assert done.returncode == 0, done.stderr
    first = _migrate(cluster, folder / "whoosh")
    yield folder, archive, whoosh, cluster, first.stderr
    drop(urls, cluster)


def _queries(whoosh: Path) -> list[str]:
    """Plain words, and from:/quotes: of real authors (fields Whoosh does not store)."""
    facets = search_json(whoosh, "governance")["facets"]
    authors = [v[0] for v in facets["author"][:4]]
    quoted = [v[0] for v in facets["quoted_author"][:3]]
    return (["governance", '"internet governance"', "icann OR iana", "quoted:privacy"]
            + [f'from:"{a}"' for a in authors]
            + [f'from:{a.split()[-1]}' for a in authors if a.split()]
            + [f'quotes:"{a}"' for a in quoted])


def test_the_cluster_answers_as_whoosh_did(migrated) -> None:
    _, _, whoosh, cluster, report = migrated
    assert f"migrated {MESSAGES} messages" in report and f"{MESSAGES} sent" in report
    assert stats(cluster)["messages"] == stats(whoosh)["messages"] == MESSAGES
    queries = _queries(whoosh)
    assert any(q.startswith("quotes:") for q in queries)
    for query in queries:
        left, right = search_json(whoosh, query), search_json(cluster, query)
        assert left["total"] == right["total"], query
        assert left["facets"] == right["facets"], query
    assert search_json(whoosh, queries[4])["total"] > 0


def test_a_second_run_sends_nothing_and_a_partial_one_is_resumed(migrated, urls) -> None:
    folder, _, _, cluster, _ = migrated
    again = _migrate(cluster, folder / "whoosh")
    assert f"0 sent, {MESSAGES} already there" in again.stderr
    # A run that stopped part way: what the cluster lacks is sent, the rest skipped.
    from backends.opensearch.bulk import bulk_delete

    name = index_name(cluster)
    found = client(urls)
    try:
        hits = found.search(index=name, body={"size": 25, "_source": ["message_id"],
                                              "sort": [{"message_id": "asc"}]})["hits"]["hits"]
        bulk_delete(found, name, [h["_source"]["message_id"] for h in hits], refresh=True)
        assert found.count(index=name)["count"] == MESSAGES - 25
    finally:
        found.close()
    resumed = _migrate(cluster, folder / "whoosh")
    assert f"25 sent, {MESSAGES - 25} already there" in resumed.stderr
    assert stats(cluster)["messages"] == MESSAGES


def test_indexing_continues_from_the_copied_catalog(migrated) -> None:
    _, archive, _, cluster, _ = migrated
    done = govmail("--config", str(cluster), "index", "-q", str(archive))
    assert done.returncode == 0, done.stderr
    assert "indexed 0," in done.stderr
    assert stats(cluster)["messages"] == MESSAGES


def test_a_cluster_holding_other_messages_fails_with_one_line(migrated, urls) -> None:
    folder, _, _, cluster, _ = migrated
    from backends.opensearch.store import OpenSearchStore
    from core import config as config_module

    store = OpenSearchStore(config_module.load(cluster))
    try:
        writer = store.writer(1)
        stranger = dict(store.documents().__next__())
        stranger["message_id"] = "<stranger@example.org>"
        writer.add(stranger)
        writer.commit()
    finally:
        store.close()
    try:
        done = _migrate(cluster, folder / "whoosh", check=False)
        assert done.returncode == 6, done.stderr
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("Error: the cluster's index"), done.stderr
        assert f"holds {MESSAGES + 1} messages" in lines[0]
    finally:
        # The other tests of the module compare the cluster with Whoosh again.
        store = OpenSearchStore(config_module.load(cluster))
        try:
            writer = store.writer(1)
            writer.delete("<stranger@example.org>")
            writer.commit()
        finally:
            store.close()
    assert stats(cluster)["messages"] == MESSAGES


def test_migrating_needs_an_opensearch_configuration(migrated) -> None:
    folder, _, whoosh, _, _ = migrated
    done = _migrate(whoosh, folder / "whoosh", check=False)
    assert done.returncode == 2
    assert done.stderr.startswith("Error: govmail migrate --to opensearch needs backend")


# Short prefixes, field:* and leading wildcards: the same refusal, word for word, on both
# backends; the rest answered with the same totals.
EXPANSIONS = ("a*", "quoted:*", "from:*", "*a", "?ov*", "go*", "g?v*", "list:*", "governan*")


def test_expansion_limits_are_the_whoosh_backends(migrated) -> None:
    _, _, whoosh, cluster, _ = migrated
    refused = 0
    for query in EXPANSIONS:
        left, right = (govmail("--config", str(c), "search", query, "--format", "json",
                               check=False) for c in (whoosh, cluster))
        assert (left.returncode, left.stderr) == (right.returncode, right.stderr), query
        if left.returncode == 0:
            assert json.loads(left.stdout)["total"] == json.loads(right.stdout)["total"], query
        else:
            refused += 1
            assert right.stderr.startswith("Error: bad query: "), right.stderr
    assert refused >= 4


def test_the_timeline_is_a_date_histogram_with_whooshs_counts(migrated) -> None:
    from backends.opensearch.reader import _aggregation

    assert "date_histogram" in _aggregation("month") and "date_histogram" in _aggregation("year")
    _, _, whoosh, cluster, _ = migrated
    for query in ("governance", "date:2010", "list:governance", "icann NOT dns"):
        left, right = search_json(whoosh, query), search_json(cluster, query)
        assert left["facets"]["month"] == right["facets"]["month"], query
        assert left["facets"]["year"] == right["facets"]["year"], query
    assert len(search_json(whoosh, "governance")["facets"]["month"]) > 12
