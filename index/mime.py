"""Raw message bytes -> :class:`Decoded`: headers decoded, the part tree walked, one body text.

Owns defensive MIME decoding: the compat32 parser (ten times cheaper than policy.default,
performance-baseline.md §3, and it never raises on odd Message-IDs), our own RFC 2047 decoder
(malformed words, unknown charsets and raw 8-bit bytes included), RFC 2231 parameters,
QP/base64 with their defects recorded, the choice of the best text in multipart/alternative, the
attachment list and the size/depth/part bounds of Settings, quoted-printable that a pipermail
archive kept encoded without saying so, and the hand-over of archive HTML pages to
:mod:`index.archive_pages`. Charset decisions are
:mod:`index.charset`'s; body splitting is :mod:`index.body`'s.
"""

from __future__ import annotations

import base64
import binascii
import quopri
import re
import unicodedata
from dataclasses import dataclass
from email import feedparser as _feedparser
from email import message_from_bytes
from email.message import Message as EmailMessage
from email.policy import compat32
from types import FunctionType

from core.config import Settings
from core.errors import MessageError
from core.records import Attachment, CharsetReport, RawMessage
from index import archive_pages, charset


@dataclass(frozen=True, slots=True)
class Decoded:
    """A message after MIME decoding: decoded headers, one body text and what it cost."""

    headers: tuple[tuple[str, str], ...]
    text: str
    content_type: str  # "text/html" or "text/plain"
    charset: CharsetReport
    attachments: tuple[Attachment, ...] = ()
    notes: tuple[str, ...] = ()
    has_headers: bool = True
    # (name, raw value) of From/Sender/Reply-To headers holding encoded words: their
    # address must be parsed before the words are decoded (RFC 2047 section 6.1).
    encoded_senders: tuple[tuple[str, str], ...] = ()

    def get(self, name: str) -> str | None:
        """The first header of that name, decoded; None when absent."""
        return _first(self.headers, name)

    def get_all(self, name: str) -> list[str]:
        wanted = name.lower()
        size = len(wanted)
        return [value for key, value in self.headers
                if len(key) == size and key.lower() == wanted]

    def encoded_sender(self, name: str) -> str | None:
        """The raw value of that sender header when it holds encoded words, else None."""
        return _first(self.encoded_senders, name)

    def header_block(self) -> str:
        return "\n".join(f"{k}: {v}" for k, v in self.headers)


def _first(headers: tuple[tuple[str, str], ...], name: str) -> str | None:
    wanted = name.lower()
    size = len(wanted)
    # The length test spares lowercasing almost every key (metadata asks ~15 names).
    for key, value in headers:
        if len(key) == size and key.lower() == wanted:
            return value
    return None


# An encoded word; the text part may hold spaces (senders forget to encode them).
_WORD = re.compile(rb"=\?([^?\s]{1,64})\?([QqBb])\?(.*?)\?=", re.DOTALL)
_FOLD = re.compile(rb"\r?\n(?=[ \t])")
_QP_HEX = re.compile(rb"=([0-9A-Fa-f]{2})")
_HEADER_NAME = re.compile(rb"^[!-9;-~]+:")
_STUB = re.compile(
    r"^\s*(this (is an? )?(message|email) (is )?(in|contains) html|html (version|only)|"
    r"your (mail|e-?mail) (client|reader|program) does not support html)",
    re.IGNORECASE,
)
# C0 controls that are not layout (NUL, ESC...; \x1c-\x1f too, which str.isspace()
# calls whitespace) and DEL: they print as nothing, break XML 1.0 (feed.xml) and
# terminals (an ESC sequence in a Subject recolours `govmail show`).
_CONTROLS = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")
_LAYOUT = re.compile(r"[\r\n\t\v\f]+")
_FOLD_TEXT = re.compile(r"\r?\n(?=[ \t])")
_BODY_TYPES = frozenset({"text/plain", "text/html", "text/enriched"})
_TAGS = re.compile(r"<(script|style)\b.*?</\1\s*>|<!--.*?-->|<[^>]*>", re.IGNORECASE | re.DOTALL)


