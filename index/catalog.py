"""The catalog: a SQLite sidecar (``catalog.sqlite``, WAL) beside the Whoosh index.

It owns what Whoosh is bad at: one row per indexed message (for dedupe without
``update_document``, for threading and for author identity), the per-source read
state that lets ``reindex`` skip what it has seen, and the identities the stored
documents were written with.

Commit order (the writer's two phases): the Whoosh commit happens first, then the
catalog commit, which also records the Whoosh generation it matches. A crash
between the two leaves Whoosh one generation ahead; :meth:`Catalog.needs_reconcile`
sees that on the next start and the writer rebuilds the message rows from the
stored fields (Whoosh is the truth for messages; source offsets simply stay behind,
so the next read sees those messages again and counts them as duplicates).
It does not own threading or identity rules (``threads``, ``identity``).
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from core.errors import IndexDamaged
from core.records import Message

CATALOG_NAME = "catalog.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS messages (
    message_id TEXT PRIMARY KEY,
    thread_id TEXT,
    in_reply_to TEXT,
    refs TEXT NOT NULL DEFAULT '',
    subject_normalized TEXT NOT NULL DEFAULT '',
    is_reply INTEGER NOT NULL DEFAULT 0,
    date REAL,
    lists TEXT NOT NULL DEFAULT '',
    author_name TEXT,
    author_email TEXT,
    author_key TEXT,
    source_path TEXT NOT NULL DEFAULT '',
    source_key TEXT NOT NULL DEFAULT '',
    content_hash TEXT NOT NULL DEFAULT '',
    subject_key TEXT
);
CREATE TABLE IF NOT EXISTS sources (
    path TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    size INTEGER NOT NULL,
    mtime REAL NOT NULL,
    inode INTEGER NOT NULL,
    offset INTEGER NOT NULL,
    head_fp TEXT NOT NULL,
    tail_fp TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS seen_files (
    source TEXT NOT NULL,
    name TEXT NOT NULL,
    size INTEGER NOT NULL,
    mtime REAL NOT NULL,
    PRIMARY KEY (source, name)
);
CREATE TABLE IF NOT EXISTS links (
    target TEXT NOT NULL,
    message_id TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS identities (
    author_key TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    email TEXT,
    grp TEXT,
    affiliation TEXT
);
"""

# Indexes for the writer's incremental flush; created after the migration in
# Catalog._migrate so that a catalog of an older release gains its columns first.
_INDEXES = """
CREATE INDEX IF NOT EXISTS messages_thread ON messages(thread_id);
CREATE INDEX IF NOT EXISTS messages_author ON messages(author_name, author_email, author_key);
CREATE INDEX IF NOT EXISTS messages_subject ON messages(subject_key, date, message_id);
CREATE INDEX IF NOT EXISTS links_target ON links(target);
CREATE INDEX IF NOT EXISTS links_message ON links(message_id);
"""
_COLUMNS = (
    "message_id, thread_id, in_reply_to, refs, subject_normalized, is_reply, date, lists, "
    "author_name, author_email, author_key, source_path, source_key, content_hash"
)
# SQLite's default bound on host parameters in one statement is 32,766; chunks of this
# size stay far below it.
_CHUNK = 900

