"""Archive HTML pages (hypermail, Mailman 2 pipermail) -> the headers and plain body they carry.

Owns telling a message page from an archive index page by its content, reading a hypermail
page's own metadata comments (``<!-- name="..." -->``, ``sent``, ``id``, ``inreplyto``...) and its
body between ``<!-- body="start" -->`` and ``<!-- body="end" -->`` (quote levels from
``quotelevN`` spans), a pipermail page's ``<H1>``/``<B>``/``<I>`` header block and its body
between ``<!--beginarticle-->`` and ``<!--endarticle-->``, and the page -> Message-ID map of a
pipermail ``thread.html`` (the page itself does not carry its own Message-ID). The page text
becomes plain text with ``>`` quote prefixes, so the ordinary plain-text splitter reads it and a
page gives the same record as the same message in the archive's ``.txt``. Sources route files
here (:func:`classify`); MIME decoding hands page bytes to :func:`read_page`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from html import unescape
from pathlib import Path
from urllib.parse import unquote

# Formats of RawMessage that are archive pages rather than RFC 5322 bytes.
HYPERMAIL = "hypermail"
PIPERMAIL_HTML = "pipermail-html"
FORMATS = frozenset({HYPERMAIL, PIPERMAIL_HTML})
INDEX_REASON = "archive index page, not a message"

_HYPERMAIL_BODY = b'<!-- body="start" -->'
_PIPERMAIL_BODY = b"<!--beginarticle-->"
_HTML_START = re.compile(rb"^\s*(?:<\?xml[^>]*>\s*)?(?:<!DOCTYPE[^>]*>\s*)?<html\b", re.IGNORECASE)
# Index pages of either program, by what they say about themselves, not by file name (the W3C
# list index is a file called ``index`` with no extension).
_INDEX_SIGNS = (
    re.compile(rb'<meta\s+name="generator"\s+content="hypermail', re.IGNORECASE),
    re.compile(rb"<title>[^<]*(?:Mail Archives|Archives? by (?:date|thread|subject|author)|"
               rb"\bby (?:date|thread|subject|author|attachment)\s*</title>)", re.IGNORECASE),
    re.compile(rb"<b>Messages sorted by:</b>", re.IGNORECASE),
    re.compile(rb"public-(?:main)?index|public-messagelist", re.IGNORECASE),
)

_COMMENT = re.compile(r'<!-- ([a-z]+)="(.*?)" -->', re.DOTALL)
_LIST_START = re.compile(r'<link\s+rel="start"[^>]*title=\s*"([^"@\s]+)@[^"]*"', re.IGNORECASE)
_LIST_INDEX = re.compile(r'title="Index of ([^"@\s]+)@', re.IGNORECASE)
_PRE = re.compile(r"<pre\b[^>]*>(.*?)</pre>", re.IGNORECASE | re.DOTALL)
_ADDRESS = re.compile(r"<address\b.*?</address>", re.IGNORECASE | re.DOTALL)
_RECEIVED = re.compile(r'<span id="received">.*?</span>', re.IGNORECASE | re.DOTALL)
_QUOTELEV = re.compile(
    r'<(span|em|i)\s+class="quotelev(\d)"\s*>(.*?)</\1\s*>', re.IGNORECASE | re.DOTALL)
_BREAK = re.compile(r"<br\s*/?>", re.IGNORECASE)
_PARA = re.compile(r"</?p\b[^>]*>", re.IGNORECASE)
_TAG = re.compile(r"<[^<>]*>")
_H1 = re.compile(r"<H1>(.*?)</H1>", re.IGNORECASE | re.DOTALL)
_B = re.compile(r"</H1>\s*<B>(.*?)</B>", re.IGNORECASE | re.DOTALL)
_MAILTO = re.compile(r'<A\s+HREF="mailto:[^"]*"[^>]*>(.*?)</A>', re.IGNORECASE | re.DOTALL)
_REPLY_TO = re.compile(r'HREF="mailto:[^"?]*\?[^"]*?In-Reply-To=([^"&]*)', re.IGNORECASE)
_I = re.compile(r"<I>([^<]*\d{4})\s*</I>", re.IGNORECASE)
_ARTICLE = re.compile(r"<!--beginarticle-->(.*?)<!--endarticle-->", re.DOTALL)
# In a pipermail page's body every address is "x at y" inside a link to the list's listinfo
# page: that link says the " at " was an "@", as the .txt of the same month still shows it.
_HIDDEN_ADDRESS = re.compile(
    r'<A\s+HREF="[^"]*/listinfo/[^"]*"\s*>\s*([^<>\s]+) at ([^<>\s]+)\s*</A>', re.IGNORECASE)
_LISTINFO = re.compile(r'href="[^"]*/listinfo/([^"/?#\s]+)"', re.IGNORECASE)
_CHARSET = re.compile(rb'charset=["\']?([A-Za-z0-9_.:-]+)', re.IGNORECASE)
# thread.html: ``<!--2 01114961677/parent-id-01114965913/own-id- -->`` before ``<LI><A HREF="001430.html">``
_THREAD_ENTRY = re.compile(
    r'<!--\d+ (?P<chain>\S+)- -->\s*<LI><A HREF="(?P<page>[^"]+)"', re.IGNORECASE)
_CHAIN_STEP = re.compile(r"(\d{11})/")


# Some pipermail folders hold an index.html that is only the name of the page to open.
_PAGE_NAME_ONLY = re.compile(rb"^\s*(?:thread|date|subject|author|index)\.html\s*$")


def classify(head: bytes) -> str | None:
    """``hypermail`` or ``pipermail-html`` for a message page, ``index`` for an archive's
    index page, None for anything else (the first few KB of a file suffice)."""
    if _PAGE_NAME_ONLY.match(head):
        return "index"
    if not _HTML_START.match(head[:1024]):
        return None
    if _HYPERMAIL_BODY in head or b'<!-- received="' in head:
        return HYPERMAIL
    if _PIPERMAIL_BODY in head:
        return PIPERMAIL_HTML
    if any(sign.search(head) for sign in _INDEX_SIGNS):
        return "index"
    return None


@dataclass(frozen=True, slots=True)
class Page:
    """What one archive page says: header pairs as a mail would carry them, and a plain body."""

    headers: tuple[tuple[str, str], ...]
    text: str


def declared_charset(data: bytes) -> str | None:
    """The charset a page's meta tag (or XML declaration) names; hypermail writes both."""
    found = _CHARSET.search(data[:4096])
    return found.group(1).decode("ascii") if found else None


