"""The one description of the index: every field, what it holds, how it is queried and faceted.

The Whoosh schema (``backends/whoosh/schema.py``), any other engine's mapping, the query
language's prefixes (``search/query.py``), the facets (``search/facets.py``), the web's
parameters and the ``/help`` page all read this table; a fact about a field is written here
and nowhere else.

Kinds, engine-neutral:

- ``id``: one exact value (a Message-ID, a year); matched as written.
- ``keyword``: several exact values (lists, quoted authors), stored comma-separated.
- ``text``: words, analysed (folded, stemmed); phrases and prefixes work on it.
- ``date``: a UTC instant; ranges and sorting.
- ``blob``: stored for the views, never searched.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["id", "keyword", "text", "date", "blob"]


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    kind: Kind
    help: str
    # Query-language prefixes that reach this field (besides its own name).
    prefixes: tuple[str, ...] = ()
    stored: bool = True
    # The facet's name (a web parameter, a `--filter` key) and label, when it is one.
    facet: str | None = None
    facet_label: str | None = None
    # keyword fields: values compared lowercased (list names are case-free).
    lowercase: bool = False
    # text fields: weight in ranking, and whether word positions are kept (phrases).
    boost: float = 1.0
    phrases: bool = True
    # keyword fields: what separates the values in the stored string.
    separator: str = ","
    # The document key: one document per value.
    unique: bool = False
    # Fields the views count but the sidebar does not show: cached per document like
    # facets (the author page lists addresses and affiliations, a references page the
    # parts quoted).
    column: bool = False
    # keyword fields: how a query value becomes an index value ("reference": through
    # core.refkeys.query_key, so `cites:"Tunis Agenda 76"` means tunis-agenda/76).
    normalize: str | None = None
    # text fields: also indexed as language-tagged stems in a sub-field (STEMMED), so a
    # word matches its exact form (ranked higher) or its stem; names are never stemmed.
    stems: bool = False

    @property
    def multi_valued(self) -> bool:
        return self.kind == "keyword"


FIELDS: tuple[Field, ...] = (
    Field("message_id", "id", "Message-ID", ("id",), unique=True),
    Field("thread_id", "id", "Message-ID of the thread's root", ("thread",)),
    Field("parent_id", "id", "Message-ID of the message this one replies to, in its thread"),
    Field(
        "list", "keyword", "list names (several when cross-posted)", ("list",),
        facet="list", facet_label="List", lowercase=True,
    ),
    Field("author", "id", "canonical author name (exact)", facet="author",
          facet_label="Author"),
    Field("email", "id", "author address, lowercase", column=True),
    Field(
        "author_text", "text", "author names and addresses, for from:/author:",
        ("from", "author"), stored=False,
    ),
    Field("group", "id", "stakeholder group of the author", ("group",), facet="group",
          facet_label="Stakeholder group"),
    Field("affiliation", "id", "affiliation of the author", column=True),
    Field("date", "date", "date in UTC", ("date",)),
    Field("year", "id", "year, e.g. 2010", facet="year", facet_label="Year"),
    Field("month", "id", "month, e.g. 2010-02", facet="month", facet_label="Month"),
    Field("subject", "text", "subject", ("subject",), boost=2.0, stems=True),
    Field("subject_normalized", "id", "subject without Re:/Fwd:/[list]"),
    Field("original", "text", "the author's own words (default field)", stems=True),
    Field("quoted", "text", "quoted text, every depth", ("quoted",), stems=True),
    Field(
        "quoted_author", "keyword", "authors quoted by the message",
        facet="quoted_author", facet_label="Quoted author",
    ),
    Field(
        "cites", "keyword", "documents cited in the author's own words, and document/part "
        "(tunis-agenda, tunis-agenda/76)", ("cites",), facet="cites",
        facet_label="Cited document", lowercase=True, normalize="reference",
    ),
    Field(
        "quoted_cites", "keyword", "documents and parts cited in quoted text",
        ("quoted_cites",), lowercase=True, normalize="reference", column=True,
    ),
    Field(
        "mentions", "keyword", "organisations named, own or quoted text (itu, ecosoc)",
        ("mentions",), facet="mentions", facet_label="Organisation", lowercase=True,
        normalize="reference",
    ),
    Field(
        "quoted_author_text", "text", "names of the quoted authors, for quotes: (any case)",
        ("quotes",), stored=False,
    ),
    Field("lang", "id", "language of the author's own words (ISO 639-1, und when unsure)",
          ("lang",), facet="lang", facet_label="Language"),
    Field("signature", "text", "signature"),
    Field("footer", "blob", "list footer"),
    Field("in_reply_to", "id", "In-Reply-To"),
    Field("references", "keyword", "References, space-separated", separator=" "),
    # Structured data the views need, stored as JSON text, never searched.
    Field("quotes_json", "blob", "quote blocks as JSON"),
    Field("charset_json", "blob", "charset report as JSON"),
    Field("attachments_json", "blob", "attachments as JSON"),
    Field("source_json", "blob", "source location as JSON"),
    Field("meta_json", "blob", "author source, date source, notes as JSON"),
    Field("reference_spans_json", "blob",
          "where each cites/mentions value stands in the own words or a quote, as JSON"),
    Field("headers", "blob", "decoded header block"),
)

BY_NAME: dict[str, Field] = {f.name: f for f in FIELDS}

# The order the sidebar, the JSON and the CLI show facets in.
_FACET_ORDER = (
    "author", "list", "year", "month", "quoted_author", "group", "cites", "mentions", "lang",
)
# Facet name -> field name.
FACETS: dict[str, str] = {
    facet: f.name for facet in _FACET_ORDER for f in FIELDS if f.facet == facet
}
assert len(FACETS) == sum(1 for f in FIELDS if f.facet), "a facet is missing from _FACET_ORDER"
FACET_LABELS: dict[str, str] = {f.facet: f.facet_label or f.facet for f in FIELDS if f.facet}
# Every per-document value an engine keeps for counting: facets and view-only columns.
COLUMNS: dict[str, str] = {**FACETS, **{f.name: f.name for f in FIELDS if f.column}}
MULTI_VALUED: frozenset[str] = frozenset(f.name for f in FIELDS if f.multi_valued)
# Shown in time order (a timeline), not by count.
CHRONOLOGICAL: frozenset[str] = frozenset({"year", "month"})

# Bare words search these; `all:` adds the quoted text.
DEFAULT_FIELDS: tuple[str, ...] = ("original", "subject")
QUOTED_DEFAULT_FIELDS: tuple[str, ...] = (*DEFAULT_FIELDS, "quoted")
ALL_FIELDS: tuple[str, ...] = ("original", "quoted", "subject")
TEXT_FIELDS: frozenset[str] = frozenset(f.name for f in FIELDS if f.kind == "text")
# Text field -> its stem sub-field (an engine may keep it as it likes; Whoosh: a field).
STEMMED: dict[str, str] = {f.name: f"{f.name}_stem" for f in FIELDS if f.stems}
STORED_FIELDS: tuple[str, ...] = tuple(f.name for f in FIELDS if f.stored)

# Query prefix -> field name. `all` is the query language's own (search/query.py).
PREFIXES: dict[str, str] = {p: f.name for f in FIELDS for p in f.prefixes}