# -- the stdlib parser, minus one regex compile per multipart ------------------------------
# FeedParser._parsegen compiles a boundary regex for every multipart part
# ("(?P<sep>--BOUNDARY)(?P<end>--)?..."); boundaries are unique, so re's cache never hits
# and the compile was ~9% of parsing. A copy of _parsegen whose global ``re`` is
# _BoundaryRe builds an equivalent matcher instead: startswith(separator), then one
# precompiled pattern for the tail. _parsegen only reads a match's truth and its "end"
# and "linesep" groups, which the tail pattern gives the same values.
_BOUNDARY_HEAD = "(?P<sep>"
_BOUNDARY_TAIL_SOURCE = r")(?P<end>--)?(?P<ws>[ \t]*)(?P<linesep>\r\n|\r|\n)?$"
_BOUNDARY_TAIL = re.compile(_BOUNDARY_TAIL_SOURCE[1:])


class _Boundary:
    __slots__ = ("separator",)

    def __init__(self, separator: str) -> None:
        self.separator = separator

    def match(self, line: str) -> re.Match[str] | None:
        if not line.startswith(self.separator):
            return None
        return _BOUNDARY_TAIL.match(line, len(self.separator))


class _BoundaryRe:
    """The ``re`` that the copied _parsegen sees: escape is the identity, so compile gets
    the separator back verbatim between the known head and tail."""

    @staticmethod
    def escape(text: str) -> str:
        return text

    @staticmethod
    def compile(pattern: str, flags: int = 0) -> object:
        if (not flags and pattern.startswith(_BOUNDARY_HEAD)
                and pattern.endswith(_BOUNDARY_TAIL_SOURCE)):
            return _Boundary(pattern[len(_BOUNDARY_HEAD):-len(_BOUNDARY_TAIL_SOURCE)])
        return re.compile(pattern, flags)  # _parsegen compiles nothing else (checked below)


def _fast_parser_class() -> type[_feedparser.FeedParser] | None:
    """FeedParser with the copied _parsegen; None (stdlib parser) if its code is not the
    one this was written against."""
    original = _feedparser.FeedParser._parsegen
    code = original.__code__
    if _BOUNDARY_TAIL_SOURCE not in code.co_consts or original.__closure__:
        return None
    namespace = dict(vars(_feedparser))
    namespace["re"] = _BoundaryRe
    parsegen = FunctionType(code, namespace, original.__name__, original.__defaults__)
    return type("_FastFeedParser", (_feedparser.FeedParser,), {"_parsegen": parsegen})


_FAST_PARSER = _fast_parser_class()


def _parse_bytes(data: bytes) -> EmailMessage:
    """What ``email.message_from_bytes(data)`` returns (compat32), fed the same way."""
    if _FAST_PARSER is None:
        return message_from_bytes(data)
    text = data.decode("ASCII", errors="surrogateescape")
    parser = _FAST_PARSER(policy=compat32)
    for start in range(0, len(text), 8192):
        parser.feed(text[start:start + 8192])
    return parser.close()


def _raw_bytes(value: object) -> bytes:
    """Header value as the bytes it was on the wire (compat32 keeps 8-bit as surrogates)."""
    if isinstance(value, bytes):
        return value
    text = str(value)
    try:
        return text.encode("ascii", "surrogateescape")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogateescape")


def _decode_word(charset_label: str, kind: bytes, payload: bytes) -> bytes | None:
    if kind in (b"Q", b"q"):
        return _QP_HEX.sub(lambda m: bytes([int(m.group(1), 16)]), payload.replace(b"_", b" "))
    cleaned = re.sub(rb"[^A-Za-z0-9+/]", b"", payload)
    cleaned += b"=" * (-len(cleaned) % 4)
    try:
        return base64.b64decode(cleaned)
    except (binascii.Error, ValueError):
        return None


