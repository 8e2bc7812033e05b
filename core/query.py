"""The engine-neutral query tree: what the query language produces and every backend translates.

Leaves hold what the user wrote for one field (a word, a phrase's text, a prefix), not
index terms: each backend analyses them with its own analyzer for that field (Whoosh in
``backends/whoosh/translate.py``, OpenSearch server-side). Exact fields (ids, lists,
authors) are matched as written, lowercased where the field table says so.

Nodes are frozen and hashable, so parsed queries can be cached and compared.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar


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


def children_of(node: Node) -> tuple[Node, ...]:
    """A branch's children in order (an AndMaybe's: required, then optional); a leaf's: none."""
    if isinstance(node, (And, Or)):
        return node.children
    if isinstance(node, Not):
        return (node.child,)
    if isinstance(node, AndMaybe):
        return (node.required, node.optional)
    return ()


def leaves(node: Node) -> list[Leaf]:
    """Every leaf, left to right, without recursion (queries may nest hundreds deep)."""
    found: list[Leaf] = []
    stack: list[Node] = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, LEAVES):
            found.append(current)
        else:
            stack.extend(reversed(children_of(current)))
    return found


T = TypeVar("T")


def fold(node: Node, leaf: Callable[[Leaf], T], branch: Callable[[Node, list[T]], T]) -> T:
    """``leaf`` of each leaf, then ``branch`` of each branch with its children's results,
    children before parents, without recursion: how every backend translates a tree."""
    done: dict[int, T] = {}
    stack: list[tuple[Node, bool]] = [(node, False)]
    while stack:
        current, expanded = stack.pop()
        if isinstance(current, LEAVES):
            done[id(current)] = leaf(current)
        elif expanded:
            done[id(current)] = branch(current, [done[id(c)] for c in children_of(current)])
        else:
            stack.append((current, True))
            stack.extend((c, False) for c in children_of(current))
    return done[id(node)]


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
