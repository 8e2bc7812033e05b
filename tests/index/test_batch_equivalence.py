"""Batch boundaries never change threads, identities or lists: batched index == one-batch index.

The writer recomputes threads and identities at every flush and rewrites the older
documents that changed. Whatever the batch size, the order of arrival (replies before
their parents, an author's spelling gaining the majority late) or the number of runs,
the final documents must equal those of one flush over everything, which must in turn
equal what ``threads.thread_ids`` and ``identity.resolve`` give over all messages.
This is the safety net for an incremental flush that recomputes only what a batch touched.
"""

from __future__ import annotations

import csv
import random
from collections import Counter, defaultdict
from dataclasses import replace
from pathlib import Path

import pytest

from backends import open_reader
from core.config import Settings
from core.records import Message, SourceRef
from index import threads
from index.catalog import Catalog, merge_lists
from index.identity import Aliases, Observation, identity_row, resolve
from index.pipeline import parse_stream
from index.plans import thread_node
from index.writer import IndexWriterSession
from sample.generator import write_sample
from tests.index.test_writer import make_message

MESSAGES = 2000
SEED = 20101118
SHUFFLE_SEED = 4242
BODY_CHARS = 120
# Document fields that batching may change: thread, the resolved identity, the lists.
Doc = tuple[str | None, str | None, str | None, str | None, str | None, str | None]
# Where the extra cross-posts go: (position in archive order, copies' offsets after it).
# +2 lands (here) in the same batch of 151 as the original (merged while pending); +500 lands
# batches later (the committed row is relisted and its document rewritten).
CROSS_POSTS = ((10, 2), (430, 500), (1200, 2), (1900, 333))
# An exact duplicate (same list) changes nothing.
DUPLICATES = (77, 1500)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> list[Message]:
    """Parsed sample archive in archive order, plus extra cross-posts and duplicates."""
    archive = tmp_path_factory.mktemp("archive")
    write_sample(archive, MESSAGES, SEED, {"mbox"})
    paths = sorted((archive / "mbox").glob("*.mbox"))
    # Texts cut short: threads and identities come from a few header fields only, and
    # indexing whole bodies made each of the builds here three times slower.
    messages = [
        replace(m, original_text=m.original_text[:BODY_CHARS], quoted_text="", quotes=(),
                signature="", footer="", attachments=(), headers="")
        for m in parse_stream(paths, Settings(), jobs=2) if isinstance(m, Message)
    ]
    assert len(messages) >= MESSAGES
    lists = sorted({name for m in messages for name in m.lists})
    inserted: list[tuple[int, Message]] = []
    for position, offset in CROSS_POSTS:
        original = messages[position]
        other = next(name for name in lists if name not in original.lists)
        copy = replace(original, lists=(other,),
                       source=SourceRef(f"{other}.mbox", f"copy-{position}"))
        inserted.append((position + offset, copy))
    for position in DUPLICATES:
        inserted.append((position, messages[position]))
    # From the end, so that each position still means the archive's position.
    for position, copy in sorted(inserted, key=lambda item: item[0], reverse=True):
        messages.insert(position + 1, copy)
    return messages


def shuffled(messages: list[Message], seed: int) -> list[Message]:
    """``messages`` in a random order, except that copies of one Message-ID keep theirs.

    The first copy of a Message-ID is the record the index keeps, and its lists come
    first (``merge_lists``), so copies swapped among themselves would give another
    document by design, not by batching. Copies still land in different batches.
    """
    order = list(range(len(messages)))
    random.Random(seed).shuffle(order)
    copies: dict[str, list[int]] = defaultdict(list)
    for i, m in enumerate(messages):
        copies[m.message_id].append(i)
    slots: dict[str, list[int]] = defaultdict(list)
    for slot, i in enumerate(order):
        slots[messages[i].message_id].append(slot)
    result: list[Message | None] = [None] * len(messages)
    for mid, places in slots.items():
        for slot, i in zip(places, copies[mid], strict=True):
            result[slot] = messages[i]
    assert all(m is not None for m in result)
    return result  # type: ignore[return-value]