def decode_header_value(value: object) -> str:
    """RFC 2047 the forgiving way: words glued to text, split multibyte characters, raw 8-bit.

    Adjacent encoded words of one charset are joined as bytes before decoding (a character may
    be split across words) and the whitespace between them dropped (RFC 2047 §6.2).
    """
    if type(value) is str and value.isascii() and value.isprintable() and "=?" not in value:
        # Most header values: no encoded word, no fold, no control, nothing to repair or
        # normalise; every step below would return the value unchanged but for the strip.
        return value.strip()
    if type(value) is str and value.isascii() and "=?" not in value:
        # Folded or with controls, but still no word to decode: the same steps on str.
        return _CONTROLS.sub("", _LAYOUT.sub(" ", _FOLD_TEXT.sub("", value))).strip()
    data = _FOLD.sub(b"", _raw_bytes(value))
    pieces: list[tuple[str | None, bytes]] = []  # (label or None for plain text, bytes)
    pos = 0
    for match in _WORD.finditer(data):
        decoded = _decode_word(match.group(1).decode("ascii", "replace"), match.group(2),
                               match.group(3))
        if decoded is None:
            continue
        between = data[pos:match.start()]
        label = match.group(1).decode("ascii", "replace")
        if pieces and pieces[-1][0] is not None and not between.strip():
            between = b""
        if between:
            pieces.append((None, between))
        if pieces and pieces[-1][0] is not None and pieces[-1][0].lower() == label.lower():
            pieces[-1] = (pieces[-1][0], pieces[-1][1] + decoded)
        else:
            pieces.append((label, decoded))
        pos = match.end()
    pieces.append((None, data[pos:]))
    text = "".join(charset.decode_label(chunk, label) for label, chunk in pieces)
    text, _ = charset.repair_mojibake(text)
    text = _LAYOUT.sub(" ", text)
    text = _CONTROLS.sub("", text)
    return unicodedata.normalize("NFC", text).strip()


_SENDERS = frozenset({"from", "sender", "reply-to"})


def _headers(msg: EmailMessage) -> tuple[tuple[str, str], ...]:
    out: list[tuple[str, str]] = []
    for name, value in msg._headers:  # raw pairs: compat32 would wrap 8-bit values in Header
        out.append((str(name), decode_header_value(value)))
    return tuple(out)


def _encoded_senders(msg: EmailMessage) -> tuple[tuple[str, str], ...]:
    return tuple(
        (str(name), _FOLD_TEXT.sub("", str(value)))
        for name, value in msg._headers
        if str(name).lower() in _SENDERS and "=?" in str(value)
    )


def _param(part: EmailMessage, name: str) -> str | None:
    try:
        value = part.get_param(name)
    except Exception:  # malformed parameters: compat32 raises assorted errors
        return None
    if isinstance(value, tuple):  # RFC 2231: (charset, language, value)
        raw = value[2]
        try:
            raw_bytes = raw.encode("latin-1", "surrogateescape")
        except UnicodeEncodeError:
            return raw
        return charset.decode_label(raw_bytes, value[0] or "utf-8")
    if value is None:
        return None
    return decode_header_value(str(value))


def _filename(part: EmailMessage) -> str | None:
    try:
        name = part.get_filename()
    except Exception:  # bad RFC 2231 continuations
        name = None
    if name is None:
        name = _param(part, "name")
    elif "=?" in name:
        name = decode_header_value(name)
    elif any("\udc80" <= c <= "\udcff" for c in name):
        name = decode_header_value(name)
    return name or None


def _content_type(part: EmailMessage) -> str:
    try:
        ctype = part.get_content_type()
    except Exception:
        ctype = "text/plain"
    return ctype.lower()


def _payload(part: EmailMessage, notes: list[str]) -> bytes:
    before = len(part.defects)
    try:
        data = part.get_payload(decode=True)
    except Exception as exc:  # a CTE compat32 cannot handle; take the bytes as they are
        notes.append(f"transfer decoding failed ({exc}); raw bytes used")
        data = _raw_bytes(part.get_payload())
    for defect in part.defects[before:]:
        notes.append(f"defect: {type(defect).__name__}")
    if data is None:
        raw = part.get_payload()
        data = _raw_bytes(raw) if isinstance(raw, str) else b""
    return data


