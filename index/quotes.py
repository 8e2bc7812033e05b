"""Blocks -> Split: the author's own words apart from quotes, attributions, signature and footer.

One input type for HTML and plain text. Works line by line over the blocks:
1. Outlook/forward header blocks ("-----Original Message-----", From:/Sent:/To:) become
   attributions, and what follows them is one level deeper when no markup said so;
2. attribution lines ("X wrote:", "Le ... a écrit :", wrapped over up to 3 lines) count
   only when quoted text follows them (or they open a quote), which keeps prose like
   "On average..." original;
3. list footers, then signatures of the author (depth 0 only: a signature inside a quote
   stays quoted text);
4. quotes are runs of one depth, attributed through a per-depth author table so the
   questions of an interleaved reply all keep the author named once above them.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, replace

from core.records import Attachment, Block, Quote, Split
from index import quote_markers as qm

_ADDR = re.compile(r"[\w.+'-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63}){0,8}")
_VERB_TAIL = re.compile(r"\s*(?:" + qm._VERBS + r")\s*[:：]?\s*$", re.IGNORECASE)
_BARE_OBFUSCATED = re.compile(r"\b([\w.+'-]{1,64})\s+at\s+([\w-]{1,63}(?:\.[\w-]{1,63}){1,8})\b")
_LEAD = re.compile(
    r"^(?:-{1,4}\s*)?(?:On|Le|El|Il giorno|Il|In data|Em|Op|Den|Dne|Dnia|W dniu|På|Vào|Am)\s",
    re.IGNORECASE,
)
_NAME_WORD = re.compile(r"^[A-ZÀ-ÖØ-ÞĀ-ſ][\w'’.\-]{0,30}$")
_VERB_ONLY = re.compile(r"^(?:" + qm._VERBS + r")\s*[:：]$", re.IGNORECASE)
_FIELD_LABEL = re.compile(r"^[A-Z][\w-]{1,30}:\s")
# Precompiled: these run per candidate line, and re's cache lookup costs a call each time.
_DIGIT = re.compile(r"\d")
_DIGIT_OR_AT = re.compile(r"\d|@")
_NOT_IN_NAME = re.compile(r"\d|[@:;?()\"]")
_LEADING_PUNCT = re.compile(r"^[^\w<\"']+")
_TRAILING_COLON = re.compile(r"\s*:$")
_SPACE_BEFORE_CLOSE = re.compile(r"\s+([>)\]])")
_SPACE_AFTER_OPEN = re.compile(r"([<(\[])\s+")
_GLUED_CLOSE = re.compile(r">(?=[^\W\d_])")
_OPEN_MAILTO = re.compile(r"\[mailto:[^\]]{0,200}$", re.IGNORECASE)
# A signature longer than this after its "--" is a separator inside prose, not a signature.
MAX_SIGNATURE_LINES = 20
MAX_SIGNATURE_CHARS = 2000


@dataclass(slots=True)
class _L:
    text: str
    depth: int
    kind: str  # text | attribution | signature | footer | blank
    cite: str | None = None
    author: str | None = None
    target: int = -1  # the depth an attribution names the author of


_BREAK = _L("", 0, "blank")


def _lines(blocks: list[Block]) -> list[_L]:
    out: list[_L] = []
    for block in blocks:
        if out:
            out.append(_L("", block.depth, "blank"))
        for line in block.text.split("\n"):
            if line.strip():
                kind = block.kind
                out.append(_L(line.strip() if kind != "text" else line.rstrip(), block.depth,
                              kind, block.cite_id, block.author))
            else:
                out.append(_L("", block.depth, "blank"))
    return out


def _next_nonblank(lines: list[_L], i: int) -> int:
    j = i + 1
    while j < len(lines) and lines[j].kind == "blank":
        j += 1
    return j


def _prev_nonblank(lines: list[_L], i: int) -> int:
    j = i - 1
    while j >= 0 and lines[j].kind == "blank":
        j -= 1
    return j


def _is_elision(ln: _L) -> bool:
    return ln.kind == "text" and len(ln.text) < 40 and qm.ELISION.match(ln.text) is not None


def _next_content(lines: list[_L], i: int) -> int:
    """The next line after i that is neither blank nor an elision marker ("[...]")."""
    j = _next_nonblank(lines, i)
    while j < len(lines) and _is_elision(lines[j]):
        j = _next_nonblank(lines, j)
    return j


def _prev_content(lines: list[_L], i: int) -> int:
    j = _prev_nonblank(lines, i)
    while j >= 0 and _is_elision(lines[j]):
        j = _prev_nonblank(lines, j)
    return j


def _match_attribution(text: str) -> re.Match[str] | None:
    if not text or len(text) > qm.MAX_ATTRIBUTION_CHARS or not ("@" in text and "<" in text or qm.ATTRIBUTION_HINT.search(text)):
        return None
    for pattern in qm.ATTRIBUTION_PATTERNS:
        m = pattern.match(text)
        if m:
            return m
    return None


def clean_name(value: str | None) -> str | None:
    """A person's name from a From value or an attribution fragment."""
    if not value:
        return None
    value = html.unescape(value).strip()
    if "@" not in value:
        value = _BARE_OBFUSCATED.sub(r"\1@\2", value)
    m = re.search(r"\bon behalf of\s+(.{1,120})$", value, re.IGNORECASE)
    if m:
        value = m.group(1)
    m = re.search(r"\b(?:Namens|Im Auftrag von|De la part de|En nombre de|Per conto di|Em nome de)\s+(.{1,120})$", value, re.IGNORECASE)
    if m:
        value = m.group(1)
    addr = _ADDR.search(value)
    name = re.sub(r"\[mailto:[^\]]{0,200}\]?", "", value, flags=re.IGNORECASE)
    name = re.sub(r"<[^<>]{0,200}>?|\([^()]{0,200}@[^()]{0,200}\)", "", name)
    name = re.sub(r"\(\s*\)|\[\s*\]", "", name)
    if addr and not name.strip(" \"'<>()[],;"):
        name = ""
    elif addr and name.replace(addr.group(0), "").strip(" \"'<>()[],;"):
        name = name.replace(addr.group(0), "")
    name = re.sub(r"\s+via\s+\S+$", "", name.strip())
    name = name.split(";")[0]
    name = name.strip(" \"'“”«»,;:*_-\t").rstrip(" ([<>").strip()
    if name.startswith("(") and name.endswith(")"):
        name = name[1:-1].strip()
    if name and _ADDR.fullmatch(name):
        return name.lower()
    if not name or not any(c.isalpha() for c in name):
        # "????? ??????": the archive lost the name's charset; a name with no letter names
        # no one (the linked message's author may fill it).
        return addr.group(0).lower() if addr else None
    if len(name.split()) > 8:
        return None
    return name