def build(index_dir: Path, runs: list[tuple[int, list[Message]]],
          aliases: Aliases | None = None) -> tuple[int, int]:
    """Index ``runs`` of (batch_size, messages), one writer session each.

    Returns the commits made and the older documents rewritten by them.
    """
    commits = rewritten = 0
    for batch_size, messages in runs:
        settings = Settings(index_dir=index_dir, batch_size=batch_size)
        with IndexWriterSession(settings, aliases=aliases, procs=1) as session:
            for message in messages:
                session.add(message)
        commits += session.commits
        rewritten += session.rewritten
    return commits, rewritten


def documents(index_dir: Path) -> dict[str, Doc]:
    """message_id -> (thread_id, author, email, group, affiliation, list), one per document."""
    stored = list(open_reader(Settings(index_dir=index_dir)).documents())
    ids = Counter(d["message_id"] for d in stored)
    assert [mid for mid, n in ids.items() if n > 1] == []
    return {
        d["message_id"]: (d.get("thread_id"), d.get("author"), d.get("email"), d.get("group"),
                          d.get("affiliation"), d.get("list"))
        for d in stored
    }


def assert_same(got: dict[str, Doc], expected: dict[str, Doc], label: str) -> None:
    if got == expected:
        return
    missing = sorted(expected.keys() - got.keys())
    extra = sorted(got.keys() - expected.keys())
    differ = sorted(m for m in expected.keys() & got.keys() if got[m] != expected[m])
    lines = [f"{label}: {len(differ)} documents differ, {len(missing)} missing, "
             f"{len(extra)} extra (fields: thread_id, author, email, group, affiliation, list)"]
    lines += [f"  {m}\n    expected {expected[m]}\n    got      {got[m]}" for m in differ[:8]]
    lines += [f"  missing {m}" for m in missing[:3]] + [f"  extra {m}" for m in extra[:3]]
    pytest.fail("\n".join(lines))


def assert_catalog_matches(index_dir: Path, docs: dict[str, Doc]) -> None:
    """The catalog (what the next flush starts from) says what the documents say."""
    catalog = Catalog(index_dir)
    try:
        rows = {r.message_id: r for r in catalog.rows()}
        table = catalog.identities()
    finally:
        catalog.close()
    got = {
        mid: (r.thread_id, *table[r.author_key or ""], ",".join(r.lists))
        for mid, r in rows.items()
    }
    assert_same(got, docs, f"catalog of {index_dir.name}")


def global_view(index_dir: Path, aliases: Aliases | None) -> dict[str, Doc]:
    """What the pure functions give over every catalog row, as documents would carry it."""
    catalog = Catalog(index_dir)
    try:
        rows = list(catalog.rows())
    finally:
        catalog.close()
    thread_of = threads.thread_ids(thread_node(r) for r in rows)
    resolution = resolve(
        (Observation(r.message_id, r.author_name, r.author_email) for r in rows), aliases
    )
    return {
        r.message_id: (thread_of[r.message_id],
                       *identity_row(resolution.identity_of(r.message_id)), ",".join(r.lists))
        for r in rows
    }


@pytest.fixture(scope="module")
def reference_dir(corpus: list[Message], tmp_path_factory: pytest.TempPathFactory) -> Path:
    index_dir = tmp_path_factory.mktemp("reference")
    assert build(index_dir, [(len(corpus) + 1, corpus)]) == (1, 0)
    return index_dir


@pytest.fixture(scope="module")
def reference(reference_dir: Path) -> dict[str, Doc]:
    return documents(reference_dir)