def _is_attachment(part: EmailMessage, ctype: str) -> bool:
    disposition = str(part.get("Content-Disposition") or "").split(";", 1)[0].strip().lower()
    if disposition == "attachment":
        return True
    return ctype not in _BODY_TYPES


@dataclass(slots=True)
class _Text:
    text: str
    html: bool
    report: CharsetReport

    def words(self) -> int:
        plain = _TAGS.sub(" ", self.text) if self.html else self.text
        return len(plain.split())


# Quoted-printable residue: an escape, or a soft line break (a line ending in a lone "=").
_QP_CODE = re.compile(rb"=[0-9A-F]{2}")
_QP_SOFT = re.compile(rb"(?<![=\s])=\r?$", re.MULTILINE)
_QP_ANY_EQUALS = re.compile(rb"=")


def evidently_qp(data: bytes) -> bool:
    """True when bytes that no header calls quoted-printable plainly are: several escapes or
    soft breaks, and almost no "=" that QP could not have written (``a = b`` in code)."""
    # Substring tests first: most bodies hold an "=" (code, URLs) but neither a soft break
    # nor the escapes of "=" and a space, without which nothing below can say yes.
    if b"=\n" not in data and b"=\r\n" not in data and b"=3D" not in data \
            and b"=20" not in data:
        return False
    codes = len(_QP_CODE.findall(data))
    soft = len(_QP_SOFT.findall(data))
    if codes + soft < 3 or (soft == 0 and b"=3D" not in data and b"=20" not in data):
        return False
    others = len(_QP_ANY_EQUALS.findall(data)) - codes - soft
    return others <= (codes + soft) // 10


class _Walker:
    """Walks a part tree within the Settings bounds, collecting texts and attachments."""

    def __init__(self, settings: Settings, archived: bool = False) -> None:
        self.settings = settings
        self.parts = 0
        self.notes: list[str] = []
        self.attachments: list[Attachment] = []
        # A pipermail .txt keeps a body's bytes but drops its Content-Transfer-Encoding.
        self.archived = archived

    def text_of(self, part: EmailMessage, ctype: str) -> _Text:
        data = _payload(part, self.notes)
        if self.archived and part.get("Content-Transfer-Encoding") is None \
                and evidently_qp(data):
            data = quopri.decodestring(data)
            self.notes.append("quoted-printable left encoded by the archive; decoded")
        is_html = ctype == "text/html"
        text, report = charset.to_text(data, _param(part, "charset"), is_html)
        if ctype == "text/enriched":
            text = re.sub(r"<<", "<", re.sub(r"<[^<>]*>", "", text))
        return _Text(text, is_html, report)

    def walk(self, part: EmailMessage, depth: int) -> list[_Text]:
        self.parts += 1
        if self.parts > self.settings.max_mime_parts:
            if self.parts == self.settings.max_mime_parts + 1:
                self.notes.append(f"limit: more than max_mime_parts ({self.settings.max_mime_parts})"
                                  " parts; the rest were skipped")
            return []
        if depth > self.settings.max_mime_depth:
            self.notes.append(f"limit: nesting deeper than max_mime_depth "
                              f"({self.settings.max_mime_depth}); deeper parts skipped")
            return []
        ctype = _content_type(part)
        if part.is_multipart():
            children = part.get_payload()
            if not isinstance(children, list):
                return []
            if ctype == "multipart/alternative":
                return self._alternative(children, depth)
            texts: list[_Text] = []
            for child in children:
                texts.extend(self.walk(child, depth + 1))
            return texts
        if ctype == "message/rfc822" or ctype.startswith("message/"):
            return []
        if _is_attachment(part, ctype):
            data = _payload(part, self.notes)
            self.attachments.append(Attachment(_filename(part), ctype, len(data)))
            return []
        return [self.text_of(part, ctype)]

    def _alternative(self, children: list[EmailMessage], depth: int) -> list[_Text]:
        options = [self.walk(child, depth + 1) for child in children]
        options = [o for o in options if o and any(t.text.strip() for t in o)]
        if not options:
            return []
        return max(reversed(options), key=_score)


