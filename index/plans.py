"""What a batch changes beyond its own documents: threads to recompute, identities to resolve.

Both plans read the catalog as it was before the batch and touch only what the batch can
reach, never the whole catalog row by row: a full pass took 3 s at 100,000 messages and
grew with every batch (equivalence with a full pass: tests/index/test_batch_equivalence.py).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from index import threads
from index.catalog import Catalog, CatalogRow, subject_key
from index.document import Identity
from index.identity import Aliases, Observation, resolve

IdentityTuple = tuple[str, str | None, str | None, str | None]


@dataclass(frozen=True, slots=True)
class PeoplePlan:
    """Who wrote what after a batch: keys by (name, address), identities, what to rewrite."""

    key_of_pair: dict[tuple[str | None, str | None], str]
    identities: dict[str, Identity]
    table: dict[str, IdentityTuple]
    # Indexed messages whose stored author fields change.
    rewrites: set[str]
    # (name, address) pairs whose person key changes.
    rekeyed: dict[tuple[str | None, str | None], str]

    def key_of(self, row: CatalogRow) -> str:
        return self.key_of_pair[(row.author_name, row.author_email)]

    def identity_of(self, row: CatalogRow) -> Identity:
        return self.identities[self.key_of(row)]


def thread_plan(
    catalog: Catalog, new_rows: dict[str, CatalogRow]
) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """The new rows' threads, the parents to store, and the indexed messages whose thread
    changes.

    An indexed message's parent can change only to a new row (a reply that arrived
    before its parent, a References entry that arrives, a subject neighbour inserted
    before it) or along with its thread, so exactly those are rewritten with theirs.

    Only the threads a batch can touch are recomputed, whole: those of the indexed
    messages a new one names (In-Reply-To, References), of those that name a new
    one, and of its neighbours in its subject group (the message just before may
    become its parent, the one just after may take it as parent). Every message
    shares its parent's thread, so no parent link leaves that set, and a thread
    pass over it gives what a pass over the whole catalog gives (tested in
    tests/index/test_batch_equivalence.py), at the cost of the touched threads
    rather than of the archive: a full pass took 3 s at 100,000 messages and grew
    with every batch.
    """
    named = {
        target
        for row in new_rows.values()
        for target in (row.in_reply_to, *row.refs)
        if target and target not in new_rows
    }
    touched = catalog.threads_of(named) | catalog.threads_linking_to(new_rows)
    for row in new_rows.values():
        key = subject_key(row)
        if key is not None:
            assert row.date is not None
            touched |= catalog.subject_neighbours(key, row.date, row.message_id)
    members = catalog.thread_members(touched)
    nodes = [thread_node(row) for row in (*members, *new_rows.values())]
    parent = threads.parents(nodes)
    thread_of = threads.roots((n.message_id for n in nodes), parent)
    moved = {
        row.message_id: thread_of[row.message_id]
        for row in members
        if thread_of[row.message_id] != row.thread_id or parent.get(row.message_id) in new_rows
    }
    parent_of = {
        mid: parent[mid] for mid in (*new_rows, *moved) if mid in parent
    }
    return {mid: thread_of[mid] for mid in new_rows}, parent_of, moved

def people_plan(
    catalog: Catalog, new_rows: dict[str, CatalogRow], aliases: Aliases
) -> PeoplePlan:
    """Identities over every (name, address) the catalog and the batch hold."""
    before = catalog.author_pairs()
    weights: Counter[tuple[str | None, str | None]] = Counter()
    for name, email, _key, count in before:
        weights[(name, email)] += count
    for row in new_rows.values():
        weights[(row.author_name, row.author_email)] += 1
    tokens = {pair: str(number) for number, pair in enumerate(weights)}
    resolution = resolve(
        (Observation(tokens[pair], pair[0], pair[1], weight)
         for pair, weight in weights.items()),
        aliases,
    )
    key_of_pair = {pair: resolution.keys[token] for pair, token in tokens.items()}
    table = resolution.table()
    written = catalog.identities()
    rewrites: set[str] = set()
    rekeyed: dict[tuple[str | None, str | None], str] = {}
    for name, email, old_key, _count in before:
        new_key = key_of_pair[(name, email)]
        if written.get(old_key or "") != table[new_key]:
            rewrites.update(catalog.messages_of_author(name, email, old_key))
        if new_key != old_key:
            rekeyed[(name, email)] = new_key
    return PeoplePlan(key_of_pair, resolution.identities, table, rewrites, rekeyed)


def thread_node(row: CatalogRow) -> threads.Node:
    return threads.Node(
        message_id=row.message_id,
        in_reply_to=row.in_reply_to,
        references=row.refs,
        subject_normalized=row.subject_normalized,
        is_reply=row.is_reply,
        date=row.date,
        list=row.lists[0] if row.lists else None,
    )