_OBFUSCATED = re.compile(r"<([\w.+'-]{1,64})\s+(?:at|<at>|\(at\)|\[at\])\s+([\w-]{1,63}(?:\.[\w-]{1,63}){1,8})>")


def _deobfuscate(text: str) -> str:
    """Pipermail's "<jane at example.org>" and Gmane's "<jane <at> example.org>" as addresses."""
    return _OBFUSCATED.sub(r"<\1@\2>", text)


def _after_date(text: str) -> str:
    """Drop a leading date/time: "2009/7/17 Name", "pe 20. lokakuuta 2017 klo 17.50 Name"."""
    words = text.split()
    last_digit = max((k for k, w in enumerate(words) if _DIGIT.search(w)), default=-1)
    words = words[last_digit + 1:]
    # Lowercase words after the date are its tail ("klo", "a.m."), not the name, which
    # may itself be lowercase when no date came before it ("dhamma pal").
    while last_digit >= 0 and words and (
            words[0].upper() in ("GMT", "UTC", "AM", "PM", "UHR", "に", "、")
            or (words[0].islower() and len(words) > 1)):
        words.pop(0)
    return " ".join(words)


def attribution_author(text: str) -> str | None:
    if "@" not in text:
        text = _BARE_OBFUSCATED.sub(r"\1@\2", text)
    m = _match_attribution(text)
    if m is not None and "name" in m.re.groupindex and m.group("name"):
        name = m.group("name")
        lt = name.find("<")
        head = name[:lt] if lt > 0 else name
        if _DIGIT.search(head):
            head = _after_date(head.rsplit(",", 1)[-1])
            name = head + (" " + name[lt:] if lt > 0 else "")
        return clean_name(name)
    body = _VERB_TAIL.sub("", text.replace("，", ", ")).strip()
    body = _LEADING_PUNCT.sub("", body)
    body = _TRAILING_COLON.sub("", body)
    lt = body.find("<")
    if lt > 0 and _ADDR.search(body[lt:]):
        before = body[:lt]
        if "," in before:
            before = before.rsplit(",", 1)[1]
        # Drop leading dates and times: "2009/7/17 Name", "2015-10-18 0:17 GMT+03:00 Name".
        name = clean_name(_after_date(before))
        return name or clean_name(body[lt:])
    if "," in body and (_LEAD.match(body) or _DIGIT.search(body.rsplit(",", 1)[0])):
        # "On DATE, NAME", "At 12:01 PM 2/28/2005, NAME"
        name = clean_name(_after_date(body.rsplit(",", 1)[1]))
    elif _LEAD.match(body):
        return None
    else:
        name = clean_name(body)
    # "At ..., you wrote:" names the recipient, whom the body does not know.
    return None if name and name.lower() in ("you", "vous", "du", "sie", "usted", "tu") else name


