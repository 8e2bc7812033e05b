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
from index import quote_markers as qm

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


# Scissors, the cut mark around pasted code: ">8 --- >8 ---", "-- >8 --", "---8<---".
_SCISSORS = re.compile(r"^\s{0,3}(?:-{1,8}\s?)?(?:>8|8<)(?:\s?-{1,8}\s?(?:>8|8<)?)*\s?-*\s*$")


def _is_arrow_art(line: str) -> bool:
    stripped = line.strip()
    # Most quoted lines do not end in "<<": no regex for them.
    if stripped.startswith((">8", "-")) and _SCISSORS.match(stripped) is not None:
        return True
    return stripped.endswith("<<") and _ARROW_ART.match(stripped) is not None


# Supercite (Emacs, VM): '>>>>> "KH" == Kurt Hornik <kh at x.org> writes:' (or the name and
# "on DATE writes:" on two such lines) names the author, and the quoted lines carry the key
# instead of ">": "KH> text". The five ">" are a header's frame, not a 5-deep quote, and a
# "KH>" line is a quote only below a header that names KH ("R>" and "IDL>" are prompts).
_SUPERCITE = re.compile(r'^>{5}\s+(?P<text>(?:"(?P<key>[^"\s][^"]{0,39})"\s*==\s*)?\S.{0,200})$')
_SUPERCITE_KEY = re.compile(r"^\s{0,4}(?P<key>[^\s>][^\s>]{0,39})>")


def _supercite(items: list[list]) -> None:
    """Supercite header lines back to depth 0, "KEY>" lines under them to quotes.

    A header is '"KEY" == NAME writes:' or "NAME" then "on DATE writes:", each behind five
    ">", with no deeper line after it: ">>>>> Bob wrote:" over ">>>>>> text" is a real
    5-deep attribution.
    """
    keys: set[str] = set()
    n = len(items)
    for i, item in enumerate(items):
        line = item[2]
        if line.startswith(">>>>> ") and item[0] == 5:
            m = _SUPERCITE.match(line.rstrip())
            if m is None:
                continue
            text = m.group("text").rstrip()
            header = [i]
            if not (m.group("key") and text.endswith("writes:")):
                second = _SUPERCITE.match(items[i + 1][2].rstrip()) if i + 1 < n else None
                if second is None or not second.group("text").startswith("on ") or not \
                        second.group("text").rstrip().endswith(("writes:", "wrote:")):
                    continue
                header.append(i + 1)
            after = next((x for x in items[header[-1] + 1:] if x[1].strip()), None)
            if after is not None and after[0] >= 5:
                continue
            for k in header:
                items[k][0], items[k][1] = 0, _SUPERCITE.match(items[k][2].rstrip()).group("text")
            keys.add(m.group("key") or "")
            continue
        if keys and not item[0]:
            m = _SUPERCITE_KEY.match(line)
            if m is not None and m.group("key") in keys:
                depth, rest = quote_prefix(line[m.end():].lstrip(" "))
                item[0], item[1] = 1 + depth, rest


def normalise_line(text: str) -> str:
    """NFC, no-break spaces and tabs as spaces, trailing whitespace dropped."""
    text = unicodedata.normalize("NFC", text)
    text = text.replace("\ufeff", "").replace("\u200b", "")
    return text.replace("\xa0", " ").replace("\t", "    ").rstrip()


def plain_lines(text: str, flowed: bool = False, delsp: bool = False) -> list[tuple[int, str]]:
    """(depth, text) per logical line; soft breaks joined within a depth when ``flowed``.

    Only a part that declares ``format=flowed`` is reflowed (RFC 3676): elsewhere a line
    that ends in a space is code, a table or R output, and joining it breaks them.
    """
    raw = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    items: list[list] = []
    prev_raw = ""
    prev_depth = 0
    for line in raw:
        line = line.replace("\xa0", " ")
        depth, rest = quote_prefix(line)
        if depth and (_is_arrow_art(line) or (
                depth > prev_depth and _LINK_OPEN.search(prev_raw.rstrip()))):
            # The ">" closes an address or link left open on the line above (a quoted line
            # as deep as the one above is that quote going on: a wrapped attribution).
            depth, rest = 0, line
        prev_raw, prev_depth = line, depth
        items.append([depth, rest, line])
    if ">>>>> " in text:
        _supercite(items)
    if "\n|" in text:
        _bar_quotes(items)
    if any(item[0] for item in items):
        _literal_consoles(items)
    out: list[tuple[int, str]] = []
    flowing = False
    for depth, rest, _line in items:
        # RFC 3676: a line ending in a space continues on the next one ("-- " excepted).
        soft = flowed and rest.endswith(" ") and rest.rstrip() not in ("--", "")
        clean = normalise_line(rest)
        if flowing and out and out[-1][0] == depth and clean:
            prev_depth, prev_text = out[-1]
            out[-1] = (prev_depth, prev_text + ("" if delsp else " ") + clean.lstrip())
        else:
            out.append((depth, clean))
        flowing = soft and bool(clean)
    return out


