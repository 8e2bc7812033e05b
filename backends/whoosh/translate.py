"""The neutral query tree -> Whoosh queries, analysed with each field's own analyzer.

The analysis is exactly what Whoosh's query parser did for the first round (terms with
``process_text(mode="query")``, phrases with ``tokenize``, prefixes untokenized with stop
words kept), so indexes built then answer the same. Also the two checks that need the
index's vocabulary: how far wildcards expand, and which words to highlight.
"""

from __future__ import annotations

from typing import Any

from whoosh import query as wq

from backends.whoosh.schema import SCHEMA
from core import query as q
from core.errors import QueryError
from core.fields import BY_NAME, DEFAULT_FIELDS, PREFIXES

# Field -> the prefix a reason names it by; bare words (the default fields) need none.
_TYPED_PREFIX: dict[str, str] = {
    f: p for p, f in reversed(PREFIXES.items()) if f not in DEFAULT_FIELDS
}


def _texts(field: str, text: str, **options: Any) -> list[str]:
    return list(SCHEMA[field].process_text(text, mode="query", **options))


def _leaf(node: q.Node) -> wq.Query:
    if isinstance(node, q.Term):
        texts = _texts(node.field, node.text)
        if not texts:
            return wq.NullQuery
        if len(texts) == 1:
            return wq.Term(node.field, texts[0], boost=node.boost)
        # A word the analyzer splits ("confidence-building"): all of its parts.
        return wq.And([wq.Term(node.field, t) for t in texts], boost=node.boost)
    if isinstance(node, q.Phrase):
        words = [t.text for t in SCHEMA[node.field].tokenize(node.text, mode="query")]
        if not words:
            return wq.NullQuery
        return wq.Phrase(node.field, words, slop=node.slop, boost=node.boost)
    if isinstance(node, (q.Prefix, q.Wildcard)):
        raw = node.text if isinstance(node, q.Prefix) else node.pattern
        texts = _texts(node.field, raw, tokenize=False, removestops=False)
        if not texts:
            return wq.NullQuery
        make = wq.Prefix if isinstance(node, q.Prefix) else wq.Wildcard
        return make(node.field, texts[0], boost=node.boost)
    if isinstance(node, q.Range):
        if BY_NAME[node.field].kind == "date":
            return wq.DateRange(node.field, node.start, node.end, node.start_excluded,
                                node.end_excluded, boost=node.boost)
        start = _texts(node.field, node.start, tokenize=False, removestops=False) if node.start else []
        end = _texts(node.field, node.end, tokenize=False, removestops=False) if node.end else []
        return wq.TermRange(node.field, start[0] if start else None, end[0] if end else None,
                            node.start_excluded, node.end_excluded, boost=node.boost)
    if isinstance(node, q.Every):
        return wq.Every(node.field, boost=node.boost) if node.field else wq.Every(
            boost=node.boost)
    raise TypeError(f"not a query node: {node!r}")


def to_whoosh(node: q.Node) -> wq.Query:
    """Translate a whole tree, children before parents, without recursion."""
    done: dict[int, wq.Query] = {}
    stack: list[tuple[q.Node, bool]] = [(node, False)]
    while stack:
        current, expanded = stack.pop()
        if isinstance(current, q.LEAVES):
            done[id(current)] = _leaf(current)
            continue
        children: tuple[q.Node, ...]
        if isinstance(current, (q.And, q.Or)):
            children = current.children
        elif isinstance(current, q.Not):
            children = (current.child,)
        else:
            assert isinstance(current, q.AndMaybe)
            children = (current.required, current.optional)
        if not expanded:
            stack.append((current, True))
            stack.extend((c, False) for c in children)
            continue
        kids = [done[id(c)] for c in children]
        if isinstance(current, q.Or):
            done[id(current)] = wq.Or(kids, boost=current.boost)
        elif isinstance(current, q.Not):
            done[id(current)] = wq.Not(kids[0])
        elif isinstance(current, q.AndMaybe):
            done[id(current)] = wq.AndMaybe(kids[0], kids[1])
        else:
            done[id(current)] = _and(current, kids)
    translated = done[id(node)].normalize()
    if translated is wq.NullQuery:
        raise QueryError("the query has no words to search for (only stop words?)")
    return translated


def _and(node: q.And, kids: list[wq.Query]) -> wq.Query:
    negated = [k.query for c, k in zip(node.children, kids, strict=True) if isinstance(c, q.Not)]
    positive = [k for c, k in zip(node.children, kids, strict=True) if not isinstance(c, q.Not)]
    if negated and all(isinstance(p, wq.Every) and not p.fieldname for p in positive):
        # And([Every(), Not(x)]).normalize() drops the Not in Whoosh 2.7; AndNot keeps it.
        excluded = negated[0] if len(negated) == 1 else wq.Or(negated)
        return wq.AndNot(wq.Every(), excluded)
    return wq.And([*positive, *(wq.Not(n) for n in negated)], boost=node.boost)


def check_expansion(query: wq.Query, reader: Any, max_terms: int) -> None:
    """Refuse wildcards, prefixes, ranges and ``field:*`` that expand to too many index terms."""
    leaves = [query] if query.is_leaf() else list(query.leaves())
    total = 0
    for leaf in leaves:
        if isinstance(leaf, wq.Every) and leaf.fieldname:
            # "quoted:*", "from:*": Whoosh walks the postings of every term of the field
            # (1.8 s for quoted:* on 400 messages of 6,000 words), so a field with more
            # words than the bound is refused like "a*".
            terms = reader.lexicon(leaf.fieldname)
        elif isinstance(leaf, wq.MultiTerm):
            terms = leaf._btexts(reader)
        else:
            continue
        expanded = 0
        for _ in terms:
            expanded += 1
            if total + expanded > max_terms:
                raise QueryError(
                    f"{_as_typed(leaf)} matches too many words (more than {max_terms}); "
                    "make it longer"
                )
        total += expanded


def _as_typed(leaf: wq.Query) -> str:
    if isinstance(leaf, wq.Every):
        return f"{_TYPED_PREFIX.get(leaf.fieldname, leaf.fieldname)}:*"
    if isinstance(leaf, wq.TermRange):
        # A range has no .text; name it as it was written: subject:[a TO z].
        written = str(leaf).split(":", 1)[1]
        return (
            f"{_TYPED_PREFIX[leaf.fieldname]}:{written}"
            if leaf.fieldname in _TYPED_PREFIX
            else written
        )
    text = getattr(leaf, "text", "")
    if isinstance(leaf, wq.Prefix):
        return f"{text}*"
    return str(text)


def expanded_terms(query: wq.Query, reader: Any) -> dict[str, set[str]]:
    """field -> every index word of the query in that field, wildcards expanded."""
    found: dict[str, set[str]] = {}
    leaves = [query] if query.is_leaf() else list(query.leaves())
    for leaf in leaves:
        field = getattr(leaf, "fieldname", None)
        if field is None:
            continue
        if isinstance(leaf, wq.MultiTerm):
            words = {b.decode("utf-8") if isinstance(b, bytes) else b for b in leaf._btexts(reader)}
        elif isinstance(leaf, wq.Phrase):
            words = set(leaf.words)
        elif isinstance(leaf, wq.Term) and isinstance(leaf.text, str):
            words = {leaf.text}
        else:
            continue
        found.setdefault(field, set()).update(words)
    return found
