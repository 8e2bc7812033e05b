"""The neutral query tree -> OpenSearch Query DSL.

Text leaves are analysed by OpenSearch with the field's analyzer (``mapping.py``), as the
Whoosh backend analyses them with its own: a word that splits into several tokens needs
all of them (``operator: and``), a phrase's slop counts as Whoosh's does (Whoosh's 1 is
adjacent, OpenSearch's 0), exact fields are ``term`` queries on keywords.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from core import query as q
from core.fields import BY_NAME


def _boosted(clause: dict[str, Any], boost: float) -> dict[str, Any]:
    if boost == 1.0:
        return clause
    return {"bool": {"must": [clause], "boost": boost}}


def _value(value: datetime | str | None) -> str | None:
    if isinstance(value, datetime):
        return value.replace(tzinfo=None).isoformat(timespec="microseconds")
    return value


def _leaf(node: q.Node) -> dict[str, Any]:
    if isinstance(node, q.Every):
        if node.field:
            return _boosted({"exists": {"field": node.field}}, node.boost)
        return {"match_all": {"boost": node.boost}} if node.boost != 1.0 else {"match_all": {}}
    field = BY_NAME[node.field]  # type: ignore[union-attr]
    text_field = field.kind == "text"
    if isinstance(node, q.Term):
        if text_field:
            return {"match": {field.name: {"query": node.text, "operator": "and",
                                           "boost": node.boost}}}
        value = node.text.lower() if field.lowercase else node.text
        return {"term": {field.name: {"value": value, "boost": node.boost}}}
    if isinstance(node, q.Phrase):
        if text_field:
            return {"match_phrase": {field.name: {"query": node.text, "slop": node.slop - 1,
                                                  "boost": node.boost}}}
        value = node.text.lower() if field.lowercase else node.text
        return {"term": {field.name: {"value": value, "boost": node.boost}}}
    if isinstance(node, q.Prefix):
        return {"prefix": {field.name: {"value": node.text.lower(), "boost": node.boost}}}
    if isinstance(node, q.Wildcard):
        return {"wildcard": {field.name: {"value": node.pattern.lower(), "boost": node.boost}}}
    if isinstance(node, q.Range):
        bounds: dict[str, Any] = {"boost": node.boost}
        if node.start is not None:
            bounds["gt" if node.start_excluded else "gte"] = _value(node.start)
        if node.end is not None:
            bounds["lt" if node.end_excluded else "lte"] = _value(node.end)
        return {"range": {field.name: bounds}}
    raise TypeError(f"not a query node: {node!r}")


def to_dsl(node: q.Node) -> dict[str, Any]:
    """Translate a whole tree, children before parents, without recursion."""
    done: dict[int, dict[str, Any]] = {}
    stack: list[tuple[q.Node, bool]] = [(node, False)]
    while stack:
        current, expanded = stack.pop()
        if isinstance(current, q.LEAVES):
            done[id(current)] = _leaf(current)
            continue
        if isinstance(current, (q.And, q.Or)):
            children: tuple[q.Node, ...] = current.children
        elif isinstance(current, q.Not):
            children = (current.child,)
        else:
            assert isinstance(current, q.AndMaybe)
            children = (current.required, current.optional)
        if not expanded:
            stack.append((current, True))
            stack.extend((c, False) for c in children)
            continue
        if isinstance(current, q.Or):
            done[id(current)] = {"bool": {"should": [done[id(c)] for c in children],
                                          "minimum_should_match": 1, "boost": current.boost}}
        elif isinstance(current, q.Not):
            done[id(current)] = {"bool": {"must_not": [done[id(current.child)]]}}
        elif isinstance(current, q.AndMaybe):
            done[id(current)] = {"bool": {"must": [done[id(current.required)]],
                                          "should": [done[id(current.optional)]]}}
        else:
            must = [done[id(c)] for c in current.children if not isinstance(c, q.Not)]
            must_not = [done[id(c.child)] for c in current.children if isinstance(c, q.Not)]
            clause: dict[str, Any] = {"boost": current.boost}
            if must:
                clause["must"] = must
            if must_not:
                clause["must_not"] = must_not
                if not must:
                    clause["must"] = [{"match_all": {}}]
            done[id(current)] = {"bool": clause}
    return done[id(node)]


def searched_words(node: q.Node) -> dict[str, list[str]]:
    """field -> the typed texts of a query's text leaves, for the highlighter."""
    found: dict[str, list[str]] = {}
    for leaf in q.leaves(node):
        field = getattr(leaf, "field", None)
        if field and BY_NAME[field].kind == "text":
            text = leaf.pattern if isinstance(leaf, q.Wildcard) else getattr(leaf, "text", "")
            found.setdefault(field, []).append(text)
    return found
