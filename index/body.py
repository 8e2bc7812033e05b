"""The splitting stage's one entry point: decoded body text -> :class:`Split`.

The pipeline hands over already-decoded Unicode; HTML goes through :mod:`index.html`,
anything else through :mod:`index.plain`, and both block lists through
:func:`index.quotes.split`.
"""

from __future__ import annotations

from core.config import Settings
from core.records import Split
from index.html import html_blocks
from index.plain import plain_blocks
from index.quotes import split


def split_body(text: str, content_type: str, settings: Settings | None = None,
               flowed: bool = False, delsp: bool = False) -> Split:
    """Split a body into original, quoted, signature and footer text.

    ``flowed``/``delsp``: the text/plain part declared ``format=flowed`` (``DelSp=yes``),
    the only case in which soft line breaks are joined.
    """
    settings = settings or Settings()
    text = text[: settings.max_text_chars]
    if "html" in content_type.split(";", 1)[0].lower():
        blocks = html_blocks(text, settings.max_html_depth)
    else:
        blocks = plain_blocks(text, flowed, delsp)
    return split(blocks)
