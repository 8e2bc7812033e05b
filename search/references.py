"""What the archive cites: per document, its parts (paragraphs, sections) most cited, by year
and by stakeholder group, own words apart from quoted text; and the documents cited at all.

Every number is a count of messages from the backend (``Engine.tally``: Whoosh's cached
columns or an OpenSearch aggregation), never a walk over stored documents.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

from core import query as q
from core.refkeys import PART_SEPARATOR
from search.engine import Engine

# The columns counted over the messages citing a document (own words, then quoted text).
OWN = "cites"
QUOTED = "quoted_cites"
# The group row of messages whose author has no stakeholder group.
NO_GROUP = "(none)"


@dataclass(frozen=True, slots=True)
class Row:
    """One part, year, group or document: messages citing it in own words and in quotes."""

    key: str
    own: int
    quoted: int

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "own": self.own, "quoted": self.quoted}


@dataclass(frozen=True, slots=True)
class DocumentReferences:
    document: str
    own: int  # messages citing it in their own words
    quoted: int  # messages whose quoted text cites it
    parts: tuple[Row, ...]  # most cited (own words) first
    years: tuple[Row, ...]  # in time order
    groups: tuple[Row, ...]  # most first, the group-less last

    def to_json(self) -> dict[str, Any]:
        return {
            "document": self.document, "own": self.own, "quoted": self.quoted,
            "parts": [r.to_json() for r in self.parts],
            "years": [r.to_json() for r in self.years],
            "groups": [r.to_json() for r in self.groups],
        }


def part_order(part: str) -> tuple[Any, ...]:
    """Natural order of part keys: 9 before 10, 72 before 72a, 4.2 before 4.10."""
    return tuple((int(p), "") if p.isdigit() else (-1, p)
                 for p in re.findall(r"\d+|[^\d.]+", part))


def _rows(own: Counter[str], quoted: Counter[str]) -> list[Row]:
    return [Row(key, own.get(key, 0), quoted.get(key, 0)) for key in own.keys() | quoted.keys()]


def _parts(counts: Counter[str], document: str) -> Counter[str]:
    prefix = document + PART_SEPARATOR
    return Counter({v[len(prefix):]: n for v, n in counts.items() if v.startswith(prefix)})


def document_references(engine: Engine, document: str) -> DocumentReferences | None:
    """The counts of one document id (``tunis-agenda``); None when no message cites it."""
    columns = ("year", "group")
    own_total, own = engine.tally(q.Term(OWN, document), (OWN, *columns))
    quoted_total, quoted = engine.tally(q.Term(QUOTED, document), (QUOTED, *columns))
    if not own_total and not quoted_total:
        return None
    parts = sorted(_rows(_parts(own[OWN], document), _parts(quoted[QUOTED], document)),
                   key=lambda r: (-r.own, -r.quoted, part_order(r.key)))
    years = sorted(_rows(own["year"], quoted["year"]), key=lambda r: r.key)
    groups = sorted(_rows(own["group"], quoted["group"]),
                    key=lambda r: (-r.own, -r.quoted, r.key))
    none_own = own_total - sum(own["group"].values())
    none_quoted = quoted_total - sum(quoted["group"].values())
    if none_own or none_quoted:
        groups.append(Row(NO_GROUP, none_own, none_quoted))
    return DocumentReferences(document, own_total, quoted_total, tuple(parts), tuple(years),
                              tuple(groups))


def cited_documents(engine: Engine) -> tuple[tuple[Row, ...], dict[str, int]]:
    """Every document cited anywhere, most cited in own words first, and how many of its
    parts are cited (own words or quoted)."""
    _, counts = engine.tally(q.Every(), (OWN, QUOTED))
    own = Counter({v: n for v, n in counts[OWN].items() if PART_SEPARATOR not in v})
    quoted = Counter({v: n for v, n in counts[QUOTED].items() if PART_SEPARATOR not in v})
    parts: Counter[str] = Counter()
    for value in counts[OWN].keys() | counts[QUOTED].keys():
        if PART_SEPARATOR in value:
            parts[value.partition(PART_SEPARATOR)[0]] += 1
    rows = sorted(_rows(own, quoted), key=lambda r: (-r.own, -r.quoted, r.key))
    return tuple(rows), dict(parts)
