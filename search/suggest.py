""""Did you mean": words the index has never seen replaced by the nearest indexed word.

Bounded, because an engine's nearest-word search walks its vocabulary (Whoosh: 0.3-0.7 s
per word at 100,000 messages without a prefix, and 55 s for a 1,000-letter word at edit
distance 3). So: words of at most MAX_CHARS letters, each stem once, at most MAX_WORDS
lookups, and no new lookup once BUDGET_S is spent. A suggestion is offered only if it
finds mail.
"""

from __future__ import annotations

import re
import time
from typing import Any

from core.backend import Reader
from core.errors import QueryError
from core.query import Node
from search.query import ParsedQuery, parse

# Runs only for queries with fewer hits than this.
BELOW = 10
MAX_CHARS = 30
MAX_WORDS = 3
BUDGET_S = 0.5
# A bare word the user typed (not a field prefix, wildcard or operator).
_WORD = re.compile(r"(?<![\w:*?~\"-])([^\W\d_]{3,})(?![\w:*?~])")
_OPERATORS = frozenset({"AND", "OR", "NOT", "ANDNOT", "ANDMAYBE", "TO"})


def suggest(
    reader: Reader,
    parsed: ParsedQuery,
    filters: Node | None,
    max_terms: int,
    memo: dict[str, Any] | None = None,
) -> str | None:
    text = parsed.text
    started = time.perf_counter()
    replacements: dict[str, str | None] = {}
    lookups = 0
    out: list[str] = []
    last = 0
    for match in _WORD.finditer(text):
        word = match.group(1)
        if word in _OPERATORS or len(word) > MAX_CHARS:
            continue
        forms = reader.index_forms(word)
        if len(forms) != 1:
            continue
        form = forms[0]
        if form not in replacements:
            if reader.known(parsed.default_fields, form):
                replacements[form] = None
            elif lookups >= MAX_WORDS or time.perf_counter() - started > BUDGET_S:
                replacements[form] = None
            else:
                lookups += 1
                replacements[form] = reader.nearest("original", form)
        better = replacements[form]
        if better is None:
            continue
        out.append(text[last : match.start(1)])
        out.append(better)
        last = match.end(1)
    if not out:
        return None
    out.append(text[last:])
    candidate = "".join(out)
    try:
        again = parse(candidate, include_quoted=len(parsed.default_fields) > 2)
        found = reader.match(again.query, filters, "-date", 0, max_terms, memo)
    except QueryError:
        return None
    return candidate if found.total else None