# A header block's first line matches one of these; one combined pass per line rejects the
# ~95% of lines that start none (each line used to try ten patterns one by one).
_HEADER_START = re.compile(
    "|".join(
        "(?:" + re.sub(r"\(\?P<\w+>", "(?:", p.pattern) + ")"
        for p in (qm.ORIGINAL_MESSAGE, *qm.FORWARD_MARKERS, qm.HEADER_FROM, qm.HEADER_OTHER)
    ),
    re.IGNORECASE,
)


def _header_block(lines: list[_L], i: int) -> tuple[int, str | None] | None:
    """If an Outlook/forward header starts at i: (index after it, From name)."""
    text = lines[i].text.strip()
    if not _HEADER_START.match(text):
        return None
    depth = lines[i].depth
    j = i
    separator = bool(qm.ORIGINAL_MESSAGE.match(text) or any(p.match(text) for p in qm.FORWARD_MARKERS))
    previous = _prev_content(lines, i)
    # The first line of a quote the markup opened (an Outlook divider, a blockquote) is at
    # the start of a block whatever header comes first ("Date:" in Hotmail's).
    opens_quote = depth > 0 and (previous < 0 or lines[previous].depth < depth)
    if not separator and not opens_quote and not qm.HEADER_FROM.match(text):
        # Without a separator only From opens a header block: "Date:", "Author:" or
        # "To:" lines of a DESCRIPTION file, a git log or prose are the author's text.
        return None
    if separator:
        j = i + 1
        while j < len(lines) and lines[j].kind == "blank" and j - i < 3:
            j += 1
    start = j
    author: str | None = None
    found_from = False
    from_value = ""
    count = 0
    while j < len(lines) and lines[j].kind != "blank" and lines[j].depth == depth and j - start < 12:
        t = lines[j].text.strip()
        mf = qm.HEADER_FROM.match(t)
        if mf and not found_from:
            found_from = True
            from_value = mf.group("value")
            author = clean_name(from_value)
            count += 1
        elif qm.HEADER_OTHER.match(t):
            count += 1
            from_value = ""
        elif count and (t.startswith(("[", "<")) or lines[j - 1].text.rstrip().endswith(("[mailto:", "<", ","))
                        or _OPEN_MAILTO.search(lines[j - 1].text)):
            # A header value wrapped onto the next line; the From value's end names the
            # sender: "From: list-bounces at x.org [mailto:list-" / "bounces at x.org] On
            # Behalf Of Jane Doe".
            if from_value:
                from_value += (" " if from_value.endswith(",") else "") + t
                author = clean_name(from_value)
        else:
            break
        j += 1
    if separator:
        return (j if count else i + 1), author
    if found_from and count >= 2:
        return j, author
    return None


def split(blocks: list[Block]) -> Split:
    lines = _lines(blocks)
    budget = _Budget()
    _mark_headers(lines, budget)
    _mark_attributions(lines, budget)
    attachments = _mark_stubs(lines)
    _mark_footers(lines)
    signoff = _mark_signatures(lines)
    return replace(_assemble(lines, signoff), attachments=tuple(attachments))


_SCRUBBED_TYPES = {
    "html attachment": "text/html",
    "embedded and charset-unspecified text": "text/plain",
    "embedded message": "message/rfc822",
    "non-text attachment": "application/octet-stream",
}
_SIZE = re.compile(r"(\d[\d,]{0,15})\s*(bytes?|[kmg]i?b)?", re.IGNORECASE)
_UNITS = {"k": 1024, "m": 1024 ** 2, "g": 1024 ** 3}