def test_reference_agrees_with_the_global_functions(
    corpus: list[Message], reference: dict[str, Doc], reference_dir: Path
) -> None:
    assert_same(reference, global_view(reference_dir, None), "one-batch index vs global functions")
    assert_catalog_matches(reference_dir, reference)
    # No References loop in the sample: loops are tested on their own below.
    assert reference_loops(reference_dir) == []
    # The corpus exercises what batching can break: threads of several messages,
    # authors with several spellings, and the cross-posts and duplicates added above.
    assert len(reference) == len({m.message_id for m in corpus})
    sizes = Counter(doc[0] for doc in reference.values())
    assert sum(n for n in sizes.values() if n > 1) > len(reference) // 2
    spellings: dict[str, set[str]] = defaultdict(set)
    for m in corpus:
        if m.author.name:
            spellings[reference[m.message_id][1] or ""].add(m.author.name)
    assert sum(len(s) > 1 for s in spellings.values()) >= 10
    copies: dict[str, tuple[str, ...]] = {}
    for m in corpus:
        copies[m.message_id] = merge_lists(copies.get(m.message_id, ()), m.lists)
    assert {mid: ",".join(lists) for mid, lists in copies.items()} == {
        mid: doc[5] for mid, doc in reference.items()}
    added = {m.message_id for m in corpus if m.source.key.startswith("copy-")}
    assert len(added) == len(CROSS_POSTS)
    assert added <= {mid for mid, lists in copies.items() if len(lists) > 1}


VARIANTS = {
    # Archive order, a prime batch size so that boundaries fall everywhere. Parents come
    # before replies in each list's file: this one moves identities and lists, not threads.
    "archive-order-151": lambda ms: [(151, ms)],
    # Replies before their parents; spellings gain and lose the majority between batches.
    "shuffled-250": lambda ms: [(250, shuffled(ms, SHUFFLE_SEED))],
    # One message per commit, then another run of big batches over the same index.
    "singles-then-500": lambda ms: [(1, ms[:40]), (500, ms[40:])],
}


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_batched_index_equals_the_one_batch_index(
    variant: str, corpus: list[Message], reference: dict[str, Doc], tmp_path: Path
) -> None:
    index_dir = tmp_path / variant
    runs = VARIANTS[variant](corpus)
    assert sorted(m.message_id for _, ms in runs for m in ms) == sorted(
        m.message_id for m in corpus)
    commits, rewritten = build(index_dir, runs)
    # Every batch was a commit of its own, and later batches did change older documents.
    assert commits >= sum(len({m.message_id for m in ms}) // size for size, ms in runs)
    assert rewritten > 0
    print(f"{variant}: {commits} commits, {rewritten} documents rewritten")
    docs = documents(index_dir)
    assert_same(docs, reference, variant)
    assert_catalog_matches(index_dir, docs)


def write_aliases(path: Path, corpus: list[Message]) -> dict[str, tuple[str, str | None, str]]:
    """An aliases file over the corpus's own authors: address or spelling -> the entry it gives.

    Two people's addresses declared one person (their documents merge), a rename with a
    group only, a name spelling seen with two addresses (every message signed so), and
    an entry naming nobody in the corpus.
    """
    by_email = [e for e, _ in Counter(
        m.author.email.lower() for m in corpus if m.author.email).most_common()]
    addresses: dict[str, set[str]] = defaultdict(set)
    for m in corpus:
        if m.author.name and m.author.email:
            addresses[m.author.name].add(m.author.email.lower())
    spelling = min(n for n, found in addresses.items()
                   if len(found) > 1 and not found & set(by_email[:3]))
    rows = [
        ("Merged Delegate", f"{by_email[0]};{by_email[1]}", "ITU", "intergovernmental"),
        ("Renamed Member", by_email[2], "", "academia"),
        ("Spelled Person", spelling, "ISOC", "technical community"),
        ("Absent Person", "nobody@nowhere.example", "Nowhere", "government"),
    ]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["name", "aliases", "affiliation", "group"])
        writer.writerows(rows)
    return {alias: (name, affiliation or None, group) for name, aliases, affiliation, group in rows
            for alias in aliases.split(";")}


