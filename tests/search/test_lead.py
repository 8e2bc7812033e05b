"""core.snippets.lead: the opening of a message as its snippet, whitespace collapsed as the
``\\s+`` regex collapses it (str.split is used for speed; the two must not drift)."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from core.snippets import SNIPPET_CHARS, lead

_SPACES = re.compile(r"\s+")
SPACES = " \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85\xa0\u2028\u3000"


def reference(text: str) -> str:
    flat = _SPACES.sub(" ", text).strip()
    if len(flat) > SNIPPET_CHARS:
        cut = flat.rfind(" ", 0, SNIPPET_CHARS)
        flat = flat[: cut if cut > SNIPPET_CHARS // 2 else SNIPPET_CHARS] + " …"
    return flat


@given(st.text(alphabet=st.sampled_from("ab" + SPACES), max_size=3000))
def test_lead_collapses_whitespace_as_the_regex_does(text: str) -> None:
    found = lead(text)
    assert (found[0][0] if found else "") == reference(text)


def test_a_long_head_of_blank_lines_still_reaches_the_words() -> None:
    text = "\n" * 2000 + "Dear colleagues, " * 30
    assert lead(text)[0][0].startswith("Dear colleagues, Dear")
