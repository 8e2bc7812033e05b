"""The writer: dedupe, cross-posts, lock, batches, two-phase commit repair, rewrites."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from core.config import Settings
from core.errors import IndexLocked
from core.records import Author, CharsetReport, Message, SourceRef
from index.catalog import Catalog
from index.lock import WriterLock
from index.writer import IndexWriterSession
from tests.conftest import REPO
from tests.indexing import document_count, stored_documents

BASE = datetime(2010, 2, 18, 13, 26, tzinfo=UTC)


def make_message(
    n: int,
    *,
    lists: tuple[str, ...] = ("governance",),
    name: str | None = None,
    email: str | None = None,
    subject: str | None = None,
    in_reply_to: str | None = None,
    references: tuple[str, ...] = (),
    days: float | None = None,
    text: str | None = None,
    message_id: str | None = None,
) -> Message:
    """A finished record as the pipeline would give it, for tests without parsing."""
    subject = subject if subject is not None else f"Topic {n}"
    normalized = subject
    for prefix in ("Re: ", "RE: ", "Fwd: "):
        normalized = normalized.removeprefix(prefix)
    return Message(
        message_id=message_id or f"<m{n}@example.org>",
        source=SourceRef("/archive/governance.mbox", str(n * 1000)),
        lists=lists,
        subject=subject,
        subject_normalized=normalized,
        author=Author(name if name is not None else f"Author {n % 7}",
                      email if email is not None else f"author{n % 7}@example.org"),
        date=BASE + timedelta(days=n if days is None else days),
        date_source="header",
        in_reply_to=in_reply_to,
        references=references,
        original_text=text or f"Enhanced cooperation paragraph number {n} on the Tunis Agenda.",
        quoted_text="",
        quotes=(),
        signature="",
        footer="",
        charset=CharsetReport("utf-8", "utf-8"),
    )


def stored(index_dir: Path) -> dict[str, dict]:
    return stored_documents(index_dir)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(index_dir=tmp_path / "ix", lock_timeout=1.0, batch_size=50)


def test_dedupe_and_idempotence(settings: Settings) -> None:
    messages = [make_message(n) for n in range(120)]
    with IndexWriterSession(settings) as session:
        added = [session.add(m) for m in messages]
    assert added == [True] * 120
    first = stored(settings.index_dir)
    assert len(first) == 120
    with IndexWriterSession(settings) as session:
        again = [session.add(m) for m in messages]
        assert session.commits == 0
    assert again == [False] * 120
    assert stored(settings.index_dir) == first
    assert document_count(settings.index_dir) == 120


def test_batches_commit_every_batch_size(settings: Settings) -> None:
    with IndexWriterSession(settings) as session:
        for n in range(120):
            session.add(make_message(n))
        # 120 messages at batch_size 50: two commits so far, the rest on exit.
        assert session.commits == 2
        assert session.pending == 20
    assert document_count(settings.index_dir) == 120


def test_cross_post_keeps_every_list(settings: Settings) -> None:
    with IndexWriterSession(settings) as session:
        assert session.add(make_message(1, lists=("governance",)))
        # Same Message-ID within the same batch, from another list.
        assert not session.add(make_message(1, lists=("bestbits",)))
        assert session.add(make_message(2, lists=("igf-discuss",)))
    with IndexWriterSession(settings) as session:
        # A later run brings the committed message from a third list.
        assert not session.add(make_message(2, lists=("icann-council",)))
        assert not session.add(make_message(2, lists=("igf-discuss",)))
    docs = stored(settings.index_dir)
    assert docs["<m1@example.org>"]["list"] == "governance,bestbits"
    assert docs["<m2@example.org>"]["list"] == "igf-discuss,icann-council"
    assert len(docs) == 2
    catalog = Catalog(settings.index_dir)
    assert catalog.get("<m2@example.org>").lists == ("igf-discuss", "icann-council")
    catalog.close()


def test_thread_rewrite_when_parent_arrives_later(settings: Settings) -> None:
    child = make_message(2, subject="Re: IANA", in_reply_to="<m1@example.org>",
                         references=("<m1@example.org>",))
    with IndexWriterSession(settings) as session:
        session.add(child)
    assert stored(settings.index_dir)["<m2@example.org>"]["thread_id"] == "<m2@example.org>"
    with IndexWriterSession(settings) as session:
        session.add(make_message(1, subject="IANA"))
    docs = stored(settings.index_dir)
    assert {m: d["thread_id"] for m, d in docs.items()} == {
        "<m1@example.org>": "<m1@example.org>",
        "<m2@example.org>": "<m1@example.org>",
    }
    # The rewritten document kept everything else.
    assert docs["<m2@example.org>"]["original"] == child.original_text
    assert docs["<m2@example.org>"]["date"] == child.date.replace(tzinfo=None)


def test_subject_reply_that_bridges_the_window_joins_the_next_one(settings: Settings) -> None:
    """A new message inside a subject group: the reply just after it re-parents, nothing else."""
    with IndexWriterSession(settings) as session:
        session.add(make_message(1, subject="Agenda", days=0))
        # No In-Reply-To, and 40 days after m1: beyond the 30-day subject window, alone.
        session.add(make_message(3, subject="Re: Agenda", days=40))
        session.add(make_message(4, subject="Re: Agenda", days=45))
        session.add(make_message(5, subject="Other", days=41))
    before = {m: d["thread_id"] for m, d in stored(settings.index_dir).items()}
    assert before["<m3@example.org>"] == before["<m4@example.org>"] == "<m3@example.org>"
    with IndexWriterSession(settings) as session:
        # Day 20: within the window of m1 and of m3, so m1's thread takes m3 and m4 along.
        session.add(make_message(2, subject="Re: Agenda", days=20))
    assert session.rewritten == 2
    after = {m: d["thread_id"] for m, d in stored(settings.index_dir).items()}
    assert after == {
        **before,
        "<m2@example.org>": "<m1@example.org>",
        "<m3@example.org>": "<m1@example.org>",
        "<m4@example.org>": "<m1@example.org>",
    }


def test_catalog_of_an_older_layout_gains_links_and_subject_keys(settings: Settings) -> None:
    """A catalog written before the incremental flush is migrated when a writer opens it."""
    with IndexWriterSession(settings) as session:
        session.add(make_message(2, subject="Re: IANA", in_reply_to="<m1@example.org>",
                                 references=("<m1@example.org>",)))
        session.add(make_message(3, subject="Re: WSIS", days=3))
    catalog = Catalog(settings.index_dir)
    catalog.begin()
    catalog.db.execute("DELETE FROM links")
    catalog.db.execute("UPDATE messages SET subject_key = NULL")
    catalog.db.execute("DELETE FROM meta WHERE key = 'layout'")
    catalog.db.execute("COMMIT")
    catalog._in_tx = False
    catalog.close()
    with IndexWriterSession(settings) as session:
        # Found through the rebuilt links: the parent of an already indexed reply.
        session.add(make_message(1, subject="IANA"))
        # Found through the rebuilt subject keys: the message before m3 in "WSIS".
        session.add(make_message(4, subject="WSIS", days=2))
    threads = {m: d["thread_id"] for m, d in stored(settings.index_dir).items()}
    assert threads == {
        "<m1@example.org>": "<m1@example.org>",
        "<m2@example.org>": "<m1@example.org>",
        "<m3@example.org>": "<m4@example.org>",
        "<m4@example.org>": "<m4@example.org>",
    }
    catalog = Catalog(settings.index_dir)
    assert catalog.get_meta("layout") == "2"
    links = sorted(catalog.db.execute("SELECT target, message_id FROM links"))
    assert links == [("<m1@example.org>", "<m2@example.org>")]
    catalog.close()


def test_identity_rewrite_when_spelling_majority_changes(settings: Settings) -> None:
    email = "parminder@itforchange.net"
    with IndexWriterSession(settings) as session:
        session.add(make_message(1, name="parminder", email=email))
    assert stored(settings.index_dir)["<m1@example.org>"]["author"] == "parminder"
    with IndexWriterSession(settings) as session:
        session.add(make_message(2, name="Parminder Jeet Singh", email=email))
        session.add(make_message(3, name="Parminder Jeet Singh", email=email))
        # A name-only message (pipermail style) with a name seen with one address.
        session.add(make_message(4, name="Parminder Jeet Singh", email=""))
    docs = stored(settings.index_dir)
    assert {m: d["author"] for m, d in docs.items()} == {
        f"<m{n}@example.org>": "Parminder Jeet Singh" for n in (1, 2, 3, 4)
    }
    assert {d.get("email") for d in docs.values()} == {email}


def test_second_writer_times_out_with_a_clear_message(settings: Settings) -> None:
    with IndexWriterSession(settings):
        started = time.monotonic()
        with pytest.raises(IndexLocked, match=r"another govmail writer \(pid \d+\)"):
            with IndexWriterSession(settings):
                pass
        assert 0.9 <= time.monotonic() - started < 3.0
    # Released on exit: the next writer gets it at once.
    with IndexWriterSession(settings) as session:
        session.add(make_message(1))
    assert document_count(settings.index_dir) == 1


def test_lock_of_a_killed_process_is_not_stale(settings: Settings) -> None:
    settings.index_dir.mkdir(parents=True)
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time; from pathlib import Path; from index.lock import WriterLock; "
         "WriterLock(Path(sys.argv[1]), 1.0).acquire(); print('locked', flush=True); "
         "time.sleep(120)", str(settings.index_dir)],
        cwd=REPO, stdout=subprocess.PIPE, text=True,
    )
    with holder:
        assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
        with pytest.raises(IndexLocked, match=f"pid {holder.pid}"):
            WriterLock(settings.index_dir, 0.2).acquire()
        holder.kill()
        holder.wait()
    lock = WriterLock(settings.index_dir, 0.2)
    lock.acquire()
    lock.release()


def test_a_deleted_lock_file_admits_no_second_writer(settings: Settings) -> None:
    """A real second process: the lock is the directory's flock, not the file's existence."""
    settings.index_dir.mkdir(parents=True)
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time; from pathlib import Path; from index.lock import WriterLock; "
         "WriterLock(Path(sys.argv[1]), 1.0).acquire(); print('locked', flush=True); "
         "time.sleep(120)", str(settings.index_dir)],
        cwd=REPO, stdout=subprocess.PIPE, text=True,
    )
    with holder:
        assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
        (settings.index_dir / "writer.lock").unlink()
        with pytest.raises(IndexLocked, match="another govmail writer"):
            with IndexWriterSession(replace(settings, lock_timeout=0.3)) as session:
                session.add(make_message(1))
        holder.kill()
        holder.wait()
    assert document_count(settings.index_dir) == 0


def test_reconcile_after_whoosh_went_ahead(settings: Settings) -> None:
    with IndexWriterSession(settings) as session:
        for n in range(10):
            session.add(make_message(n))
    # Simulate a crash between the two commits: the catalog loses its last
    # transaction while the Whoosh commit stays.
    catalog = Catalog(settings.index_dir)
    catalog.begin()
    catalog.delete_messages([f"<m{n}@example.org>" for n in range(5, 10)])
    catalog.set_meta("whoosh_generation", "0")
    catalog.commit(0)
    catalog.close()
    with IndexWriterSession(settings) as session:
        assert session.reconciled == 5
        added = [session.add(make_message(n)) for n in range(12)]
    assert added == [False] * 10 + [True] * 2
    assert document_count(settings.index_dir) == 12
    catalog = Catalog(settings.index_dir)
    assert catalog.count() == 12
    row = catalog.get("<m7@example.org>")
    assert (row.author_name, row.author_email, row.lists) == (
        "Author 0", "author0@example.org", ("governance",))
    catalog.close()


def test_runs_see_whole_commits_only(settings: Settings) -> None:
    """A reader opened mid-run sees the previous commit, never a partial segment."""
    with IndexWriterSession(settings) as session:
        for n in range(50):
            session.add(make_message(n))
        assert document_count(settings.index_dir) == 50
        for n in range(50, 80):
            session.add(make_message(n))
        assert document_count(settings.index_dir) == 50
    assert document_count(settings.index_dir) == 80
    meta = json.loads(stored(settings.index_dir)["<m3@example.org>"]["meta_json"])
    assert meta["author_email"] == "author3@example.org"
