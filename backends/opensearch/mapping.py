"""The OpenSearch index: settings, analyzers and mappings, all from the field table.

The text analyzer mirrors the Whoosh backend's (``backends/whoosh/schema.py``) so that both
engines index the same words: runs of word characters joined by inner dots (Whoosh's
``\\w+(\\.?\\w+)*``), lowercased, accents folded (``asciifolding`` for Whoosh's accent map),
words of one character and English stop words dropped, then the original Porter stemmer
(Lucene's ``porter_stem``, the algorithm of ``whoosh.lang.porter``). Everything it needs is
in OpenSearch's ``analysis-common`` module (``contrib/opensearch/cluster.sh`` installs it).

Deliberately not here, because the Whoosh backend does not do them and both engines must
answer the same queries with the same totals (``tests/backends/test_parity.py``): CJK
bigrams (Whoosh keeps a run of CJK characters as one word) and a light stemmer with
overrides keeping governance/government apart (Whoosh's Porter stems both to "govern").
Changing either is one decision for both backends.

Facet and exact fields are ``keyword`` (with a lowercase normalizer where the field table
says so); stored-only fields are kept in ``_source`` and not indexed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from core.fields import FIELDS, Field

TEXT_ANALYZER = "govmail_text"
# Deep pages: max_page (500) x max_page_size (100) results must be reachable by from/size.
MAX_RESULT_WINDOW = 50_000
# Whoosh's StopFilter list (whoosh.analysis.STOP_WORDS), written out because an engine's
# analyzer must not depend on another engine's package: the same words leave both indexes.
STOP_WORDS = (
    "a", "an", "and", "are", "as", "at", "be", "by", "can", "for", "from", "have", "if", "in",
    "is", "it", "may", "not", "of", "on", "or", "tbd", "that", "the", "this", "to", "us", "we",
    "when", "will", "with", "yet", "you", "your",
)


# Java's \w is ASCII unless asked: Python's (Whoosh's) is Unicode, so "在ccwg" is one word.
_FLAGS = "UNICODE_CHARACTER_CLASS|CASE_INSENSITIVE|UNICODE_CASE"
# Whoosh drops stop words and one-character words and renumbers the positions after them
# ("governments of development" holds the phrase "government development"); Lucene's stop
# and length filters leave a gap instead, and no filter closes it. So the analyzer removes
# such words before tokenizing, with the tokenizer's own word boundaries: a word starts
# where no word character (or word character and dot) precedes it and ends where none
# (or dot and word character) follows. The stop and length filters stay as a net.
_DROPPED = (
    r"(?<!\w)(?<!\w\.)(?:" + "|".join(STOP_WORDS) + r"|\w)(?!\w)(?!\.\w)"
)


def _property(field: Field) -> dict[str, Any]:
    if field.kind == "text":
        prop: dict[str, Any] = {"type": "text", "analyzer": TEXT_ANALYZER}
        if not field.phrases:
            prop["index_options"] = "freqs"
        return prop
    if field.kind == "date":
        return {"type": "date", "format": "strict_date_optional_time||epoch_millis"}
    if field.kind == "blob":
        return {"type": "keyword", "index": False, "doc_values": False}
    prop = {"type": "keyword"}
    if field.lowercase:
        prop["normalizer"] = "govmail_lowercase"
    return prop


def index_body(shards: int = 1, replicas: int = 0) -> dict[str, Any]:
    """The body of the create-index request."""
    return {
        "settings": {
            "index": {
                "number_of_shards": shards,
                "number_of_replicas": replicas,
                "max_result_window": MAX_RESULT_WINDOW,
            },
            "analysis": {
                "char_filter": {
                    "govmail_unpositioned": {
                        "type": "pattern_replace",
                        "pattern": _DROPPED,
                        "replacement": "",
                        "flags": _FLAGS,
                    }
                },
                "tokenizer": {
                    "govmail_words": {
                        "type": "pattern",
                        "pattern": r"\w+(\.?\w+)*",
                        "group": 0,
                        "flags": _FLAGS,
                    }
                },
                "filter": {
                    "govmail_stop": {"type": "stop", "stopwords": list(STOP_WORDS)},
                    "govmail_min_length": {"type": "length", "min": 2},
                },
                "analyzer": {
                    TEXT_ANALYZER: {
                        "type": "custom",
                        "char_filter": ["govmail_unpositioned"],
                        "tokenizer": "govmail_words",
                        "filter": [
                            "lowercase", "asciifolding", "govmail_min_length", "govmail_stop",
                            "porter_stem",
                        ],
                    }
                },
                "normalizer": {
                    "govmail_lowercase": {"type": "custom", "filter": ["lowercase"]},
                },
            },
        },
        "mappings": {
            "dynamic": "strict",
            "properties": {f.name: _property(f) for f in FIELDS},
        },
    }


_KEYWORDS = {f.name: f.separator for f in FIELDS if f.kind == "keyword"}
_DATES = frozenset(f.name for f in FIELDS if f.kind == "date")


def to_source(document: dict[str, Any]) -> dict[str, Any]:
    """An index document (``index/document.py``) as OpenSearch stores it: lists as arrays,
    dates as ISO 8601 in UTC."""
    source: dict[str, Any] = {}
    for name, value in document.items():
        if name in _KEYWORDS and isinstance(value, str):
            source[name] = [v for v in value.split(_KEYWORDS[name]) if v]
        elif name in _DATES and isinstance(value, datetime):
            source[name] = value.replace(tzinfo=None).isoformat(timespec="microseconds")
        else:
            source[name] = value
    return source


def from_source(source: dict[str, Any]) -> dict[str, Any]:
    """What ``to_source`` stored, back as the Whoosh backend returns stored fields."""
    document: dict[str, Any] = {}
    for name, value in source.items():
        if name in _KEYWORDS and isinstance(value, list):
            document[name] = _KEYWORDS[name].join(value)
        elif name in _DATES and isinstance(value, str):
            document[name] = datetime.fromisoformat(value).replace(tzinfo=None)
        else:
            document[name] = value
    return document
