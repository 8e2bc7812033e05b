"""Threading: JWZ-style parent links, then thread_id = Message-ID of the root.

A parent is the In-Reply-To message when it is known, else the nearest known
entry of References (last first). A reply with no known parent falls back to the
latest earlier message on the same list with the same normalised subject within
:data:`SUBJECT_WINDOW`. Roots are found iteratively (no recursion, cycles broken),
so the pass is safe to re-run over the whole catalog after every write: a reply
that arrived before its parent moves into the parent's thread on the next pass.
It does not read mail or write documents; the writer applies the changes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

# Long enough for slow list discussions, short enough that a monthly "Agenda"
# subject does not chain a year of meetings into one thread.
SUBJECT_WINDOW = 30 * 24 * 3600.0


@dataclass(frozen=True, slots=True)
class Node:
    message_id: str
    in_reply_to: str | None
    references: tuple[str, ...]
    subject_normalized: str
    is_reply: bool
    date: float | None
    list: str | None


def parents(nodes: Iterable[Node], window: float = SUBJECT_WINDOW) -> dict[str, str]:
    """message_id -> parent message_id, for every message that has a known parent."""
    by_id = {n.message_id: n for n in nodes}
    parent: dict[str, str] = {}
    orphans: list[Node] = []
    for node in by_id.values():
        for candidate in (node.in_reply_to, *reversed(node.references)):
            if candidate and candidate != node.message_id and candidate in by_id:
                parent[node.message_id] = candidate
                break
        else:
            if node.is_reply and node.subject_normalized.strip() and node.date is not None:
                orphans.append(node)
    if orphans:
        groups: dict[tuple[str | None, str], list[Node]] = defaultdict(list)
        for node in by_id.values():
            if node.date is not None and node.subject_normalized.strip():
                groups[(node.list, node.subject_normalized.casefold())].append(node)
        for members in groups.values():
            members.sort(key=lambda n: (n.date, n.message_id))
        position = {
            n.message_id: (key, i) for key, members in groups.items() for i, n in enumerate(members)
        }
        for node in orphans:
            key, i = position[node.message_id]
            if i == 0:
                continue
            previous = groups[key][i - 1]
            assert previous.date is not None and node.date is not None
            if node.date - previous.date <= window:
                parent[node.message_id] = previous.message_id
    return parent


def roots(ids: Iterable[str], parent: dict[str, str]) -> dict[str, str]:
    """message_id -> root message_id, following parent links without recursion."""
    root: dict[str, str] = {}
    for start in ids:
        if start in root:
            continue
        path: list[str] = []
        on_path: set[str] = set()
        current = start
        top: str | None = None
        while current not in root:
            if current in on_path:
                # A cycle (forged or broken References): its smallest Message-ID is
                # the root of everything on the path, wherever the walk entered it, so
                # that the thread does not depend on the order messages arrived in.
                top = min(path[path.index(current):])
                break
            path.append(current)
            on_path.add(current)
            up = parent.get(current)
            if up is None:
                break
            current = up
        if top is None:
            top = root.get(current, current)
        for member in path:
            root[member] = top
    return root


def thread_ids(nodes: Iterable[Node], window: float = SUBJECT_WINDOW) -> dict[str, str]:
    """message_id -> thread_id for every node."""
    nodes = list(nodes)
    return roots((n.message_id for n in nodes), parents(nodes, window))