def _text(fragment: str, pre: bool) -> str:
    """HTML fragment -> text; quotelev spans become ``>`` lines of their depth."""
    if not pre:
        # Outside <pre> the source's own line breaks mean nothing; <br> and <p> do.
        fragment = fragment.replace("\r", "").replace("\n", " ")
        fragment = _BREAK.sub("\n", fragment)
        fragment = _PARA.sub("\n\n", fragment)

    def level(match: re.Match[str]) -> str:
        depth = int(match.group(2))
        inner = unescape(_TAG.sub("", match.group(3)))
        lines = inner.split("\n")
        fixed = []
        for line in lines:
            bare = line.lstrip()
            if bare and not bare.startswith((">", "|")):
                line = "> " * depth + bare
            fixed.append(line)
        # Escaped again so the final unescape leaves the text as it is.
        return "\n".join(fixed).replace("&", "&amp;").replace("<", "&lt;")

    fragment = _QUOTELEV.sub(level, fragment)
    text = unescape(_TAG.sub("", fragment))
    text = text.replace("\r\n", "\n").replace("\xa0", " ")
    if not pre:
        text = "\n".join(line.strip() for line in text.split("\n"))
        text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip("\n") + "\n"


def _hypermail(page: str) -> Page:
    start = page.find('<!-- body="start" -->')
    meta = {key: unescape(value) for key, value in _COMMENT.findall(page[:start if start >= 0
                                                                         else len(page)])}
    end = page.find('<!-- body="end" -->', max(start, 0))
    body = page[start + len('<!-- body="start" -->'):end if end >= 0 else len(page)] \
        if start >= 0 else ""
    body = _RECEIVED.sub("", _ADDRESS.sub("", body))
    pre = _PRE.search(body)
    text = _text(pre.group(1), True) if pre else _text(body, False)
    headers: list[tuple[str, str]] = []
    name, email = meta.get("name", "").strip(), meta.get("email", "").strip()
    if email and name and name != email:
        headers.append(("From", f'"{name}" <{email}>'))
    elif email or name:
        headers.append(("From", email or name))
    if meta.get("sent"):
        headers.append(("Date", meta["sent"]))
    if meta.get("received"):
        headers.append(("X-Archive-Received", meta["received"]))
    if meta.get("subject"):
        headers.append(("Subject", meta["subject"]))
    if meta.get("id"):
        headers.append(("Message-ID", f"<{meta['id'].strip()}>"))
    if meta.get("inreplyto"):
        headers.append(("In-Reply-To", f"<{meta['inreplyto'].strip()}>"))
    listed = _LIST_START.search(page) or _LIST_INDEX.search(page)
    if listed:
        headers.append(("X-Archive-List", listed.group(1)))
    return Page(tuple(headers), text)