def _mark_stubs(lines: list[_L]) -> list[Attachment]:
    """Mailman scrubber stubs -> attachment entries; their lines leave the text.

    A stub is a notice line ("An HTML attachment was scrubbed...") and its field lines,
    after a "next part" separator or alone (an HTML-only message keeps only the stub).
    A separator followed by other text starts an inline text part: that text stays.
    """
    found: list[Attachment] = []
    k = 0
    while k < len(lines):
        ln = lines[k]
        k += 1
        # Every separator and notice ends in "-", "." or "]" (or is "Skipped content ...").
        if ln.kind not in ("text", "signature") or not ln.text or (
                ln.text[-1] not in "-.]" and "Skipped" not in ln.text):
            continue
        t = ln.text.strip()
        if qm.SCRUB_SEPARATOR.match(t):
            ln.kind = "stub"
            continue
        if not t.endswith(("...", "]]")) and not t.startswith("Skipped content"):
            continue
        notice = qm.SCRUB_NOTICE.match(t)
        if notice is None:
            continue
        ln.kind = "stub"
        fields: dict[str, str] = {}
        while k < len(lines) and lines[k].kind != "blank" and lines[k].depth == ln.depth:
            m = qm.SCRUB_FIELD.match(lines[k].text.strip())
            if m is None:
                break
            fields.setdefault(m.group("key").lower(), m.group("value").strip())
            lines[k].kind = "stub"
            k += 1
        if ln.depth:
            continue  # a quoted stub stands for the quoted message's attachment
        if notice.group("deleted"):
            ctype = "text/" + notice.group("deleted").lower()
        else:
            kind = (notice.group("kind") or "").lower()
            ctype = fields.get("type") or notice.group("skipped") or _SCRUBBED_TYPES.get(
                kind, "application/octet-stream")
        found.append(Attachment(fields.get("name") or None, ctype.lower(),
                                _size(fields.get("size", ""))))
    return found


def _size(text: str) -> int:
    m = _SIZE.search(text)
    if m is None:
        return 0
    number = int(m.group(1).replace(",", ""))
    unit = (m.group(2) or "b").lower()
    return number * _UNITS.get(unit[0], 1)


def _mark_headers(lines: list[_L], budget: _Budget) -> None:
    i = 0
    while i < len(lines):
        ln = lines[i]
        if ln.kind != "text" or len(ln.text) > 300:
            i += 1
            continue
        found = _header_block(lines, i)
        if not found:
            i += 1
            continue
        end, author = found
        d = ln.depth
        top = i
        prev = _prev_nonblank(lines, i)
        if prev >= 0 and lines[prev].depth == d and re.fullmatch(r"[_-]{5,}", lines[prev].text.strip()):
            # Outlook's rule of underscores above the header block belongs to it.
            lines[prev].kind = "attribution"
            top = prev
        # An elision marker above the header ("> [...]") opens no quote region of its own.
        prev = _prev_content(lines, top)
        region_start = prev < 0 and d > 0 or (prev >= 0 and lines[prev].depth < d)
        target = d if region_start else d + 1
        for k in range(i, end):
            if lines[k].kind != "blank":
                lines[k].kind = "attribution"
                lines[k].author = author
                lines[k].target = target
        if not region_start:
            _deepen(lines, end, d, budget)
        i = end


# Candidate lines (ending in ":" or "wrote") tried per message; real mail has a handful,
# a pasted log or a giant table thousands, and each try runs the whole pattern list.
MAX_ATTRIBUTION_TRIES = 2000


