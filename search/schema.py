"""The Whoosh schema, declared as one table that also drives the query language's help.

This module is a leaf: the indexer imports it to build documents, the query layer
to parse queries, and nothing here imports the rest of govmail.
"""

from __future__ import annotations

from dataclasses import dataclass

from whoosh import fields
from whoosh.analysis import (
    CharsetFilter,
    LowercaseFilter,
    RegexTokenizer,
    StemFilter,
    StopFilter,
)
from whoosh.support.charset import accent_map

# English stemming with accents folded, so "Délégué" matches "delegue" and
# "governments" matches "government". Accents are folded BEFORE stemming: folded
# after (StemmingAnalyzer() | CharsetFilter), "Délégué" indexed as "delegue" while a
# typed "delegue" stemmed to "delegu", and the two never met.
TEXT_ANALYZER = (
    RegexTokenizer()
    | LowercaseFilter()
    | CharsetFilter(accent_map)
    | StopFilter()
    | StemFilter(cachesize=50000)
)


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    kind: fields.FieldType
    help: str
    # Query-language prefixes that reach this field (besides its own name).
    prefixes: tuple[str, ...] = ()
    facet: bool = False


FIELDS: tuple[Field, ...] = (
    Field("message_id", fields.ID(stored=True, unique=True), "Message-ID", ("id",)),
    Field("thread_id", fields.ID(stored=True), "Message-ID of the thread's root", ("thread",)),
    Field(
        "list",
        fields.KEYWORD(stored=True, commas=True, lowercase=True, scorable=False),
        "list names (several when cross-posted)",
        ("list",),
        facet=True,
    ),
    Field("author", fields.ID(stored=True), "canonical author name (exact)", facet=True),
    Field("email", fields.ID(stored=True), "author address, lowercase"),
    Field(
        "author_text",
        fields.TEXT(analyzer=TEXT_ANALYZER, phrase=True),
        "author names and addresses, for from:/author:",
        ("from", "author"),
    ),
    Field("group", fields.ID(stored=True), "stakeholder group of the author", ("group",), facet=True),
    Field("affiliation", fields.ID(stored=True), "affiliation of the author"),
    Field("date", fields.DATETIME(stored=True, sortable=True), "date in UTC", ("date",)),
    Field("year", fields.ID(stored=True), "year, e.g. 2010", facet=True),
    Field("month", fields.ID(stored=True), "month, e.g. 2010-02", facet=True),
    Field(
        "subject",
        fields.TEXT(analyzer=TEXT_ANALYZER, stored=True, field_boost=2.0),
        "subject",
        ("subject",),
    ),
    Field("subject_normalized", fields.ID(stored=True), "subject without Re:/Fwd:/[list]"),
    Field(
        "original",
        fields.TEXT(analyzer=TEXT_ANALYZER, stored=True),
        "the author's own words (default field)",
    ),
    Field(
        "quoted",
        fields.TEXT(analyzer=TEXT_ANALYZER, stored=True),
        "quoted text, every depth",
        ("quoted",),
    ),
    Field(
        "quoted_author",
        fields.KEYWORD(stored=True, commas=True, scorable=False),
        "authors quoted by the message",
        ("quotes",),
        facet=True,
    ),
    Field("signature", fields.TEXT(analyzer=TEXT_ANALYZER, stored=True), "signature"),
    Field("footer", fields.STORED(), "list footer"),
    Field("in_reply_to", fields.ID(stored=True), "In-Reply-To"),
    Field("references", fields.KEYWORD(stored=True, scorable=False), "References, space-separated"),
    # Structured data the views need, stored as JSON text, never searched.
    Field("quotes_json", fields.STORED(), "quote blocks as JSON"),
    Field("charset_json", fields.STORED(), "charset report as JSON"),
    Field("attachments_json", fields.STORED(), "attachments as JSON"),
    Field("source_json", fields.STORED(), "source location as JSON"),
    Field("meta_json", fields.STORED(), "author source, date source, notes as JSON"),
    Field("headers", fields.STORED(), "decoded header block"),
)

# Facet name -> schema field.
FACET_FIELDS: dict[str, str] = {
    "author": "author",
    "list": "list",
    "year": "year",
    "month": "month",
    "quoted_author": "quoted_author",
    "group": "group",
}

DEFAULT_FIELDS: tuple[str, ...] = ("original", "subject")


def build_schema() -> fields.Schema:
    return fields.Schema(**{f.name: f.kind for f in FIELDS})


SCHEMA = build_schema()