def _pipermail(page: str, own_id: str | None) -> Page:
    headers: list[tuple[str, str]] = []
    name = _B.search(page)
    email = _MAILTO.search(page)
    address = " ".join(unescape(_TAG.sub("", email.group(1))).split()) if email else ""
    who = " ".join(unescape(_TAG.sub("", name.group(1))).split()) if name else ""
    if address:
        headers.append(("From", f"{address} ({who})" if who and who != address else address))
    elif who:
        headers.append(("From", who))
    date = _I.search(page, email.end() if email else 0)
    if date:
        headers.append(("Date", " ".join(date.group(1).split())))
    subject = _H1.search(page)
    if subject:
        # Spaces kept as the page has them: the .txt's Subject keeps a double space too.
        text = unescape(_TAG.sub("", subject.group(1))).replace("\r", "").replace("\n", "")
        headers.append(("Subject", text.strip()))
    if own_id:
        headers.append(("Message-ID", f"<{own_id}>"))
    parent = _REPLY_TO.search(page)
    if parent and parent.group(1):
        headers.append(("In-Reply-To", f"<{unquote(unescape(parent.group(1)))}>"))
    listed = _LISTINFO.search(page[page.rfind("<!--endarticle-->"):]) or _LISTINFO.search(page)
    if listed:
        headers.append(("X-Archive-List", unquote(listed.group(1))))
    article = _ARTICLE.search(page)
    body = _HIDDEN_ADDRESS.sub(r"\1@\2", article.group(1) if article else "")
    pre = _PRE.search(body)
    text = _text(pre.group(1), True) if pre else _text(body, False)
    return Page(tuple(headers), text)


def read_page(page: str, fmt: str, container: tuple[tuple[str, str], ...] = ()) -> Page:
    """The headers and body of one decoded page. ``container`` carries what the archive
    says beside the page (a pipermail page's Message-ID from thread.html)."""
    if fmt == HYPERMAIL:
        return _hypermail(page)
    own = next((value for key, value in container if key == "Message-ID"), None)
    return _pipermail(page, own)


@lru_cache(maxsize=16)
def _thread_map(path: str, mtime_ns: int, size: int) -> dict[str, str]:
    try:
        text = Path(path).read_bytes().decode("latin-1")
    except OSError:
        return {}
    found: dict[str, str] = {}
    for entry in _THREAD_ENTRY.finditer(text):
        # The chain lists "epoch/id-" from the thread root down to this message; the last
        # step is the page's own Message-ID (ids may hold "-", so split on the epochs).
        chain = entry.group("chain")
        steps = list(_CHAIN_STEP.finditer(chain))
        if steps:
            found[entry.group("page")] = chain[steps[-1].end():]
    return found


def pipermail_page_id(page_path: Path) -> str | None:
    """A pipermail page's own Message-ID, from its folder's thread.html (None when absent)."""
    thread = page_path.parent / "thread.html"
    try:
        stat = thread.stat()
    except OSError:
        return None
    return _thread_map(str(thread), stat.st_mtime_ns, stat.st_size).get(page_path.name)
