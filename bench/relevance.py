"""``python -m bench.relevance``: nDCG@10 and recall@10 per query class, before and after.

The archive is ``relevance_corpus.toml`` (hand-written messages in eleven languages and
four scripts, with URLs, addresses and quoted authors) plus generated filler that shares
none of the judged words; the judgements are ``relevance_queries.toml`` (graded: 2 what
the query is about, 1 also wanted). Both indexes are built in one run from the same
documents: "before" with the first analyzer (English Porter stems in the text fields,
``WhooshStore(legacy=True)``), "after" with ``analysis/`` (exact forms and language-tagged
stems). A query the engine refuses scores 0.

nDCG@10 uses gains 2^grade - 1 and a log2 discount, against the ideal order of the
judgements; recall@10 is the share of the judged-relevant messages in the top 10.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import tempfile
import tomllib
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from backends.whoosh.store import WhooshStore
from core.config import Settings
from core.errors import QueryError
from core.records import Author, CharsetReport, Message, Quote, SourceRef
from core.results import SearchRequest
from index.document import Identity, to_document
from search.engine import Engine

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "relevance_corpus.toml"
QUERIES = HERE / "relevance_queries.toml"
DEPTH = 10
FILLER = 400
# Filler words: meeting logistics, none of them judged, so filler is never relevant.
_FILLER_WORDS = (
    "agenda minutes travel visa hotel schedule remote session workshop room coffee lunch "
    "slides speakers moderator transcript webcast badge airport taxi dinner reminder "
    "deadline volunteers rapporteur timezone calendar venue catering microphone queue "
    "wifi projector handout summary notes tomorrow morning afternoon evening thanks"
).split()
START = datetime(2012, 1, 1, 9, 0, tzinfo=UTC)


def _message(number: int, mid: str, author: str, subject: str, body: str,
             quoted_author: str | None = None, quoted: str = "") -> Message:
    quotes = (Quote(quoted_author, None, 1, quoted),) if quoted_author else ()
    email = author.lower().replace(" ", ".") + "@lists.example.org"
    return Message(
        message_id=f"{mid}@relevance.test",
        source=SourceRef("relevance.mbox", str(number)),
        lists=("governance",),
        subject=subject,
        subject_normalized=subject.removeprefix("Re: "),
        author=Author(author, email),
        date=START + timedelta(hours=7 * number),
        date_source="header",
        in_reply_to=None,
        references=(),
        original_text=body,
        quoted_text=quoted,
        quotes=quotes,
        signature="",
        footer="",
        charset=CharsetReport("utf-8", "utf-8"),
        thread_id=f"{mid}@relevance.test",
    )


def messages(filler: int = FILLER) -> list[Message]:
    raw = tomllib.loads(CORPUS.read_text(encoding="utf-8"))["message"]
    found = [
        _message(n, m["id"], m["author"], m["subject"], m["body"], m.get("quotes"),
                 m.get("quoted", ""))
        for n, m in enumerate(raw)
    ]
    rng = random.Random(14)
    for n in range(filler):
        words = [rng.choice(_FILLER_WORDS) for _ in range(rng.randint(12, 60))]
        found.append(_message(len(raw) + n, f"filler-{n}", rng.choice(
            ("Avri Doria", "Milton Mueller", "Izumi Aizu")), " ".join(words[:4]).capitalize(),
            " ".join(words).capitalize() + "."))
    return found


def queries() -> list[dict[str, Any]]:
    return list(tomllib.loads(QUERIES.read_text(encoding="utf-8"))["query"])


def build(index_dir: Path, corpus: list[Message], legacy: bool) -> Engine:
    store = WhooshStore(index_dir, procs=1, legacy=legacy)
    try:
        writer = store.writer(len(corpus))
        for message in corpus:
            writer.add(to_document(message, Identity(name=message.author.name or "",
                                                     email=message.author.email)))
        writer.commit()
    finally:
        store.close()
    return Engine(Settings(index_dir=index_dir))


def ndcg(ranked: list[str], judged: dict[str, int], depth: int = DEPTH) -> float:
    gains = [2 ** judged.get(mid, 0) - 1 for mid in ranked[:depth]]
    dcg = sum(g / math.log2(i + 2) for i, g in enumerate(gains))
    ideal = sorted((2 ** g - 1 for g in judged.values()), reverse=True)[:depth]
    best = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / best if best else 0.0


def recall(ranked: list[str], judged: dict[str, int], depth: int = DEPTH) -> float:
    relevant = {mid for mid, grade in judged.items() if grade > 0}
    return len(relevant & set(ranked[:depth])) / len(relevant) if relevant else 0.0


def score(engine: Engine, cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    scored = []
    for case in cases:
        judged = {f"{mid}@relevance.test": grade for mid, grade in case["relevant"].items()}
        try:
            found = engine.search(SearchRequest(query=case["q"], page_size=DEPTH,
                                                with_facets=False, highlight=False))
            ranked = [hit.message_id for hit in found.hits]
        except QueryError:
            ranked = []
        scored.append({"q": case["q"], "class": case["class"], "ndcg": ndcg(ranked, judged),
                       "recall": recall(ranked, judged)})
    return scored


def by_class(scored: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in scored:
        groups[row["class"]].append(row)
    groups["overall"] = scored
    return {
        name: {"queries": len(rows), "ndcg": sum(r["ndcg"] for r in rows) / len(rows),
               "recall": sum(r["recall"] for r in rows) / len(rows)}
        for name, rows in groups.items()
    }


def run(filler: int = FILLER) -> dict[str, Any]:
    corpus = messages(filler)
    cases = queries()
    result: dict[str, Any] = {"messages": len(corpus), "queries": len(cases)}
    with tempfile.TemporaryDirectory(prefix="govmail-relevance-") as tmp:
        for name, legacy in (("before", True), ("after", False)):
            engine = build(Path(tmp) / name, corpus, legacy)
            try:
                rows = score(engine, cases)
            finally:
                engine.reader.close()
            result[name] = {"classes": by_class(rows), "queries": rows}
    return result


def table(result: dict[str, Any]) -> str:
    before, after = result["before"]["classes"], result["after"]["classes"]
    names = [n for n in before if n != "overall"] + ["overall"]
    lines = [
        f"relevance: {result['queries']} queries over {result['messages']} messages "
        f"(nDCG@{DEPTH} / recall@{DEPTH}, before -> after)",
        f"{'class':<14}{'queries':>8}  {'nDCG before':>11}  {'after':>6}  "
        f"{'recall before':>13}  {'after':>6}",
    ]
    for name in names:
        b, a = before[name], after[name]
        lines.append(f"{name:<14}{b['queries']:>8}  {b['ndcg']:>11.3f}  {a['ndcg']:>6.3f}  "
                     f"{b['recall']:>13.3f}  {a['recall']:>6.3f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--json", type=Path, help="also write the figures (every query) here")
    parser.add_argument("--filler", type=int, default=FILLER, help="generated filler messages")
    parser.add_argument("--worst", type=int, default=0,
                        help="list the N queries scoring lowest after")
    args = parser.parse_args(argv)
    result = run(args.filler)
    print(table(result))
    if args.worst:
        rows = sorted(result["after"]["queries"], key=lambda r: (r["ndcg"], r["recall"]))
        for row in rows[: args.worst]:
            print(f"  {row['ndcg']:.3f} {row['recall']:.3f} [{row['class']}] {row['q']}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, ensure_ascii=False), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
