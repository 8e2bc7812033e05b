"""The OpenSearch backend indexes and queries the tokens ``analysis/`` yields for Whoosh.

Without a cluster: what the store sends for a text field, what a query word becomes and
which words a snippet marks. With one (``GOVMAIL_OPENSEARCH_URLS``): the cluster's analyzer
turns what the store sends into exactly the tokens AND positions the Whoosh backend's
``ExactAnalyzer`` indexes, over the sampled archive's texts.
"""

from __future__ import annotations

import os
import uuid

import pytest

from backends.opensearch.highlight import marked
from backends.opensearch.mapping import EXACT_ANALYZER, exact_tokens, from_source, to_source
from backends.opensearch.translate import to_dsl
from core import query as q
from core.errors import QueryError

URL_TEXT = "See https://www.icann.org/resources/x and the governance of 互联网治理 now"


def test_a_text_field_goes_as_exact_tokens_stems_and_the_text_as_written() -> None:
    document = {"message_id": "<a@x>", "original": URL_TEXT, "lang": "en", "subject": ""}
    source = to_source(document)
    assert source["original"] == (
        "see www.icann.org|icann.org|www|icann|org|https resources x governance "
        "互联 联网 网治 治理 now")
    assert source["original_stem"] == "en:see en:governance en:now"
    assert from_source(source) == document


def test_stems_follow_the_message_language() -> None:
    source = to_source({"original": "Les gouvernements", "lang": "fr"})
    assert source["original_stem"] == "fr:le fr:gouvernement"


def test_a_word_is_its_exact_form_boosted_or_its_stem_in_every_language() -> None:
    dsl = to_dsl(q.Term("original", "Governments"), ("en", "fr"))
    should = dsl["bool"]["should"]
    assert should[0] == {"term": {"original": {"value": "governments", "boost": 2.0}}}
    assert [c["term"]["original_stem"]["value"] for c in should[1:]] == [
        "en:government", "fr:government"]


def test_a_quoted_word_is_its_exact_form_and_a_split_word_a_phrase() -> None:
    assert to_dsl(q.Phrase("original", "Governance")) == {
        "term": {"original": {"value": "governance", "boost": 3.0}}}
    assert to_dsl(q.Term("original", "民间社会")) == {"match_phrase": {"original": {
        "query": "民间 间社 社会", "slop": 0, "boost": 1.0}}}


def test_stop_words_drop_out_and_a_query_of_only_them_is_refused() -> None:
    kept = to_dsl(q.And((q.Term("original", "the"), q.Term("original", "dns"))))
    assert kept["bool"]["must"] == [
        {"bool": {"should": [{"term": {"original": {"value": "dns", "boost": 2.0}}},
                             {"term": {"original_stem": {"value": "en:dns", "boost": 1.0}}}],
                  "minimum_should_match": 1}}]
    with pytest.raises(QueryError):
        to_dsl(q.Term("original", "the"))


def test_snippets_mark_exact_words_stems_patterns_and_url_parts() -> None:
    text = "The Governments met. Governance was the topic; see https://www.icann.org/x."
    parts = marked(text, {"icann"}, {"en:government"}, "en")
    assert parts is not None
    assert [t for t, hit in parts if hit] == ["Governments", "https://www.icann.org/x"]
    parts = marked(text, {"governanc*"}, set(), "en")
    assert parts is not None and [t for t, hit in parts if hit] == ["Governance"]
    assert marked(text, {"whois"}, set(), "en") is None


@pytest.mark.opensearch
def test_the_cluster_indexes_whooshs_tokens_at_whooshs_positions() -> None:
    urls = [u for u in os.environ.get("GOVMAIL_OPENSEARCH_URLS", "").split(",") if u]
    if not urls:
        pytest.skip("no OpenSearch cluster: set GOVMAIL_OPENSEARCH_URLS (.ci/run starts one)")
    opensearchpy = pytest.importorskip("opensearchpy")
    from backends.opensearch.mapping import index_body
    from backends.whoosh.schema import EXACT_ANALYZER as WHOOSH_EXACT
    from tests.search.sampled import sample_messages

    texts = [URL_TEXT, "mail jane.doe@example.org, "
             "or www.example.net/a/b; Ещё délégués"]
    texts += [m.original_text for m in sample_messages(300, seed=11)]
    client = opensearchpy.OpenSearch(urls)
    index = f"govmail-analysis-{uuid.uuid4().hex[:8]}"
    client.indices.create(index=index, body=index_body())
    try:
        for text in texts:
            want = [(t.text, t.pos) for t in WHOOSH_EXACT(text, positions=True, mode="index")]
            found = client.indices.analyze(index=index, body={
                "analyzer": EXACT_ANALYZER, "text": exact_tokens(text)})["tokens"]
            assert sorted((t["token"], t["position"]) for t in found) == sorted(want), text
    finally:
        client.indices.delete(index=index)
        client.close()


@pytest.mark.opensearch
def test_an_index_of_the_first_analysis_is_refused_with_one_line(tmp_path) -> None:
    from backends.opensearch.reader import OpenSearchReader
    from backends.opensearch.store import OpenSearchStore
    from core.errors import IndexFormatError
    from tests.backends.conftest import settings_for

    settings = settings_for("opensearch", tmp_path)
    opensearchpy = pytest.importorskip("opensearchpy")
    client = opensearchpy.OpenSearch(list(settings.opensearch_url))
    # The first mapping recorded no analysis version.
    client.indices.create(index=settings.opensearch_index, body={"mappings": {
        "properties": {"original": {"type": "text"}}}})
    try:
        with pytest.raises(IndexFormatError, match="text analysis version 1 "):
            OpenSearchReader(settings)
        with pytest.raises(IndexFormatError, match="move the alias"):
            OpenSearchStore(settings)
    finally:
        client.indices.delete(index=settings.opensearch_index)
        client.close()