def _mark_attributions(lines: list[_L], budget: _Budget) -> None:
    tries = 0
    for e, ln in enumerate(lines):
        if ln.kind == "attribution" and ln.target < 0:
            # Marked by markup (gmail_attr, moz-cite-prefix): it names the next quote.
            ln.target = ln.depth + 1
            ln.author = ln.author or attribution_author(ln.text.strip())
            continue
        tail = ln.text.rstrip()
        if ln.kind != "text" or len(tail) > qm.MAX_ATTRIBUTION_CHARS or not tail:
            continue
        if tail[-1] not in qm.ATTRIBUTION_ENDS and not tail.endswith(("wrote", "writes")) \
                and not qm.LOTUS_HINT.search(tail):
            continue
        tries += 1
        if tries > MAX_ATTRIBUTION_TRIES:
            continue
        nxt = lines[e + 1] if e + 1 < len(lines) else None
        if nxt is not None and nxt.kind == "blank" and ln.depth and e + 2 < len(lines):
            up = lines[e + 2]  # the verb one level up is a block of its own
            if up.kind == "text" and up.depth < ln.depth and _VERB_ONLY.match(up.text.strip()) \
                    and _match_attribution(_deobfuscate(tail.strip()) + " " + up.text.strip()):
                # Gmail re-wrapped a deep attribution: "> > >> On DATE, NAME <ADDR>" then
                # "> wrote:". The verb belongs to the deeper line.
                up.depth = ln.depth
                lines[e + 1], lines[e + 2] = up, nxt
                continue
        if nxt is not None and nxt.kind == "text" and _VERB_ONLY.match(nxt.text.strip()):
            continue  # the verb wrapped onto the next line: match the attribution there
        # Try the attribution ending on this line, shortest first, so a greeting just
        # above a wrapped attribution is never swallowed into it.
        # A line opening "on DATE" continues the name above it (supercite's two-line form).
        starts = (e - 1, e, e - 2) if tail.lstrip().startswith("on ") else (e, e - 1, e - 2)
        for start in starts:
            if start < 0 or any(
                lines[k].kind != "text" or lines[k].depth != ln.depth for k in range(start, e)
            ) or (start < e and _FIELD_LABEL.match(lines[start + 1].text.strip())):
                # A field line ("Author: ...", "Date: ...") continues no attribution: the
                # lines above belong to a DESCRIPTION file, a git log or a form.
                if start == starts[0] != e:
                    continue  # no name above the "on DATE" line: try it alone
                break
            joined = " ".join(lines[k].text.strip() for k in range(start, e + 1))
            joined = _SPACE_AFTER_OPEN.sub(r"\1", _SPACE_BEFORE_CLOSE.sub(r"\1", joined))
            joined = _deobfuscate(_GLUED_CLOSE.sub("> ", joined))  # "<a at b.com>wrote:"
            if _match_attribution(joined) and _accept_attribution(lines, start, e, joined, budget):
                break


def _accept_attribution(lines: list[_L], start: int, end: int, joined: str, budget: _Budget) -> bool:
    d = lines[end].depth
    first = _next_nonblank(lines, end)
    if first >= len(lines):
        return False
    # An elision marker ("[...]", "> [snip]") stands for cut lines, so the quote's depth is
    # read from the text beyond it; and a cut right under the attribution says the writer
    # trims with markers: text after it at the attribution's level is the writer's own
    # answer, not an unmarked quote.
    after = _next_content(lines, end)
    elided = after != first
    after_depth = lines[after].depth if after < len(lines) else d
    prev = _prev_content(lines, start)
    deeper = after_depth > d
    # A cut right under the attribution is the quote it names, so the attribution never
    # claims its own level then ("> On ..., X wrote:" / ">> [..]" / "> answer").
    opens = not elided and d > 0 and (prev < 0 or lines[prev].depth < d) and after_depth == d
    # A dated or addressed attribution followed by unmarked text (mobile clients that do
    # not prefix ">"): the rest of this level is the quote.
    strong = not elided and bool(_DIGIT_OR_AT.search(joined)) and after_depth == d
    if not (deeper or opens or strong or elided):
        return False
    author = attribution_author(joined)
    target = d if opens and not deeper else d + 1
    for k in range(start, end + 1):
        lines[k].kind = "attribution"
        lines[k].author = author
        lines[k].target = target
    if strong and not deeper and not opens and lines[after].kind != "attribution":
        _deepen(lines, after, d, budget)
    return True


# Each deepening walks to the end of its level; a cap keeps a pasted archive of thousands
# of headers linear instead of quadratic.
MAX_DEEPENINGS = 64


@dataclass(slots=True)
class _Budget:
    left: int = MAX_DEEPENINGS


def _deepen(lines: list[_L], start: int, depth: int, budget: _Budget) -> None:
    """Push the rest of a quoting level one level down: an unmarked quote starts at ``start``."""
    if budget.left <= 0:
        return
    budget.left -= 1
    k = start
    while k < len(lines) and (lines[k].depth >= depth or lines[k].kind == "blank"):
        lines[k].depth += 1
        k += 1