def _score(texts: list[_Text]) -> tuple[int, int]:
    """Rank alternatives: a stub ("this message is in HTML") loses; otherwise more words win,
    and HTML wins near-ties because its quoting markup (cite ids, blockquotes) says more."""
    first = texts[0]
    words = sum(t.words() for t in texts)
    plain = _TAGS.sub(" ", first.text) if first.html else first.text
    if words < 3 or _STUB.match(plain):
        return (0, words)
    bonus = 1.15 if any(t.html for t in texts) else 1.0
    return (1, int(words * bonus))


def _plain_to_html(text: str) -> str:
    from html import escape

    return f"<pre>{escape(text)}</pre>"


def sniff_body_type(data: bytes) -> bool:
    """True when a header-less body is HTML."""
    head = data[:2048].lower()
    return any(tag in head for tag in (b"<html", b"<!doctype html", b"<body", b"<div", b"<p>",
                                      b"<p ", b"<meta", b"<br", b"<blockquote", b"<table", b"<font"))


def _looks_like_headers(data: bytes) -> bool:
    first = data.lstrip(b"\r\n")[:1000].split(b"\n", 1)[0]
    return bool(_HEADER_NAME.match(first))


def decode(raw: RawMessage, settings: Settings) -> Decoded:
    """Decode one raw message; raises MessageError only when there is nothing to decode."""
    data = raw.data
    if not data.strip():
        raise MessageError("empty message", stage="mime")
    if raw.format in archive_pages.FORMATS:
        return _decode_page(raw)
    if raw.format == "body" or not _looks_like_headers(data):
        is_html = sniff_body_type(data)
        text, report = charset.to_text(data, None, is_html)
        return Decoded(headers=(), text=_CONTROLS.sub("", text),
                       content_type="text/html" if is_html else "text/plain",
                       charset=report, has_headers=False)
    msg = _parse_bytes(data)
    headers = _headers(msg)
    senders = _encoded_senders(msg)
    walker = _Walker(settings, archived=raw.format == "pipermail")
    texts = walker.walk(msg, 0)
    notes = [f"defect: {type(d).__name__}" for d in msg.defects]
    notes.extend(walker.notes)
    texts = [t for t in texts if t.text.strip()] or texts
    if not texts:
        return Decoded(headers=headers, text="", content_type="text/plain",
                       charset=CharsetReport(declared=None, used="US-ASCII"),
                       attachments=tuple(walker.attachments), notes=tuple(dict.fromkeys(notes)),
                       encoded_senders=senders)
    first = texts[0]
    if len(texts) == 1:
        body = first.text
    elif first.html:
        body = "\n".join(t.text if t.html else _plain_to_html(t.text) for t in texts)
    else:
        body = "\n\n".join(_TAGS.sub("", t.text) if t.html else t.text for t in texts)
    body = _CONTROLS.sub("", body)
    repairs = tuple(dict.fromkeys(r for t in texts for r in t.report.repairs))
    report = CharsetReport(first.report.declared, first.report.used, repairs)
    return Decoded(headers=headers, text=body,
                   content_type="text/html" if first.html else "text/plain", charset=report,
                   attachments=tuple(walker.attachments), notes=tuple(dict.fromkeys(notes)),
                   encoded_senders=senders)


def _decode_page(raw: RawMessage) -> Decoded:
    """An archive HTML page: the page's charset, then the headers and body the page shows."""
    page_text, report = charset.to_text(raw.data, archive_pages.declared_charset(raw.data), True)
    page = archive_pages.read_page(page_text, raw.format, raw.container)
    headers = tuple((name, decode_header_value(value)) for name, value in page.headers)
    text = page.text
    notes = [f"read from a {raw.format} archive page"]
    if raw.format == archive_pages.PIPERMAIL_HTML and evidently_qp(text.encode("utf-8")):
        text = quopri.decodestring(text.encode("utf-8")).decode("utf-8", "replace")
        notes.append("quoted-printable left encoded by the archive; decoded")
    if not any(name == "Message-ID" for name, _ in headers):
        notes.append("the page does not give its Message-ID; derived from content")
    return Decoded(headers=headers, text=_CONTROLS.sub("", text), content_type="text/plain",
                   charset=report, notes=tuple(notes))
