"""The engine-neutral query tree: what the query language produces and every backend translates.

Leaves hold what the user wrote for one field (a word, a phrase's text, a prefix), not
index terms: each backend analyses them with its own analyzer for that field (Whoosh in
``backends/whoosh/translate.py``, OpenSearch server-side). Exact fields (ids, lists,
authors) are matched as written, lowercased where the field table says so.

Nodes are frozen and hashable, so parsed queries can be cached and compared.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Term:
    field: str
    text: str
    boost: float = 1.0


@dataclass(frozen=True, slots=True)
class Phrase:
    """Words in order; ``slop`` is how many positions apart neighbours may be (1 = adjacent)."""

    field: str
    text: str
    slop: int = 1
    boost: float = 1.0


@dataclass(frozen=True, slots=True)
class Prefix:
    field: str
    text: str
    boost: float = 1.0


@dataclass(frozen=True, slots=True)
class Wildcard:
    """A pattern with ``*`` (any run) and ``?`` (one character) not only at the end."""

    field: str
    pattern: str
    boost: float = 1.0


@dataclass(frozen=True, slots=True)
class Fuzzy:
    field: str
    text: str
    distance: int = 1
    boost: float = 1.0


@dataclass(frozen=True, slots=True)
class Range:
    """Values between ``start`` and ``end`` (either may be open); dates or words."""

    field: str
    start: datetime | str | None
    end: datetime | str | None
    start_excluded: bool = False
    end_excluded: bool = False
    boost: float = 1.0


@dataclass(frozen=True, slots=True)
class Every:
    """Every message; with a field, every message that has a value in it (``quoted:*``)."""

    field: str | None = None
    boost: float = 1.0


@dataclass(frozen=True, slots=True)
class And:
    children: tuple[Node, ...]
    boost: float = 1.0


@dataclass(frozen=True, slots=True)
class Or:
    children: tuple[Node, ...]
    boost: float = 1.0


@dataclass(frozen=True, slots=True)
class Not:
    """Inside an And: what the other children match, less this. Alone: every message less this."""

    child: Node


@dataclass(frozen=True, slots=True)
class AndMaybe:
    """What ``required`` matches, ranked higher where ``optional`` matches too."""

    required: Node
    optional: Node


Leaf = Term | Phrase | Prefix | Wildcard | Fuzzy | Range | Every
Node = Leaf | And | Or | Not | AndMaybe
LEAVES = (Term, Phrase, Prefix, Wildcard, Fuzzy, Range, Every)


def leaves(node: Node) -> list[Leaf]:
    """Every leaf, left to right, without recursion (queries may nest hundreds deep)."""
    found: list[Leaf] = []
    stack: list[Node] = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, (And, Or)):
            stack.extend(reversed(current.children))
        elif isinstance(current, Not):
            stack.append(current.child)
        elif isinstance(current, AndMaybe):
            stack.extend((current.optional, current.required))
        else:
            found.append(current)
    return found


def filters(facets: dict[str, tuple[str, ...]], fields: dict[str, str],
            lowercase: frozenset[str]) -> Node | None:
    """Exact-term filters: OR within a facet, AND across facets; values are never parsed."""
    parts: list[Node] = []
    for name, values in facets.items():
        field = fields[name]
        kept = [v.lower() if field in lowercase else v for v in values if v]
        if kept:
            terms = tuple(Term(field, v) for v in kept)
            parts.append(terms[0] if len(terms) == 1 else Or(terms))
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else And(tuple(parts))