def _mark_footers(lines: list[_L]) -> None:
    """List footers and archive artefacts, at any depth (a quoted footer is still a footer)."""
    i = 0
    while i < len(lines):
        ln = lines[i]
        t = ln.text.strip()
        start = -1
        to_end = True
        if ln.kind in ("text", "signature") and t:
            if qm.FOOTER_START.match(t):
                start = i
                prev = _prev_nonblank(lines, i)
                if prev >= 0 and lines[prev].depth == ln.depth and (
                    re.fullmatch(r"-{2,3}", lines[prev].text.strip())
                    or qm.UNDERSCORE_RULE.match(lines[prev].text.strip())
                ):
                    start = prev
            elif qm.UNDERSCORE_RULE.match(t):
                look = [lines[k] for k in range(i + 1, min(i + 4, len(lines)))]
                if any(x.kind != "attribution" and qm.MAILMAN_LIST_LINE.search(x.text) for x in look):
                    start = i
                    nxt = look[0].text.strip() if look else ""
                    # Mailman's own footer is one paragraph; what follows it is someone's text.
                    to_end = bool(qm.FOOTER_START.match(nxt))
        if start < 0:
            i += 1
            continue
        d = ln.depth
        k = start
        while k < len(lines) and (lines[k].depth >= d or lines[k].kind == "blank"):
            if lines[k].kind == "blank" and not to_end and k > start:
                break
            if lines[k].kind not in ("blank", "stub"):
                lines[k].kind = "footer"
            k += 1
        i = max(k, i + 1)


def _mark_signatures(lines: list[_L]) -> str | None:
    """Mark the author's signature; return the sign-off name found before it, if any."""
    for i, ln in enumerate(lines):
        if ln.depth == 0 and ln.kind == "text" and qm.PHONE_SIGNATURES.match(ln.text.strip()):
            ln.kind = "signature"
            continue
        if ln.depth != 0 or ln.kind != "text" or not qm.SIGNATURE_DELIMITER.match(ln.text.strip()):
            continue
        run = [i]
        count = chars = 0
        k = i + 1
        while k < len(lines) and lines[k].depth == 0 and lines[k].kind in ("text", "blank", "signature"):
            if lines[k].kind != "blank":
                count += 1
                chars += len(lines[k].text)
            if count > MAX_SIGNATURE_LINES or chars > MAX_SIGNATURE_CHARS:
                break
            run.append(k)
            k += 1
        else:
            for r in run:
                if lines[r].kind != "blank":
                    lines[r].kind = "signature"
            continue
        # Too long to be a signature: the "--" separates parts of the author's text.
    return _signoff(lines)


def _is_name(text: str) -> bool:
    text = text.strip().rstrip(",.!")
    if not text or len(text) > 40 or _NOT_IN_NAME.search(text):
        return False
    if text.lower() in qm.CLOSINGS:
        return False
    words = text.split()
    if len(words) > 5 or not _NAME_WORD.match(words[0]) or words[0].lower() in qm.CLOSINGS:
        return False
    return all(_NAME_WORD.match(w) or w.lower() in qm.NAME_PARTICLES for w in words)


def _signoff(lines: list[_L]) -> str | None:
    """The name on the last original line before the first attribution, signature or footer."""
    stop = len(lines)
    for i, ln in enumerate(lines):
        if ln.depth == 0 and ln.kind in ("attribution", "signature", "footer"):
            stop = i
            break
    last = None
    for i in range(stop - 1, -1, -1):
        if lines[i].depth == 0 and lines[i].kind == "text" and lines[i].text.strip():
            last = lines[i]
            break
    if last is not None:
        prev = _prev_nonblank(lines, lines.index(last))
        # A lone name line that opens the message is a salutation's recipient, not a sign-off.
        if _is_name(last.text) and prev >= 0 and not last.text.rstrip().endswith(","):
            # Evidence that this is a sign-off: a closing word just above it, or a real
            # paragraph (not another one-word line) before it.
            before = lines[prev].text.strip().rstrip(",.!").lower()
            if before in qm.CLOSINGS or len(lines[prev].text.split()) >= 5:
                return last.text.strip().rstrip(",.!").strip()
    sig_start = next((i for i, x in enumerate(lines) if x.kind == "signature" and x.depth == 0), len(lines))
    for i in range(sig_start, len(lines)):
        ln = lines[i]
        if ln.kind == "signature" and not qm.SIGNATURE_DELIMITER.match(ln.text.strip()):
            if _is_name(ln.text) and not qm.PHONE_SIGNATURES.match(ln.text.strip()):
                return ln.text.strip().rstrip(",.!").strip()
            closing = ln.text.strip().rstrip(",.!").lower() in qm.CLOSINGS
            if not (closing or re.fullmatch(r"_{3,}|-{3,}", ln.text.strip())):
                break
        elif ln.kind != "signature" and ln.kind != "blank":
            break
    return None