def flowing_ok(rest: str) -> bool:
    # Only a single trailing space is a flowed soft break; editors pad with many.
    return rest.endswith(" ") and not rest.endswith("  ")


_FLOWED = re.compile(
    rb"^content-type:[ \t]*text/plain[^\n]*(?:\r?\n[ \t][^\n]*)*?format[ \t]*=[ \t]*\"?flowed",
    re.IGNORECASE | re.MULTILINE,
)
_HEADER_END = re.compile(rb"\r?\n(?![ \t])")
_DELSP = re.compile(rb"delsp[ \t]*=[ \t]*\"?yes", re.IGNORECASE)


def declared_flowed(data: bytes) -> tuple[bool, bool]:
    """(format=flowed, DelSp=yes) as a text/plain part's Content-Type of the raw message says."""
    # A substring test spares the regex scan of the ~90% of messages that never say it.
    if b"flowed" not in data and b"Flowed" not in data and b"FLOWED" not in data:
        return False, False
    m = _FLOWED.search(data)
    if m is None:
        return False, False
    end = _HEADER_END.search(data, m.end())
    return True, _DELSP.search(data, m.start(), end.start() if end else len(data)) is not None


def _bar_quotes(items: list[list]) -> None:
    """"|" as the quote mark (Dirk Eddelbuettel's and some Emacs setups): a run of "|" lines
    right under an attribution is a quote, one level per "|"; a table's "| a | b |" row is not.
    """
    k = 0
    n = len(items)
    while k < n:
        if items[k][0] or not _is_attribution_line(items[k][2]):
            k += 1
            continue
        j = k + 1
        while j < n and not items[j][2].strip():
            j += 1
        while j < n and items[j][2].startswith("|") and not (
                items[j][2].rstrip().endswith("|") and items[j][2].count("|") > 2):
            rest = items[j][2][1:]
            depth, rest = quote_prefix(rest[1:] if rest.startswith(" ") else rest)
            items[j][0], items[j][1] = 1 + depth, rest
            j += 1
        k = max(j, k + 1)


# ---- console and code lines that start with ">" -------------------------------------------
# An R or shell prompt, Python's ">>>", diff output and banners put ">" at the start of a
# line without quoting anyone. A run of ">" lines is read as typed, not quoted, when no
# attribution introduces it and its lines read as code (more code-like than prose lines),
# when it continues a shell command, sits in diff output, or is a lone deep banner.
_CODE = re.compile(
    r"""^(?:
        [\w.$@\[\]"'`]{1,80}\s*(?:<<?-|->|(?<![=!<>])=(?!=)|\+=|:=)\s*\S  # assignment
      | [\w.:$]{1,80}\s*\(.{0,400}\)\s*[;{]?\s*(?:\#.*)?$                 # a call
      | (?:library|require|import|from\s+\S+\s+import|def|class|return|print|source
         |install\.packages|setwd|cd|ls|make|sudo|pip|git|R\s+CMD|Rscript|python\d?
         |echo|export|for\s*\(|if\s*\(|while\s*\(|function\s*\()\b
      | [\[\]{}#]                                                        # brackets, comments
      | \.\.\.\s
    )""",
    re.VERBOSE,
)
_OUTPUT = re.compile(r"^\s*(?:\[\d+\]|\+ |Error\b|Warning\b|Traceback|\.\.\. |\$ )")
_SHELL = re.compile(r"^(?:\$|%|#|\w[\w@.-]{0,40}[$#%])\s+\S|\\$")
_DIFF = re.compile(r"^(?:\d+(?:,\d+)?[acd]\d+(?:,\d+)?|---|< .*)$")
_PROSE = re.compile(r"^[^\W\d_][^(){}\[\]=<$]{20,}$")
_BANNER = re.compile(r"^\s{0,3}>{4,}")


