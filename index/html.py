"""HTML mail -> blocks: text with paragraph breaks, and quote depth read from each client's markup.

Parsing is libxml2's HTML parser through ``lxml.etree`` (30x cheaper than building a
BeautifulSoup tree, see performance-baseline.md); when lxml refuses the input, BeautifulSoup builds the tree
through ``lxml.html.soupparser``. The tree is walked with an explicit stack (never
recursion on user data) and elements nested deeper than ``max_depth`` lose their
structure but keep their text.

Quote evidence, by client (normalisation.md §1): ``blockquote type=cite`` with
``cite="mid:..."`` (Thunderbird, Apple), ``gmail_quote``/``gmail_attr`` (Gmail, also
``x_``/``ecx`` prefixed by webmails), ``yahoo_quoted``, Outlook/OWA header dividers after
which everything to the end of the enclosing quote is quoted, and ``>`` at the start of a
line. A blockquote without such markers (``webkit-indent-blockquote``, plain indentation)
counts only when an attribution line precedes it or opens it, or it has a quote bar.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from html import unescape
from urllib.parse import unquote

from lxml import etree

from core.records import Block
from index import quote_markers as qm
from index.plain import plain_blocks, quote_prefix

_SKIP = frozenset(("style", "script", "head", "title", "noscript", "template", "xml", "object"))
_BLOCK = frozenset(
    (
        "div", "p", "blockquote", "li", "ul", "ol", "dl", "dt", "dd", "tr", "table", "tbody",
        "thead", "tfoot", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "hr", "center", "section",
        "article", "header", "footer", "address", "form", "fieldset", "body", "html", "caption",
    )
)
_PARAGRAPH = frozenset(("p", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol", "pre"))
_CELL = frozenset(("td", "th"))
# Runs of layout whitespace other than a lone " ": collapsing those to " " is what
# "[ \t\n\r\f\v]+" -> " " does, without rewriting every single space between words.
_SPACES = re.compile(r"[ \t\n\r\f\v]{2,}|[\t\n\r\f\v]")
_XML_DECL = re.compile(r"^\s*<\?xml[^>]{0,200}\?>", re.IGNORECASE)
_STRAY_MARKER = re.compile(r"(?<=\s)>+(?=\w)")
# lxml.etree's own HTML parser builds the same tree as lxml.html's; lxml.html's adds a
# Python class lookup for every element proxy (a third of the tree walk's time).
_PARSER = etree.HTMLParser(huge_tree=True)
_INVISIBLE = re.compile(
    r"<(style|script|head|title)\b[^>]*>.*?</\1\s*>|<!--.*?-->", re.IGNORECASE | re.DOTALL
)
_TAG = re.compile(r"<[^<>]{0,2000}>")
_BREAK_TAG = re.compile(r"<(?:br|/p|/div|/tr|/li|/blockquote|/h\d)\b[^<>]{0,2000}>", re.IGNORECASE)


@dataclass(slots=True)
class _Region:
    kind: str  # "quote", "tentative" or "splitter"
    cite: str | None = None
    confirmed: bool = False
    first_line: int = -1
    # Wrapper divs (yahoo_quoted, gmail_quote, splitters) add no depth of their own when
    # they hold only an attribution and a nested quote; blockquotes always do.
    elastic: bool = False


@dataclass(slots=True)
class _Line:
    parts: list[str] = field(default_factory=list)
    regions: tuple[int, ...] = ()
    hint: str | None = None
    hint_id: int = -1
    pre: bool = False
    # text() once computed: soft_break asks it, then _to_blocks (the line is closed by then).
    done: str | None = None

    def text(self) -> str:
        if self.done is None:
            self.done = self._text()
        return self.done

    def _text(self) -> str:
        raw = "".join(self.parts)
        if not self.pre and ("  " in raw or "\n" in raw or "\t" in raw or "\r" in raw
                             or "\f" in raw or "\v" in raw):
            # Most lines hold single spaces only; the regex would rewrite nothing.
            raw = _SPACES.sub(" ", raw)
        raw = raw.replace("\xa0", " ").replace("\ufeff", "").replace("\u200b", "")
        text = unicodedata.normalize("NFC", raw)
        return text.strip() if not self.pre else text.rstrip()


def _classes(el: etree._Element) -> str:
    return (el.get("class") or "").lower()


def _quote_kind(el: etree._Element, tag: str, cls: str, ident: str) -> str | None:
    """'quote' for markup that always means a reply quote, 'tentative' for bare indentation.

    ``cls`` and ``ident`` are the element's class and id attributes, lowercased."""
    if tag == "blockquote":
        if (el.get("type") or "").lower() == "cite" or "gmail_quote" in cls:
            return "quote"
        if re.search(r"(?:^|\s)cite(?:\s|$)", cls):
            return "quote"
        style = (el.get("style") or "").lower().replace(" ", "")
        if "border-left" in style and "solid" in style and "none" not in style.split("border-left")[1][:8]:
            return "quote"
        return "tentative"
    if "yahoo_quoted" in cls or "protonmail_quote" in cls or "moz-forward-container" in cls:
        return "quote"
    if ident.endswith("olk_src_body_section") or ident in ("isreplycontent", "isforwardcontent", "origbody"):
        return "quote"
    if "gmail_quote" in cls and tag == "div" and el.find(".//blockquote") is None:
        return "quote"
    return None


