"""The neutral query tree -> OpenSearch Query DSL, with words analysed as the Whoosh backend's.

Text leaves are analysed here in Python by ``analysis/`` exactly as
``backends/whoosh/translate.py`` analyses them (the index holds ``analysis``'s tokens too,
``mapping.py``): a word in a text field matches its exact folded form, weighted
EXACT_BOOST, OR its language-tagged stem in every language the index holds; a phrase, a
quoted ``"word"``, a wildcard, a prefix and a range match exact forms only; a word the
analysis splits (CJK bigrams, a URL's host and path words) is a phrase of its parts. A
phrase's slop counts as Whoosh's does (Whoosh's 1 is adjacent, OpenSearch's 0). Keyword
fields are ``term`` queries. A leaf with no words left (only stop words) is dropped from
its parent as Whoosh's ``normalize`` drops it; a query with none at all is refused.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from analysis import DEFAULT_LANGUAGES, EXACT_BOOST, PHRASE_WEIGHT
from analysis.stem import query_word
from analysis.text import fold, tokenize
from core import query as q
from core.errors import QueryError
from core.fields import BY_NAME, STEMMED


def _boosted(clause: dict[str, Any], boost: float) -> dict[str, Any]:
    if boost == 1.0:
        return clause
    return {"bool": {"must": [clause], "boost": boost}}


def _value(value: datetime | str | None) -> str | None:
    if isinstance(value, datetime):
        return value.replace(tzinfo=None).isoformat(timespec="microseconds")
    return value


def _phrase(field: str, words: list[str], slop: int, boost: float) -> dict[str, Any] | None:
    if not words:
        return None
    if len(words) == 1:
        # A quoted single word: its exact form only.
        return {"term": {field: {"value": words[0], "boost": boost}}}
    return {"match_phrase": {field: {"query": " ".join(words), "slop": slop - 1,
                                     "boost": boost}}}


def _text_leaf(node: q.Node, field: str, languages: tuple[str, ...]) -> dict[str, Any] | None:
    if isinstance(node, q.Term):
        sub = STEMMED.get(field)
        tokens, stems = query_word(node.text, languages or DEFAULT_LANGUAGES,
                                   stemmed=sub is not None)
        if len(tokens) != 1:
            return _phrase(field, tokens, 1, node.boost)
        if not stems:
            return {"term": {field: {"value": tokens[0], "boost": node.boost}}}
        exact = {"term": {field: {"value": tokens[0], "boost": node.boost * EXACT_BOOST}}}
        stemmed = [{"term": {sub: {"value": s, "boost": node.boost}}} for s in stems]
        return {"bool": {"should": [exact, *stemmed], "minimum_should_match": 1}}
    if isinstance(node, q.Phrase):
        return _phrase(field, [t.text for t in tokenize(node.text, query=True)], node.slop,
                       node.boost * PHRASE_WEIGHT)
    if isinstance(node, q.Prefix):
        return {"prefix": {field: {"value": fold(node.text), "boost": node.boost}}}
    if isinstance(node, q.Wildcard):
        return {"wildcard": {field: {"value": fold(node.pattern), "boost": node.boost}}}
    if isinstance(node, q.Range):
        bounds: dict[str, Any] = {"boost": node.boost}
        if isinstance(node.start, str):
            bounds["gt" if node.start_excluded else "gte"] = fold(node.start)
        if isinstance(node.end, str):
            bounds["lt" if node.end_excluded else "lte"] = fold(node.end)
        return {"range": {field: bounds}}
    raise TypeError(f"not a query node: {node!r}")


def _leaf(node: q.Node, languages: tuple[str, ...]) -> dict[str, Any] | None:
    if isinstance(node, q.Every):
        if node.field:
            return _boosted({"exists": {"field": node.field}}, node.boost)
        return {"match_all": {"boost": node.boost}} if node.boost != 1.0 else {"match_all": {}}
    field = BY_NAME[node.field]  # type: ignore[union-attr]
    if field.kind == "text":
        return _text_leaf(node, field.name, languages)
    if isinstance(node, (q.Term, q.Phrase)):
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


def to_dsl(node: q.Node, languages: tuple[str, ...] = ()) -> dict[str, Any]:
    """Translate a whole tree, children before parents, without recursion.

    ``languages`` are the values of the index's ``lang`` field, whose stems a word is given.
    """
    found = q.fold(node, lambda leaf: _leaf(leaf, languages), _branch)
    if found is None:
        raise QueryError("the query has no words to search for (only stop words?)")
    return found


def _branch(current: q.Node, kids: list[dict[str, Any] | None]) -> dict[str, Any] | None:
    # A child without words is gone, as Whoosh's normalize() removes a NullQuery.
    if isinstance(current, q.Or):
        kept = [k for k in kids if k is not None]
        if not kept:
            return None
        return {"bool": {"should": kept, "minimum_should_match": 1, "boost": current.boost}}
    if isinstance(current, q.Not):
        return None if kids[0] is None else {"bool": {"must_not": [kids[0]]}}
    if isinstance(current, q.AndMaybe):
        required, optional = kids
        if required is None or optional is None:
            return required
        return {"bool": {"must": [required], "should": [optional]}}
    assert isinstance(current, q.And)
    pairs = list(zip(current.children, kids, strict=True))
    must = [k for c, k in pairs if not isinstance(c, q.Not) and k is not None]
    # A negated child's clause is its Not's: {"bool": {"must_not": [clause]}}.
    must_not = [k["bool"]["must_not"][0] for c, k in pairs if isinstance(c, q.Not) and k is not None]
    if not must and not must_not:
        return None
    clause: dict[str, Any] = {"boost": current.boost}
    if must:
        clause["must"] = must
    if must_not:
        clause["must_not"] = must_not
        if not must:
            clause["must"] = [{"match_all": {}}]
    return {"bool": clause}


def searched_words(node: q.Node) -> dict[str, list[str]]:
    """field -> the typed texts of a query's text leaves, for the highlighter."""
    found: dict[str, list[str]] = {}
    for leaf in q.leaves(node):
        field = getattr(leaf, "field", None)
        if field and BY_NAME[field].kind == "text":
            text = leaf.pattern if isinstance(leaf, q.Wildcard) else getattr(leaf, "text", "")
            found.setdefault(field, []).append(text)
    return found