def _join(lines: list[_L]) -> str:
    """Non-blank lines, runs of blank ones kept as one empty line between them."""
    return _join_ends(lines)[0]


def _join_ends(lines: list[_L]) -> tuple[str, list[int]]:
    """The joined text and, per non-blank line, the offset just after it."""
    out: list[str] = []
    ends: list[int] = []
    size = 0
    blank = False
    for ln in lines:
        if ln.kind == "blank" or not ln.text.strip():
            blank = bool(out)
            continue
        if blank:
            out.append("")
            size += 1
        size += len(ln.text) + (1 if out else 0)
        out.append(ln.text)
        ends.append(size)
        blank = False
    return "\n".join(out), ends


def _assemble(lines: list[_L], signoff: str | None) -> Split:
    original: list[_L] = []
    quoted: list[_L] = []
    signature: list[_L] = []
    footer: list[_L] = []
    quotes: list[tuple[str | None, str | None, int, str, int]] = []
    author_at: dict[int, str | None] = {}
    cite_at: dict[int, str | None] = {}
    run: list[_L] = []
    run_depth = 0
    # How many of the author's lines came before a quote: its offset, once they are joined.
    own_lines = 0

    def close_run() -> None:
        nonlocal run
        text = _join(run)
        if text:
            first_cite = next((x.cite for x in run if x.cite), None)
            cite = first_cite or cite_at.get(run_depth)
            quotes.append((author_at.get(run_depth), cite, run_depth, text, own_lines))
        run = []

    for ln in lines:
        if ln.kind in ("blank", "stub"):
            for target in (original, quoted, signature, footer):
                target.append(_BREAK)
            if run:
                run.append(_BREAK)
            continue
        if ln.kind == "attribution":
            if run:
                close_run()
            if ln.author or ln.target not in author_at:
                author_at[ln.target] = ln.author
                cite_at.pop(ln.target, None)
            for deeper in [d for d in author_at if d > ln.target]:
                author_at.pop(deeper, None)
            dest = None
        elif ln.kind == "footer":
            if run:
                close_run()
            dest = footer
        elif ln.kind == "signature" and ln.depth == 0:
            if run:
                close_run()
            dest = signature
        elif ln.depth == 0:
            if run:
                close_run()
            dest = original
            own_lines += 1
        else:
            if run and ln.depth != run_depth:
                close_run()
            if not run:
                run_depth = ln.depth
                if ln.cite:
                    cite_at[ln.depth] = ln.cite
            run.append(ln)
            dest = quoted
        for target in (original, quoted, signature, footer):
            target.append(ln if target is dest else _BREAK)
    if run:
        close_run()
    original_text, ends = _join_ends(original) if quotes else (_join(original), [])
    placed = [Quote(a, c, d, t, ends[k - 1] if k else 0) for a, c, d, t, k in quotes]
    return Split(
        original_text=original_text,
        quoted_text=_join(quoted),
        quotes=tuple(_attribute_excerpts(placed)),
        signature=_join(signature),
        footer=_join(footer),
        signoff=signoff,
    )


def _attribute_excerpts(quotes: list[Quote]) -> list[Quote]:
    """An unattributed quote whose words reappear in an attributed one is an excerpt of it.

    The seed quotes Bertrand inline with ">" before quoting his whole message below; the
    excerpt takes the author and message id of the full quote.
    """
    known = [q for q in quotes if q.author or q.message_id]
    if not known or len(known) == len(quotes):
        return quotes
    haystacks = [(" ".join(q.text.split()), q) for q in known]
    out: list[Quote] = []
    for quote in quotes:
        if quote.author or quote.message_id:
            out.append(quote)
            continue
        needle = " ".join(quote.text.split())[:80]
        source = next((q for text, q in haystacks if len(needle) >= 30 and needle in text), None)
        if source is not None:
            quote = replace(quote, author=source.author, message_id=source.message_id)
        out.append(quote)
    return out