def _is_splitter(el: etree._Element, tag: str, cls: str, ident: str) -> bool:
    """Outlook-family dividers: the quoted message follows them with no container."""
    if ident.endswith("divrplyfwdmsg") or ident.endswith("stopspelling") or ident == "zwchr":
        return True
    if "outlookmessageheader" in cls:
        return True
    if tag == "hr":
        parent = el.getparent()
        if parent is not None and "msonormal" in _classes(parent) and (parent.get("align") or "").lower() == "center":
            return True
        return False
    if tag != "div":
        return False
    style = (el.get("style") or "").lower().replace(" ", "")
    if "border-top:solid" in style and ("border:none" in style or "#b5c4df" in style or "#e1e1e1" in style):
        return True
    return "border-top-style:solid" in style and "border-top-color:rgb(229,229,229)" in style


def _hint(cls: str, ident: str) -> str | None:
    if "moz-cite-prefix" in cls:
        return "prefix"
    if "gmail_attr" in cls:
        return "attr"
    if ("gmail_signature" in cls or "moz-signature" in cls or ident == "applemailsignature"
            or ident.endswith("signature")):
        return "signature"
    return None


def _parse(html: str) -> etree._Element | None:
    html = _XML_DECL.sub("", html, count=1)
    if not html.strip():
        return None
    try:
        root = etree.fromstring(html, _PARSER)
        if root is None:  # what lxml.html.document_fromstring raises on
            raise etree.ParserError("Document is empty")
        return root
    except (etree.ParserError, ValueError, etree.XMLSyntaxError):
        pass
    from lxml.html import soupparser  # bs4 builds the tree when lxml's own parser gives up

    try:
        return soupparser.fromstring(html)
    except Exception:  # noqa: BLE001 - broken markup must still yield its text
        return None