def _is_attribution_line(text: str) -> bool:
    t = text.rstrip()
    return bool(t) and (t[-1] in qm.ATTRIBUTION_ENDS or t.endswith(("wrote", "writes"))) and (
        qm.ATTRIBUTION_HINT.search(t) is not None or qm.ORIGINAL_MESSAGE.match(t) is not None
        or ("@" in t and "<" in t))


def _literal_consoles(items: list[list]) -> None:
    """Turn ">" runs that are typed code, not quotes, back into the author's text."""
    n = len(items)
    i = 0
    attributed = False  # an attribution above: this message quotes someone
    while i < n:
        if not items[i][0]:
            attributed = attributed or _is_attribution_line(items[i][2])
            i += 1
            continue
        start = i
        end = i  # last quoted item of the run; blank lines inside the run belong to it
        j = i + 1
        while j < n and (items[j][0] or not items[j][1].strip()):
            if items[j][0]:
                end = j
            j += 1
        run = items[start:end + 1]
        before = next((items[k] for k in range(start - 1, -1, -1) if items[k][2].strip()), None)
        adjacent = items[start - 1] if start else None
        after = items[end + 1] if end + 1 < n else None
        if _is_console(run, before, adjacent, after, attributed):
            for item in run:
                item[0], item[1] = 0, item[2]
        else:
            attributed = True
        i = end + 1


def _is_console(run: list[list], before: list | None, adjacent: list | None,
                after: list | None, attributed: bool = False) -> bool:
    if before is not None and _is_attribution_line(before[2]):
        return False
    quoted = [item for item in run if item[0] and item[1].strip()]
    if not quoted:
        # Lines of bare ">" only: a banner when it stands deep and alone.
        return all(_BANNER.match(item[2]) for item in run if item[0])
    depths = {item[0] for item in quoted}
    if len(quoted) == 1 and _BANNER.match(quoted[0][2]) and quoted[0][2].lstrip().startswith(
            ">" * quoted[0][0]) and quoted[0][0] >= 4 and not _is_attribution_line(quoted[0][1]):
        # (Supercite's '>>>>> "X" == X <addr> writes:' is an attribution, not a banner.)
        return True  # ">>>>>>> branch" or a line of arrows, not a 7-deep quote
    if adjacent is not None and adjacent[2].strip() and not adjacent[0] and (
            _SHELL.search(adjacent[2]) or _DIFF.match(adjacent[2])):
        return True
    if after is not None and not after[0] and _DIFF.match(after[2]):
        return True
    if depths == {3} and all(item[2].startswith(">>>") for item in quoted):
        # Python's prompt: ">>> import x" with output lines between.
        code = sum(1 for item in quoted if _CODE.match(item[1].strip()))
        return code * 2 >= len(quoted)
    if len(depths) > 1:
        return False  # nested quoting: someone quoted a quote
    code = prose = 0
    for item in quoted:
        t = item[1].strip()
        if t.startswith("[[") or "://" in t or qm.ELISION.match(t):
            continue  # "[[alternative HTML version deleted]]", a link, a "[snip]": neither
        if _CODE.match(t):
            code += 1
        elif _PROSE.match(t) and len(t.split()) >= 4:
            prose += 1
            if attributed:
                return False  # in a reply, a run with prose in it is a quote
    output = after is not None and not after[0] and _OUTPUT.match(after[2]) is not None
    if attributed:
        # In a reply, a ">" run is a quote unless it is all code and answered by output.
        return code > 0 and (output or code == len(quoted))
    return code + output > 0 and code + output >= prose


def plain_blocks(text: str, flowed: bool = False, delsp: bool = False) -> list[Block]:
    """Blocks of consecutive lines at one depth; blank lines end a paragraph."""
    blocks: list[Block] = []
    current: list[str] = []
    current_depth = 0

    def flush() -> None:
        if current:
            blocks.append(Block("\n".join(current), depth=current_depth))
            current.clear()

    for depth, line in plain_lines(text, flowed, delsp):
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
