"""The engines users would pick instead, over the same corpus and queries, in the same run.

SQLite FTS5 (standard library, porter stemmer, stores the text like govmail does) and
tantivy (``en_stem``, 2 writer threads) index ``docs.jsonl``: the ground truth of the
sample corpus (subject, original and quoted text, author, list, date). Both search the
subject and original text with AND between words, load the stored fields of the top 20
hits, and report indexing rate and plain/phrase p50/p95. Their indexing starts from
ready text, so their rate compares with govmail's index stage, not with its end-to-end
rate (which also decodes MIME); __main__ prints both ratios.

These are development extras of the benchmark only (the ``bench`` extra in pyproject).
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.queries import QuerySet, timed

LIMIT = 20


def _docs(docs_path: Path) -> Iterator[dict[str, Any]]:
    with open(docs_path, encoding="utf-8") as lines:
        for line in lines:
            yield json.loads(line)


def _dir_bytes(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


# --------------------------------------------------------------------------- FTS5


def fts5_match(text: str) -> str:
    """A plain or phrase query as an FTS5 expression over subject and original text."""
    if text.startswith('"'):
        return "{subject original} : " + text
    return "{subject original} : (" + " AND ".join(f'"{w}"' for w in text.split()) + ")"


def run_fts5(docs_path: Path, workdir: Path, queries: QuerySet, repeat: int) -> dict[str, Any]:
    path = workdir / "fts5.sqlite"
    for leftover in workdir.glob("fts5.sqlite*"):
        leftover.unlink()
    workdir.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path)
    db.execute(
        "CREATE VIRTUAL TABLE docs USING fts5(message_id UNINDEXED, subject, original, quoted, "
        "author, list UNINDEXED, date UNINDEXED, tokenize='porter unicode61 remove_diacritics 2')"
    )
    started = time.perf_counter()
    count = 0
    with db:
        rows = (
            (
                d["id"],
                d["subject"],
                d["original"],
                d["quoted"],
                d["author"] or "",
                d["list"],
                d["date"],
            )
            for d in _docs(docs_path)
        )
        for row in rows:
            db.execute("INSERT INTO docs VALUES (?, ?, ?, ?, ?, ?, ?)", row)
            count += 1
    index_s = time.perf_counter() - started
    search = (
        "SELECT message_id, subject, author, date FROM docs WHERE docs MATCH ? "
        f"ORDER BY rank LIMIT {LIMIT}"
    )

    def run(text: str) -> None:
        db.execute(search, (fts5_match(text),)).fetchall()

    plain = timed(run, queries.plain, repeat)
    phrase = timed(run, queries.phrase_strings(), repeat)
    db.close()
    return {
        "docs": count,
        "index_s": round(index_s, 2),
        "msgs_per_s": round(count / index_s, 1),
        "index_bytes": _dir_bytes(path),
        "plain": plain.to_json(),
        "phrase": phrase.to_json(),
        "version": sqlite3.sqlite_version,
    }


# ------------------------------------------------------------------------- tantivy


def run_tantivy(docs_path: Path, workdir: Path, queries: QuerySet, repeat: int) -> dict[str, Any]:
    import tantivy

    path = workdir / "tantivy"
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("message_id", stored=True, tokenizer_name="raw")
    builder.add_text_field("subject", stored=True, tokenizer_name="en_stem")
    builder.add_text_field("original", stored=True, tokenizer_name="en_stem")
    builder.add_text_field("quoted", stored=True, tokenizer_name="en_stem")
    builder.add_text_field("author", stored=True, tokenizer_name="raw", fast=True)
    builder.add_text_field("list", stored=True, tokenizer_name="raw", fast=True)
    builder.add_date_field("date", stored=True, fast=True)
    index = tantivy.Index(builder.build(), path=str(path))
    started = time.perf_counter()
    writer = index.writer(256_000_000, 2)
    count = 0
    for d in _docs(docs_path):
        writer.add_document(
            tantivy.Document(
                message_id=d["id"],
                subject=d["subject"],
                original=d["original"],
                quoted=d["quoted"],
                author=d["author"] or "",
                list=d["list"],
                date=datetime.fromtimestamp(d["date"], UTC),
            )
        )
        count += 1
    writer.commit()
    writer.wait_merging_threads()
    index_s = time.perf_counter() - started
    index.reload()
    searcher = index.searcher()

    def run(text: str) -> None:
        query = index.parse_query(text, ["subject", "original"], conjunction_by_default=True)
        for _score, address in searcher.search(query, LIMIT).hits:
            searcher.doc(address)

    plain = timed(run, queries.plain, repeat)
    phrase = timed(run, queries.phrase_strings(), repeat)
    return {
        "docs": count,
        "index_s": round(index_s, 2),
        "msgs_per_s": round(count / index_s, 1),
        "index_bytes": _dir_bytes(path),
        "plain": plain.to_json(),
        "phrase": phrase.to_json(),
        "version": getattr(tantivy, "__version__", "?"),
    }


def run_baselines(docs_path: Path, workdir: Path, queries: QuerySet, repeat: int) -> dict[str, Any]:
    """Both engines; one that cannot run says why instead of stopping the other."""
    figures: dict[str, Any] = {}
    for name, run in (("fts5", run_fts5), ("tantivy", run_tantivy)):
        try:
            figures[name] = run(docs_path, workdir / "baselines", queries, repeat)
        except ImportError as exc:
            figures[name] = {"skipped": f"{exc}"}
    return figures