class _Walker:
    """Turns the tree into lines tagged with the quote regions and hints open around them."""

    def __init__(self, max_depth: int) -> None:
        self.max_depth = max_depth
        self.lines: list[_Line] = []
        self.cur = _Line()
        self.regions: list[_Region] = []
        self.active: list[int] = []
        self.hints: list[tuple[str, int]] = []
        self.pre = 0
        self.next_hint_id = 0
        self.quote_frames: list[int] = []

    # -- line building -------------------------------------------------------------------
    def text(self, s: str | None) -> None:
        if not s:
            return
        if not self.cur.parts:
            self.cur.regions = tuple(self.active)
            hint = self.hints[-1] if self.hints else (None, -1)
            self.cur.hint, self.cur.hint_id = hint
            self.cur.pre = self.pre > 0
        if self.pre:
            chunks = s.replace("\r\n", "\n").split("\n")
            for i, chunk in enumerate(chunks):
                if i:
                    self.hard_break()
                    if not chunk:
                        continue
                    self.text(chunk)
                elif chunk:
                    self.cur.parts.append(chunk)
            return
        self.cur.parts.append(s)

    def soft_break(self) -> None:
        if self.cur.parts and self.cur.text():
            self.lines.append(self.cur)
        self.cur = _Line()

    def hard_break(self) -> None:
        if self.cur.parts and self.cur.text():
            self.lines.append(self.cur)
        else:
            self.lines.append(_Line(regions=tuple(self.active)))
        self.cur = _Line()

    def paragraph(self) -> None:
        self.soft_break()
        if self.lines and self.lines[-1].parts:
            self.lines.append(_Line(regions=tuple(self.active)))

    # -- tree walk -----------------------------------------------------------------------
    def walk(self, root: etree._Element) -> None:
        # (element, closing?, nesting depth); a closing entry ends the element.
        stack: list[tuple[etree._Element, bool, int]] = [(root, False, 0)]
        closers: dict[int, tuple[list[int], bool, str]] = {}
        while stack:
            el, closing, depth = stack.pop()
            if closing:
                opened, hinted, tag = closers.pop(id(el))
                if self.quote_frames and self.quote_frames[-1] == id(el):
                    self.quote_frames.pop()
                if tag in _BLOCK:
                    self.paragraph() if tag in _PARAGRAPH else self.soft_break()
                if tag == "pre":
                    self.pre -= 1
                if opened:
                    self.soft_break()
                    for rid in opened:
                        if rid in self.active:
                            self.active.remove(rid)
                if hinted:
                    self.soft_break()
                    self.hints.pop()
                self.text(el.tail)
                continue
            tag_obj = el.tag
            if not isinstance(tag_obj, str):  # comments, processing instructions
                self.text(el.tail)
                continue
            tag = tag_obj.lower().rsplit("}", 1)[-1]
            if ":" in tag and "@" not in tag:
                tag = tag.split(":", 1)[1]  # <o:p>, <v:shape>: Word namespaces
            if tag in _SKIP:
                self.text(el.tail)
                continue
            if "@" in tag:
                # An unescaped "<jane@example.com>" parsed as an element: put the address back.
                self.text(f"<{tag}>")
            opened: list[int] = []
            hinted = False
            if depth <= self.max_depth:
                cls = _classes(el)
                ident = (el.get("id") or "").lower()
                if _is_splitter(el, tag, cls, ident):
                    self.soft_break()
                    rid = self._open("splitter")
                    self.regions[rid].elastic = True
                    # The splitter region lasts until the enclosing quote (or the body) ends.
                    owner = self._owner()
                    if owner is not None:
                        closers[owner][0].append(rid)
                    self.active.append(rid)
                else:
                    kind = _quote_kind(el, tag, cls, ident)
                    if kind:
                        self.soft_break()
                        cite = el.get("cite") or ""
                        rid = self._open(kind, _mid(cite))
                        self.regions[rid].elastic = tag != "blockquote"
                        opened.append(rid)
                        self.active.append(rid)
                hint = _hint(cls, ident)
                if hint:
                    self.soft_break()
                    self.hints.append((hint, self.next_hint_id))
                    self.next_hint_id += 1
                    hinted = True
            if tag == "br":
                self.hard_break()
                self.text(el.tail)
                continue
            if tag in _BLOCK:
                self.soft_break()
            elif tag in _CELL:
                self.text(" ")
            if tag == "pre":
                self.pre += 1
            if tag == "img":
                alt = el.get("alt") or ""
                if alt.startswith("Inactive hide details for"):
                    self.text(alt)
            self.text(el.text)
            closers[id(el)] = (opened, hinted, tag)
            if opened:
                self.quote_frames.append(id(el))
            stack.append((el, True, depth))
            for child in reversed(el):
                stack.append((child, False, depth + 1))
        self.soft_break()

    def _open(self, kind: str, cite: str | None = None) -> int:
        self.regions.append(_Region(kind=kind, cite=cite, confirmed=kind != "tentative"))
        return len(self.regions) - 1

    def _owner(self) -> int | None:
        return self.quote_frames[-1] if self.quote_frames else None


def _mid(cite: str) -> str | None:
    cite = cite.strip()
    if not cite.lower().startswith("mid:"):
        return None
    value = unquote(cite[4:]).strip().strip("<>")
    return value or None