REPLY_PREFIX = re.compile(
    r"^\s*(\[[^\]]*\]\s*)*(re|aw|sv|antw|vs|odp|fwd?|fw|tr|wg|r[ée]f)\s*(\[\d+\]|\(\d+\))?\s*:",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class CatalogRow:
    """What the catalog knows about one indexed message."""

    message_id: str
    thread_id: str | None
    in_reply_to: str | None
    refs: tuple[str, ...]
    subject_normalized: str
    is_reply: bool
    date: float | None
    lists: tuple[str, ...]
    author_name: str | None
    author_email: str | None
    author_key: str | None
    source_path: str
    source_key: str
    content_hash: str


@dataclass(frozen=True, slots=True)
class SourceState:
    """How a source file looked when it was last read up to ``offset``."""

    path: str
    kind: str
    size: int
    mtime: float
    inode: int
    offset: int
    head_fp: str
    tail_fp: str


def content_hash(subject: str, original: str, quoted: str) -> str:
    """A hash of what a reader sees, computable from a Message or from stored fields."""
    digest = hashlib.sha1()
    for part in (subject, original, quoted):
        digest.update(part.encode("utf-8", "surrogatepass"))
        digest.update(b"\x00")
    return digest.hexdigest()


def epoch(value: datetime | None) -> float | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.timestamp()


def row_from_message(message: Message) -> CatalogRow:
    author_email = message.author.email.lower() if message.author.email else None
    return CatalogRow(
        message_id=message.message_id,
        thread_id=message.thread_id,
        in_reply_to=message.in_reply_to,
        refs=tuple(message.references),
        subject_normalized=message.subject_normalized,
        is_reply=bool(
            message.in_reply_to or message.references or REPLY_PREFIX.match(message.subject)
        ),
        date=epoch(message.date),
        lists=tuple(message.lists),
        author_name=message.author.name,
        author_email=author_email,
        author_key=None,
        source_path=message.source.path,
        source_key=message.source.key,
        content_hash=content_hash(message.subject, message.original_text, message.quoted_text),
    )


def subject_key(row: CatalogRow) -> str | None:
    """The group a subject-only reply is threaded in (``threads.parents``), or None.

    First list and case-folded normalised subject, for rows that have both a subject
    and a date: the catalog indexes it so that a flush finds a new message's neighbours
    in its group without loading the group.
    """
    if row.date is None or not row.subject_normalized.strip():
        return None
    return f"{row.lists[0] if row.lists else ''}\x1f{row.subject_normalized.casefold()}"


def split_lists(text: str) -> tuple[str, ...]:
    return tuple(part for part in text.split(",") if part)


def _name(value: str) -> str | bytes:
    """A file name as the catalog stores it: text, or its bytes when it is not UTF-8.

    Names come from the file system as str with surrogate escapes for undecodable bytes
    (PEP 383), which SQLite cannot encode: such a name failed on every run and blocked
    its source for good. As a BLOB it is kept exactly and compared bytewise.
    """
    try:
        value.encode("utf-8")
        return value
    except UnicodeEncodeError:
        return value.encode("utf-8", "surrogateescape")


def _text(value: str | bytes) -> str:
    return value.decode("utf-8", "surrogateescape") if isinstance(value, bytes) else value


def _state(found: tuple) -> SourceState:
    return SourceState(_text(found[0]), *found[1:])


def merge_lists(old: Iterable[str], new: Iterable[str]) -> tuple[str, ...]:
    """Keep the first-seen order; a cross-post adds the lists it was not yet in."""
    merged = list(old)
    for name in new:
        if name not in merged:
            merged.append(name)
    return tuple(merged)


class Catalog:
    """One connection to ``catalog.sqlite``; writes stay in one open transaction until commit."""

    def __init__(self, index_dir: Path) -> None:
        self.path = Path(index_dir) / CATALOG_NAME
        # isolation_level=None: transactions are opened explicitly so that one
        # writer batch is exactly one SQLite transaction.
        try:
            self._open()
        except sqlite3.DatabaseError as exc:
            if isinstance(exc, sqlite3.OperationalError):
                raise  # locked, disk full: not damage (the writer maps a full disk)
            raise IndexDamaged(
                f"catalog {self.path} is damaged ({exc}); run `govmail rebuild`"
            ) from exc

    def _open(self) -> None:
        self.db = sqlite3.connect(self.path, isolation_level=None, timeout=60.0)
        self.db.execute("PRAGMA journal_mode=WAL")
        # FULL: every commit is fsynced, so a commit the writer reported survives a
        # power loss too (NORMAL only survived process crashes). One fsync a batch.
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.executescript(_SCHEMA)
        self._in_tx = False
        self._migrate()
        self.db.executescript(_INDEXES)

    def _migrate(self) -> None:
        """Give a catalog written before the incremental flush its subject keys and links."""
        columns = {r[1] for r in self.db.execute("PRAGMA table_info(messages)")}
        if "subject_key" not in columns:
            self.db.execute("ALTER TABLE messages ADD COLUMN subject_key TEXT")
        if self.get_meta("layout") == "2":
            return
        self.begin()
        self.db.execute("DELETE FROM links")
        last = 0
        while True:
            # In slices by rowid: updating a table while one cursor walks it is undefined.
            found = self.db.execute(
                f"SELECT rowid, {_COLUMNS} FROM messages WHERE rowid > ? ORDER BY rowid LIMIT ?",
                (last, 10_000),
            ).fetchall()
            if not found:
                break
            for entry in found:
                self._put_derived(_row(entry[1:]))
            last = found[-1][0]
        self.set_meta("layout", "2")
        self.db.execute("COMMIT")
        self._in_tx = False

    def integrity(self) -> list[str]:
        """SQLite's own check of the catalog file ([]: sound)."""
        found = [r[0] for r in self.db.execute("PRAGMA quick_check")]
        return [] if found == ["ok"] else [f"catalog {self.path}: {line}" for line in found]

    # ---- transactions -----------------------------------------------------

    def begin(self) -> None:
        if not self._in_tx:
            self.db.execute("BEGIN IMMEDIATE")
            self._in_tx = True

    def commit(self, generation: int) -> None:
        """Commit everything since :meth:`begin`, stamped with the Whoosh generation."""
        self.begin()
        self.set_meta("whoosh_generation", str(generation))
        self.db.execute("COMMIT")
        self._in_tx = False

    def rollback(self) -> None:
        if self._in_tx:
            self.db.execute("ROLLBACK")
            self._in_tx = False

    def close(self) -> None:
        self.rollback()
        self.db.close()

    # ---- meta -------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        found = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return found[0] if found else None

    def set_meta(self, key: str, value: str) -> None:
        self.begin()
        self.db.execute(
            "INSERT INTO meta(key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    def needs_reconcile(self, whoosh_generation: int) -> bool:
        """True when the index and the catalog were not committed as one (a crash between)."""
        # A fresh catalog beside an index that has commits also counts: it is
        # rebuilt from the stored fields.
        return int(self.get_meta("whoosh_generation") or 0) != whoosh_generation

    # ---- messages ---------------------------------------------------------

    def count(self) -> int:
        return int(self.db.execute("SELECT count(*) FROM messages").fetchone()[0])

    def get(self, message_id: str) -> CatalogRow | None:
        found = self.db.execute(
            f"SELECT {_COLUMNS} FROM messages WHERE message_id = ?", (message_id,)
        ).fetchone()
        return _row(found) if found else None

    def rows(self) -> Iterator[CatalogRow]:
        for found in self.db.execute(f"SELECT {_COLUMNS} FROM messages"):
            yield _row(found)

    def _select_in(self, sql: str, values: Iterable[str]) -> Iterator[tuple]:
        """The rows of ``sql``, whose ``IN ({marks})`` takes ``values``, run in chunks."""
        for chunk in _chunks(values):
            yield from self.db.execute(sql.format(marks=",".join("?" * len(chunk))), chunk)

    def get_many(self, message_ids: Iterable[str]) -> dict[str, CatalogRow]:
        sql = "SELECT " + _COLUMNS + " FROM messages WHERE message_id IN ({marks})"
        return {found[0]: _row(found) for found in self._select_in(sql, message_ids)}

    def thread_members(self, thread_ids: Iterable[str]) -> list[CatalogRow]:
        """Every row of the given threads."""
        sql = "SELECT " + _COLUMNS + " FROM messages WHERE thread_id IN ({marks})"
        return [_row(found) for found in self._select_in(sql, thread_ids)]

    def threads_of(self, message_ids: Iterable[str]) -> set[str]:
        """The threads of those of the messages the catalog has."""
        sql = "SELECT thread_id FROM messages WHERE message_id IN ({marks})"
        return {t for (t,) in self._select_in(sql, message_ids) if t}

    def threads_linking_to(self, message_ids: Iterable[str]) -> set[str]:
        """The threads of the messages whose In-Reply-To or References name one of these."""
        sql = (
            "SELECT m.thread_id FROM links l JOIN messages m "
            "ON m.message_id = l.message_id WHERE l.target IN ({marks})"
        )
        return {t for (t,) in self._select_in(sql, message_ids) if t}

    def subject_neighbours(self, key: str, date: float, message_id: str) -> set[str]:
        """The threads of the messages just before and just after a point of a subject group.

        The order is ``threads.parents``'s: (date, message_id); SQLite compares TEXT
        bytewise, which for UTF-8 is Python's code point order.
        """
        threads: set[str] = set()
        for where, order in (
            ("date < ? OR (date = ? AND message_id < ?)", "DESC"),
            ("date > ? OR (date = ? AND message_id > ?)", "ASC"),
        ):
            found = self.db.execute(
                f"SELECT thread_id FROM messages WHERE subject_key = ? AND ({where}) "
                f"ORDER BY date {order}, message_id {order} LIMIT 1",
                (key, date, date, message_id),
            ).fetchone()
            if found and found[0]:
                threads.add(found[0])
        return threads

    def author_pairs(self) -> list[tuple[str | None, str | None, str | None, int]]:
        """(author_name, author_email, author_key, messages) for every distinct combination."""
        return list(
            self.db.execute(
                "SELECT author_name, author_email, author_key, count(*) FROM messages "
                "GROUP BY author_name, author_email, author_key"
            )
        )

    def messages_of_author(
        self, name: str | None, email: str | None, key: str | None
    ) -> list[str]:
        return [
            mid
            for (mid,) in self.db.execute(
                "SELECT message_id FROM messages WHERE author_name IS ? AND author_email IS ? "
                "AND author_key IS ?",
                (name, email, key),
            )
        ]

    def set_author_key(self, name: str | None, email: str | None, key: str) -> None:
        """Give every message of one (name, address) the person key it resolves to now."""
        self.begin()
        self.db.execute(
            "UPDATE messages SET author_key = ? WHERE author_name IS ? AND author_email IS ?",
            (key, name, email),
        )

    def message_ids(self) -> set[str]:
        return {r[0] for r in self.db.execute("SELECT message_id FROM messages")}

    def put(self, row: CatalogRow) -> None:
        self.put_many([row])

    def put_many(self, rows: Iterable[CatalogRow]) -> None:
        """Insert or replace rows, with their subject keys and links."""
        self.begin()
        rows = list(rows)
        self.db.executemany(
            f"INSERT OR REPLACE INTO messages ({_COLUMNS}, subject_key) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            [
                (
                    row.message_id,
                    row.thread_id,
                    row.in_reply_to,
                    " ".join(row.refs),
                    row.subject_normalized,
                    int(row.is_reply),
                    row.date,
                    ",".join(row.lists),
                    row.author_name,
                    row.author_email,
                    row.author_key,
                    _name(row.source_path) if row.source_path else row.source_path,
                    _name(row.source_key) if row.source_key else row.source_key,
                    row.content_hash,
                    subject_key(row),
                )
                for row in rows
            ],
        )
        self.db.executemany(
            "DELETE FROM links WHERE message_id = ?", [(row.message_id,) for row in rows]
        )
        self.db.executemany("INSERT INTO links VALUES (?, ?)", _links(rows))

    def _put_derived(self, row: CatalogRow) -> None:
        """The row's subject key and its links, for a row already in the table."""
        self.db.execute(
            "UPDATE messages SET subject_key = ? WHERE message_id = ?",
            (subject_key(row), row.message_id),
        )
        self.db.executemany("INSERT INTO links VALUES (?, ?)", _links([row]))

    def set_lists(self, message_id: str, lists: tuple[str, ...]) -> None:
        self.begin()
        self.db.execute(
            "UPDATE messages SET lists = ? WHERE message_id = ?", (",".join(lists), message_id)
        )

    def set_threads(self, changes: dict[str, str]) -> None:
        self.begin()
        self.db.executemany(
            "UPDATE messages SET thread_id = ? WHERE message_id = ?",
            [(thread, mid) for mid, thread in changes.items()],
        )

    def set_author_keys(self, changes: dict[str, str]) -> None:
        self.begin()
        self.db.executemany(
            "UPDATE messages SET author_key = ? WHERE message_id = ?",
            [(key, mid) for mid, key in changes.items()],
        )

    def delete_messages(self, message_ids: Iterable[str]) -> None:
        self.begin()
        gone = [(m,) for m in message_ids]
        self.db.executemany("DELETE FROM messages WHERE message_id = ?", gone)
        self.db.executemany("DELETE FROM links WHERE message_id = ?", gone)

    # ---- identities -------------------------------------------------------

    def identities(self) -> dict[str, tuple[str, str | None, str | None, str | None]]:
        return {
            key: (name, email, grp, aff)
            for key, name, email, grp, aff in self.db.execute("SELECT * FROM identities")
        }

    def replace_identities(
        self, table: dict[str, tuple[str, str | None, str | None, str | None]]
    ) -> None:
        self.begin()
        self.db.execute("DELETE FROM identities")
        self.db.executemany(
            "INSERT INTO identities VALUES (?,?,?,?,?)",
            [(key, *value) for key, value in table.items()],
        )

    # ---- sources ----------------------------------------------------------

    def source(self, path: str) -> SourceState | None:
        found = self.db.execute(
            "SELECT * FROM sources WHERE path = ?", (_name(path),)
        ).fetchone()
        return _state(found) if found else None

    def sources_under(self, root: str) -> list[SourceState]:
        """Recorded files at root or below it (compared as bytes: names may be BLOBs)."""
        exact = root.encode("utf-8", "surrogateescape")
        prefix = root.rstrip("/").encode("utf-8", "surrogateescape") + b"/"
        return [
            _state(found)
            for found in self.db.execute(
                "SELECT * FROM sources WHERE CAST(path AS BLOB) = ? "
                "OR substr(CAST(path AS BLOB), 1, ?) = ?",
                (exact, len(prefix), prefix),
            )
        ]

    def put_source(self, state: SourceState) -> None:
        self.begin()
        self.db.execute(
            "INSERT OR REPLACE INTO sources VALUES (?,?,?,?,?,?,?,?)",
            (
                _name(state.path),
                state.kind,
                state.size,
                state.mtime,
                state.inode,
                state.offset,
                state.head_fp,
                state.tail_fp,
            ),
        )

    def seen_files(self, source: str) -> dict[str, tuple[int, float]]:
        return {
            _text(name): (size, mtime)
            for name, size, mtime in self.db.execute(
                "SELECT name, size, mtime FROM seen_files WHERE source = ?", (_name(source),)
            )
        }

    def put_seen_files(self, source: str, files: Iterable[tuple[str, int, float]]) -> None:
        self.begin()
        self.db.executemany(
            "INSERT OR REPLACE INTO seen_files VALUES (?,?,?,?)",
            [(_name(source), _name(name), size, mtime) for name, size, mtime in files],
        )


def _links(rows: Iterable[CatalogRow]) -> Iterator[tuple[str, str]]:
    """(target, message_id) for each message's In-Reply-To and References, each target once."""
    for row in rows:
        for target in dict.fromkeys(t for t in (row.in_reply_to, *row.refs) if t):
            yield target, row.message_id


def _chunks(values: Iterable[str]) -> Iterator[list[str]]:
    values = list(values)
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


def _row(found: tuple) -> CatalogRow:
    (mid, thread, irt, refs, subj, is_reply, date, lists, name, email, key, spath, skey, chash) = (
        found
    )
    return CatalogRow(
        message_id=mid,
        thread_id=thread,
        in_reply_to=irt,
        refs=tuple(refs.split()) if refs else (),
        subject_normalized=subj,
        is_reply=bool(is_reply),
        date=date,
        lists=split_lists(lists),
        author_name=name,
        author_email=email,
        author_key=key,
        source_path=_text(spath) if spath else spath,
        source_key=_text(skey) if skey else skey,
        content_hash=chash,
    )
