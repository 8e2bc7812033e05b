"""Plain text -> blocks: ``>`` quote depth per line, paragraphs kept, interleaving kept in order.

Depth is the number of ``>`` at the start of a line, whatever the spacing (``> >``,
``>>``, ``>> >``); RFC 3676 space-stuffing and format=flowed soft breaks are undone so a
flowed paragraph becomes one line. Lines are scanned with a plain loop (no regex over
the whole text), so 32 KB of ``>`` lines cost linear time.
"""

from __future__ import annotations

import re
import unicodedata

from core.records import Block

_LINK_OPEN = re.compile(
    r"<(?:https?|ftp|mailto):[^>\s]*$|<[^<>\s@]+@[^<>\s]*$|<[^<>\s]+\s+at\s+[^<>\s]+$|<$",
    re.IGNORECASE,
)
# ">>> http://example.com <<<" style banners are not quotes. Possessive: with a plain
# >{2,} every line opening with n '>' backtracked n x 200 steps (a 1,500-level quote
# staircase took 4-5 s); giving '>' back to the middle can never help the match.
_ARROW_ART = re.compile(r"^>{2,}+.{0,200}<{2,}\s*$")
# Inside one physical line a quote may not be deeper than this.
MAX_DEPTH = 64


def quote_prefix(line: str) -> tuple[int, str]:
    """Count the leading ``>`` markers of a line (spaces between them allowed)."""
    depth = 0
    i = 0
    n = len(line)
    while i < n and depth < MAX_DEPTH:
        ch = line[i]
        if ch == ">":
            depth += 1
            i += 1
        elif ch in " \t" and depth and i + 1 < n and _next_marker(line, i):
            i += 1
        elif ch in " \t" and not depth and i < 4:
            i += 1
        else:
            break
    if not depth:
        return 0, line
    rest = line[i:]
    if rest.startswith(" "):
        rest = rest[1:]
    return depth, rest


def _next_marker(line: str, i: int) -> bool:
    j = i
    while j < len(line) and line[j] in " \t":
        j += 1
    return j < len(line) and line[j] == ">"


def _is_arrow_art(line: str) -> bool:
    stripped = line.strip()
    # Most quoted lines do not end in "<<": no regex for them.
    return stripped.endswith("<<") and _ARROW_ART.match(stripped) is not None


def normalise_line(text: str) -> str:
    """NFC, no-break spaces and tabs as spaces, trailing whitespace dropped."""
    text = unicodedata.normalize("NFC", text)
    text = text.replace("\ufeff", "").replace("\u200b", "")
    return text.replace("\xa0", " ").replace("\t", "    ").rstrip()


def plain_lines(text: str) -> list[tuple[int, str]]:
    """(depth, text) per logical line; flowed soft breaks joined within a depth."""
    raw = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    out: list[tuple[int, str]] = []
    prev_raw = ""
    flowing = False
    for line in raw:
        line = line.replace("\xa0", " ")
        depth, rest = quote_prefix(line)
        if depth and (_is_arrow_art(line) or _LINK_OPEN.search(prev_raw.rstrip())):
            # The ">" closes an address or link left open on the line above.
            depth, rest = 0, line
        prev_raw = line
        # RFC 3676: a line ending in a space continues on the next one ("-- " excepted).
        soft = rest.endswith(" ") and rest.rstrip() not in ("--", "") and flowing_ok(rest)
        clean = normalise_line(rest)
        if flowing and out and out[-1][0] == depth and clean:
            prev_depth, prev_text = out[-1]
            out[-1] = (prev_depth, prev_text + " " + clean.lstrip())
        else:
            out.append((depth, clean))
        flowing = soft and bool(clean)
    return out


def flowing_ok(rest: str) -> bool:
    # Only a single trailing space is a flowed soft break; editors pad with many.
    return rest.endswith(" ") and not rest.endswith("  ")


def plain_blocks(text: str) -> list[Block]:
    """Blocks of consecutive lines at one depth; blank lines end a paragraph."""
    blocks: list[Block] = []
    current: list[str] = []
    current_depth = 0

    def flush() -> None:
        if current:
            blocks.append(Block("\n".join(current), depth=current_depth))
            current.clear()

    for depth, line in plain_lines(text):
        if not line.strip():
            flush()
            current_depth = depth
            continue
        if depth != current_depth:
            flush()
            current_depth = depth
        current.append(line)
    flush()
    return blocks