def is_attribution(text: str) -> bool:
    if not text or len(text) > qm.MAX_ATTRIBUTION_CHARS or text[-1] not in qm.ATTRIBUTION_ENDS:
        return False
    if not ("@" in text and "<" in text or qm.ATTRIBUTION_HINT.search(text)):
        return False
    return any(p.match(text) for p in qm.ATTRIBUTION_PATTERNS)


def html_blocks(html: str, max_depth: int = 400) -> list[Block]:
    """Blocks of the HTML body with quote depth, cite ids and attribution/signature kinds."""
    root = _parse(html)
    if root is None:
        return plain_blocks(_visible_text(html)) if html.strip() else []
    walker = _Walker(max_depth)
    walker.walk(root)
    kept = sum(len(t) for ln in walker.lines for t in ln.parts)
    visible = _visible_text(html)
    if kept < len(visible.strip()) // 2:
        # libxml2 drops what is nested too deep; read such documents as tag-stripped text.
        return plain_blocks(visible)
    return _to_blocks(walker.lines, walker.regions)


def _visible_text(html: str) -> str:
    text = _INVISIBLE.sub(" ", html)
    text = _BREAK_TAG.sub("\n", text)
    return unescape(_TAG.sub("", text))


def _to_blocks(lines: list[_Line], regions: list[_Region]) -> list[Block]:
    texts = [ln.text() if ln.parts else "" for ln in lines]
    cache: dict[int, bool] = {}

    def attr(i: int) -> bool:
        # Evaluated only where a region's fate depends on it: a table of a million cells
        # ending in ":" must not run every attribution pattern on every cell.
        if i not in cache:
            t = texts[i]
            cache[i] = is_attribution(t) or (lines[i].hint in ("attr", "prefix") and t.endswith(":"))
        return cache[i]

    for i, ln in enumerate(lines):
        for rid in ln.regions:
            if regions[rid].first_line < 0 and texts[i]:
                regions[rid].first_line = i
    # A bare blockquote is a quote only when an attribution introduces it.
    for rid, region in enumerate(regions):
        if region.kind != "tentative" or region.first_line < 0:
            continue
        first = region.first_line
        before = _prev_nonblank(texts, first)
        if (before >= 0 and rid not in lines[before].regions and attr(before)) or attr(first):
            region.confirmed = True
    # Regions holding nothing but attribution lines add no depth (Yahoo's wrapper div).
    own_text: set[int] = set()
    for i, ln in enumerate(lines):
        conf = [r for r in ln.regions if regions[r].confirmed]
        if texts[i] and conf and (not regions[conf[-1]].elastic or conf[-1] in own_text or not attr(i)):
            own_text.add(conf[-1])
    out: list[Block] = []
    para: list[str] = []
    key: tuple[int, str, str | None] | None = None
    last_prefix_line: dict[int, int] = {}
    for i, ln in enumerate(lines):
        if ln.hint == "prefix" and texts[i]:
            last_prefix_line[ln.hint_id] = i

    def flush() -> None:
        if para and key is not None:
            out.append(Block("\n".join(para), depth=key[0], kind=key[1], cite_id=key[2]))
        para.clear()

    for i, ln in enumerate(lines):
        text = texts[i]
        if not text:
            flush()
            key = None
            continue
        conf = [r for r in ln.regions
                if regions[r].confirmed and (not regions[r].elastic or r in own_text or attr(i))]
        # An attribution opening its own region does not count that region.
        depth = len(conf)
        cite = regions[conf[-1]].cite if conf else None
        kind = "text"
        if ln.hint == "attr" or (ln.hint == "prefix" and last_prefix_line.get(ln.hint_id) == i):
            kind = "attribution"
        elif ln.hint == "signature" and depth == 0:
            kind = "signature"
        if kind == "text":
            extra, rest = quote_prefix(text)
            if extra:
                depth += extra
                text = _STRAY_MARKER.sub("", rest) if not ln.pre else rest
                if not text.strip():
                    flush()
                    key = None
                    continue
        new_key = (depth, kind, cite)
        if new_key != key:
            flush()
            key = new_key
        para.append(text)
    flush()
    return out


def _prev_nonblank(texts: list[str], i: int) -> int:
    j = i - 1
    while j >= 0 and not texts[j]:
        j -= 1
    return j