def test_aliases_shuffled_batches_equal_one_batch(corpus: list[Message], tmp_path: Path) -> None:
    # Every other message, for time: two builds instead of six, and many replies whose
    # parent is absent (threaded by subject, or alone) on top.
    corpus = corpus[::2]
    entries = write_aliases(tmp_path / "aliases.csv", corpus)
    aliases = Aliases.load(tmp_path / "aliases.csv")
    one = tmp_path / "one-batch"
    build(one, [(len(corpus) + 1, corpus)], aliases)
    expected = documents(one)
    assert_same(expected, global_view(one, aliases), "aliases one-batch vs global functions")
    # Each aliased message carries its entry's name, group and affiliation.
    aliased = {}
    for m in corpus:
        entry = entries.get((m.author.email or "").lower()) or entries.get(m.author.name or "")
        if entry is not None:
            name, affiliation, group = entry
            aliased[m.message_id] = (name, group, affiliation)
    assert {mid: (doc[1], doc[3], doc[4]) for mid, doc in expected.items() if doc[3]} == aliased
    assert {name for name, _, _ in aliased.values()} == {
        "Merged Delegate", "Renamed Member", "Spelled Person"}
    batched = tmp_path / "shuffled"
    assert build(batched, [(250, shuffled(corpus, SHUFFLE_SEED))], aliases)[1] > 0
    docs = documents(batched)
    assert_same(docs, expected, "aliases shuffled-250")
    assert_catalog_matches(batched, docs)


def cycle_messages() -> list[Message]:
    """Three messages whose In-Reply-To form a loop (forged or broken headers), one reply to it."""
    def mid(n: int) -> str:
        return f"<m{n}@example.org>"

    loop = {1: 3, 2: 1, 3: 2}
    messages = [make_message(n, subject="Re: IANA transition", in_reply_to=mid(parent),
                             references=(mid(parent),))
                for n, parent in loop.items()]
    messages.append(make_message(4, subject="Re: IANA transition", in_reply_to=mid(2),
                                 references=(mid(1), mid(2))))
    messages.append(make_message(5, subject="WSIS+10 review"))
    return messages


def test_a_reference_cycle_threads_alike_whatever_the_batches(tmp_path: Path) -> None:
    """Same arrival order, other batch boundaries: the loop gets the same root."""
    messages = cycle_messages()
    one = tmp_path / "one"
    build(one, [(100, messages)])
    expected = documents(one)
    assert sorted(reference_loops(one)) == [f"<m{n}@example.org>" for n in (1, 2, 3, 4)]
    assert len({doc[0] for mid, doc in expected.items() if mid != "<m5@example.org>"}) == 1
    assert_same(expected, global_view(one, None), "cycle one-batch vs global functions")
    for name, runs in {"singles": [(1, messages)], "pairs": [(2, messages)],
                       "two-runs": [(1, messages[:1]), (3, messages[1:])]}.items():
        docs = documents(build_into(tmp_path / name, runs))
        assert_same(docs, expected, f"cycle {name}")


def test_a_reference_cycle_threads_alike_whatever_the_arrival_order(tmp_path: Path) -> None:
    messages = cycle_messages()
    build(tmp_path / "forward", [(100, messages)])
    build(tmp_path / "backward", [(100, messages[::-1])])
    forward = documents(tmp_path / "forward")
    assert_same(documents(tmp_path / "backward"), forward, "cycle, reversed arrival")
    # The loop's smallest Message-ID is the root, whichever message came first.
    assert {mid: doc[0] for mid, doc in forward.items()} == {
        **{f"<m{n}@example.org>": "<m1@example.org>" for n in (1, 2, 3, 4)},
        "<m5@example.org>": "<m5@example.org>",
    }


def reference_loops(index_dir: Path) -> list[str]:
    """Messages whose chain of parents runs into a loop."""
    catalog = Catalog(index_dir)
    try:
        parent = threads.parents(thread_node(r) for r in catalog.rows())
    finally:
        catalog.close()
    looped = []
    for start in parent:
        seen = {start}
        current = parent.get(start)
        while current is not None and current not in seen:
            seen.add(current)
            current = parent.get(current)
        if current is not None:
            looped.append(start)
    return looped


def build_into(index_dir: Path, runs: list[tuple[int, list[Message]]]) -> Path:
    build(index_dir, runs)
    return index_dir
