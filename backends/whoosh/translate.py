"""The neutral query tree -> Whoosh queries, analysed as the index they run on was built.

An index of the current analysis (``analysis/``, version 2): a word in a text field matches
its exact folded form, ranked EXACT_BOOST higher, OR its language-tagged stem in any
language the index holds (Xapian's STEM_SOME); a phrase, a quoted ``"word"``, a wildcard
and a range match exact forms only, so ``"governance"`` is exactly that word and
``governanc*`` expands over the words as written. A word the analysis splits (CJK bigrams,
a URL's host and path words) is a phrase of its parts.

An index of the first analyzer (Porter stems in the field itself) is translated exactly as
Whoosh's query parser did then (terms with ``process_text(mode="query")``, phrases with
``tokenize``, prefixes untokenized with stop words kept), so it answers as it did until it is
rebuilt. Also the two checks that need the index's vocabulary: how far wildcards expand, and
which words to highlight.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from whoosh import query as wq
from whoosh.fields import Schema

from analysis import ANALYSIS_VERSION, DEFAULT_LANGUAGES, EXACT_BOOST, PHRASE_WEIGHT
from analysis.stem import query_word
from analysis.text import fold, tokenize
from backends.whoosh.schema import SCHEMA, analysis_version
from core import query as q
from core.errors import QueryError
from core.fields import BY_NAME, DEFAULT_FIELDS, PREFIXES, STEMMED

# quotes: reached the exact quoted_author keyword field in the first analyzer's indexes.
_LEGACY_FIELDS = {"quoted_author_text": "quoted_author"}

# Field -> the prefix a reason names it by; bare words (the default fields) need none.
_TYPED_PREFIX: dict[str, str] = {
    f: p for p, f in reversed(PREFIXES.items()) if f not in DEFAULT_FIELDS
}


class _Context:
    """What a translation depends on: the index's schema, its analysis and its languages."""

    def __init__(self, schema: Schema | None, languages: tuple[str, ...]) -> None:
        self.schema = schema if schema is not None else SCHEMA
        self.current = analysis_version(self.schema) == ANALYSIS_VERSION
        self.languages = languages or DEFAULT_LANGUAGES

    def leaf(self, node: q.Node) -> wq.Query:
        if self.current:
            return self._leaf(node)
        field = getattr(node, "field", None)
        if field in _LEGACY_FIELDS:
            node = _renamed(node, _LEGACY_FIELDS[field])
        return _legacy_leaf(node, self.schema)

    def _leaf(self, node: q.Node) -> wq.Query:
        field = getattr(node, "field", None)
        if field not in BY_NAME or BY_NAME[field].kind != "text":
            return _legacy_leaf(node, self.schema)
        if isinstance(node, q.Term):
            sub = STEMMED.get(field)
            tokens, stems = query_word(node.text, self.languages,
                                       stemmed=sub is not None and sub in self.schema)
            if len(tokens) != 1:
                return _phrase(field, tokens, 1, node.boost)
            if not stems:
                return wq.Term(field, tokens[0], boost=node.boost)
            exact = wq.Term(field, tokens[0], boost=node.boost * EXACT_BOOST)
            return wq.Or([exact, *(wq.Term(sub, s, boost=node.boost) for s in stems)])
        if isinstance(node, q.Phrase):
            return _phrase(field, [t.text for t in tokenize(node.text, query=True)],
                           node.slop, node.boost * PHRASE_WEIGHT)
        if isinstance(node, q.Prefix):
            return wq.Prefix(field, fold(node.text), boost=node.boost)
        if isinstance(node, q.Wildcard):
            return wq.Wildcard(field, fold(node.pattern), boost=node.boost)
        if isinstance(node, q.Range):
            start = fold(node.start) if isinstance(node.start, str) else None
            end = fold(node.end) if isinstance(node.end, str) else None
            return wq.TermRange(field, start, end, node.start_excluded, node.end_excluded,
                                boost=node.boost)
        return _legacy_leaf(node, self.schema)


def _phrase(field: str, words: list[str], slop: int, boost: float) -> wq.Query:
    if not words:
        return wq.NullQuery
    if len(words) == 1:
        # A quoted single word: its exact form only.
        return wq.Term(field, words[0], boost=boost)
    return wq.Phrase(field, words, slop=slop, boost=boost)


def _renamed(node: q.Node, field: str) -> q.Node:
    if isinstance(node, q.Phrase):
        return q.Term(field, node.text, node.boost)
    if isinstance(node, (q.Term, q.Prefix, q.Wildcard, q.Range)):
        return dataclasses.replace(node, field=field)
    if isinstance(node, q.Every):
        return q.Every(field, node.boost)
    return node


def _legacy_leaf(node: q.Node, schema: Schema) -> wq.Query:
    def _texts(field: str, text: str, **options: Any) -> list[str]:
        return list(schema[field].process_text(text, mode="query", **options))

    if isinstance(node, q.Term):
        texts = _texts(node.field, node.text)
        if not texts:
            return wq.NullQuery
        if len(texts) == 1:
            return wq.Term(node.field, texts[0], boost=node.boost)
        # A word the analyzer splits ("confidence-building"): all of its parts.
        return wq.And([wq.Term(node.field, t) for t in texts], boost=node.boost)
    if isinstance(node, q.Phrase):
        words = [t.text for t in schema[node.field].tokenize(node.text, mode="query")]
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


def to_whoosh(
    node: q.Node, schema: Schema | None = None, languages: tuple[str, ...] = ()
) -> wq.Query:
    """Translate a whole tree, children before parents, without recursion.

    ``schema`` is the index's (default: the current one), ``languages`` the values of its
    ``lang`` field, whose stems a word is given.
    """
    context = _Context(schema, languages)
    translated = q.fold(node, context.leaf, _branch).normalize()
    if translated is wq.NullQuery:
        raise QueryError("the query has no words to search for (only stop words?)")
    return translated


def _branch(node: q.Node, kids: list[wq.Query]) -> wq.Query:
    if isinstance(node, q.Or):
        return wq.Or(kids, boost=node.boost)
    if isinstance(node, q.Not):
        return wq.Not(kids[0])
    if isinstance(node, q.AndMaybe):
        return wq.AndMaybe(kids[0], kids[1])
    assert isinstance(node, q.And)
    return _and(node, kids)


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
