"""The OpenSearch index: settings, analyzers and mappings, all from the field table.

Text is analysed in Python by ``analysis/``, the same code the Whoosh backend's analyzers
wrap, so both engines index the same tokens at the same positions and one place decides
how a field's value becomes tokens. ``to_source`` sends each text field pre-analysed:

- ``<field>``: the exact forms (``analysis.text.positioned``), one position a word, space-
  joined; the extras a position holds (a URL's host labels and suffixes, an address's parts)
  are joined to their main token by ``|`` (no token holds one: tokens come from runs of word
  characters and ``.@:/+-``). The analyzer is the ``whitespace`` tokenizer then a
  ``pattern_capture`` filter that splits such a group into tokens at the SAME position, as
  Whoosh indexes them; positions are kept where the field table says phrases, so
  ``match_phrase`` sees Whoosh's renumbered positions (stop words leave no gap).
- ``<field>_stem`` (``core.fields.STEMMED``): the language-tagged stems
  (``analysis.stem.indexed_stems``, in the message's ``lang``), ``whitespace`` tokenized,
  without positions (``index_options: freqs``).
- ``raw``: the texts as written, in a disabled object: kept for views and snippets, never
  indexed. The token fields are left out of ``_source`` (``excludes``): nothing reads them
  back, and they would double what a document stores.

``lang`` (and every other ``id``/``keyword`` field) is a ``keyword``, with a lowercase
normalizer where the field table says so; stored-only fields are kept in ``_source`` and not
indexed. An index built by the first mapping (OpenSearch's own Porter analyzer) is not read
by this one: rebuild it (``ANALYSIS_VERSION`` is kept in the index's ``_meta``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from analysis import ANALYSIS_VERSION
from analysis.stem import indexed_stems
from analysis.text import positioned
from core.fields import FIELDS, STEMMED, Field

EXACT_ANALYZER = "govmail_exact"
STEM_ANALYZER = "govmail_stems"
# The disabled object holding the texts as written.
RAW = "raw"
# Joins the extras at a position to its main token (see the module's docstring).
SAME_POSITION = "|"
# Deep pages: max_page (500) x max_page_size (100) results must be reachable by from/size.
MAX_RESULT_WINDOW = 50_000

_TEXTS = tuple(f.name for f in FIELDS if f.kind == "text")
assert RAW not in {f.name for f in FIELDS}, "the raw-text object's name is a field's"


def _property(field: Field) -> dict[str, Any]:
    if field.kind == "text":
        prop: dict[str, Any] = {"type": "text", "analyzer": EXACT_ANALYZER,
                                "search_analyzer": "whitespace"}
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


def properties() -> dict[str, Any]:
    """Every field's mapping: the field table's, their stem sub-fields and the raw texts."""
    found = {f.name: _property(f) for f in FIELDS}
    for f in FIELDS:
        if f.name in STEMMED:
            found[STEMMED[f.name]] = {"type": "text", "analyzer": STEM_ANALYZER,
                                      "index_options": "freqs"}
    found[RAW] = {"type": "object", "enabled": False}
    return found


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
                "filter": {
                    "govmail_same_position": {
                        "type": "pattern_capture",
                        "patterns": [f"([^{SAME_POSITION}]+)"],
                        "preserve_original": False,
                    },
                },
                "analyzer": {
                    EXACT_ANALYZER: {"type": "custom", "tokenizer": "whitespace",
                                     "filter": ["govmail_same_position"]},
                    STEM_ANALYZER: {"type": "custom", "tokenizer": "whitespace"},
                },
                "normalizer": {
                    "govmail_lowercase": {"type": "custom", "filter": ["lowercase"]},
                },
            },
        },
        "mappings": {
            "dynamic": "strict",
            "_meta": {"analysis_version": ANALYSIS_VERSION},
            "_source": {"excludes": [*_TEXTS, *STEMMED.values()]},
            "properties": properties(),
        },
    }


def exact_tokens(text: str) -> str:
    """A text field's value as its exact field takes it (see the module's docstring)."""
    return " ".join(SAME_POSITION.join(group) for group in positioned(text))


_KEYWORDS = {f.name: f.separator for f in FIELDS if f.kind == "keyword"}
_DATES = frozenset(f.name for f in FIELDS if f.kind == "date")
_TEXT_NAMES = frozenset(_TEXTS)
_STEM_NAMES = frozenset(STEMMED.values())


def to_source(document: dict[str, Any]) -> dict[str, Any]:
    """An index document (``index/document.py``) as OpenSearch stores it: texts pre-analysed
    beside the texts as written, lists as arrays, dates as ISO 8601 in UTC."""
    source: dict[str, Any] = {}
    raw: dict[str, Any] = {}
    lang = document.get("lang")
    for name, value in document.items():
        if name in _TEXT_NAMES:
            raw[name] = value
            if isinstance(value, str) and value:
                source[name] = exact_tokens(value)
                if name in STEMMED:
                    source[STEMMED[name]] = " ".join(indexed_stems(value, lang))
        elif name in _KEYWORDS and isinstance(value, str):
            source[name] = [v for v in value.split(_KEYWORDS[name]) if v]
        elif name in _DATES and isinstance(value, datetime):
            source[name] = value.replace(tzinfo=None).isoformat(timespec="microseconds")
        else:
            source[name] = value
    if raw:
        source[RAW] = raw
    return source


def from_source(source: dict[str, Any]) -> dict[str, Any]:
    """What ``to_source`` stored, back as the Whoosh backend returns stored fields."""
    document: dict[str, Any] = dict(source.get(RAW) or {})
    for name, value in source.items():
        if name == RAW or name in _TEXT_NAMES or name in _STEM_NAMES:
            continue
        if name in _KEYWORDS and isinstance(value, list):
            document[name] = _KEYWORDS[name].join(value)
        elif name in _DATES and isinstance(value, str):
            document[name] = datetime.fromisoformat(value).replace(tzinfo=None)
        else:
            document[name] = value
    return document
