"""A generator of hostile mail: the broken, the huge and the malicious, as raw bytes.

Owns the catalogue of hostile messages the hardening tests feed to the pipeline and
the indexer, and an mbox writer that keeps each of them one message (``From `` lines
inside bodies are quoted, mboxrd style). The huge ones (100 MB) are written to disk
chunk by chunk so that the test process never holds them in memory. Does not parse
anything or decide what the pipeline should make of a message: the tests do.
"""

from __future__ import annotations

import base64
import random
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

MB = 1024 * 1024
ENVELOPE = b"From hostile@example.org Mon Jan  3 10:00:00 2011\n"
# A body line that would start a new mbox message; ">From " keeps it inside this one.
_FROM_LINE = re.compile(rb"^(>*From )", re.MULTILINE)
# What every script payload runs; a body text that contains it kept script content.
SCRIPT_MARK = "alert('hostile-script')"


@dataclass(frozen=True, slots=True)
class Hostile:
    """One hostile message: its bytes, and the subject its headers carry (None: none)."""

    name: str
    data: bytes
    subject: str | None = None
    # True when the message is built to exceed a bound of the default Settings.
    over_bound: bool = False


def _headers(subject: str, msgid: str, extra: str = "") -> bytes:
    return (
        f"From: Hostile Sender <hostile@example.org>\n"
        f"To: list@example.org\n"
        f"Subject: {subject}\n"
        f"Date: Mon, 3 Jan 2011 10:00:00 +0000\n"
        f"Message-ID: <{msgid}@hostile.example>\n"
        f"{extra}"
    ).encode("ascii")


def _multipart(boundary: str) -> str:
    return f'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="{boundary}"\n'


def nested_multipart(depth: int) -> bytes:
    """``depth`` multiparts, each holding the next, a text leaf at the bottom."""
    opening: list[str] = []
    closing: list[str] = []
    for level in range(depth):
        b = f"b{level}"
        opening.append(f"--{b}\nContent-Type: multipart/mixed; boundary=\"b{level + 1}\"\n\n")
        closing.append(f"\n--{b}--\n")
    leaf = f"--b{depth}\nContent-Type: text/plain\n\ndeep leaf text\n--b{depth}--\n"
    body = "".join(opening) + leaf + "".join(reversed(closing))
    return (
        _headers(f"nested {depth}", f"nested-{depth}", _multipart("b0")) + b"\n" + body.encode()
    )


def many_parts(count: int) -> bytes:
    parts = "".join(
        f"--many\nContent-Type: text/plain\n\npart number {i}\n" for i in range(count)
    )
    return (
        _headers(f"{count} parts", f"parts-{count}", _multipart("many"))
        + b"\n"
        + (parts + "--many--\n").encode()
    )


def html_message(subject: str, msgid: str, html: str) -> bytes:
    extra = "MIME-Version: 1.0\nContent-Type: text/html; charset=utf-8\n"
    return _headers(subject, msgid, extra) + b"\n" + html.encode("utf-8") + b"\n"


def deep_html(depth: int) -> bytes:
    html = "<html><body>" + "<div>" * depth + "deep html text" + "</div>" * depth + "</body></html>"
    return html_message(f"html depth {depth}", f"html-{depth}", html)


HOSTILE_HTML = f"""<html><head><style>body {{ background: expression(alert(1)) }}</style>
<script>{SCRIPT_MARK}</script></head>
<body onload="{SCRIPT_MARK}">
<p>Visible governance text.</p>
<img src=x onerror="{SCRIPT_MARK}">
<a href="javascript:{SCRIPT_MARK}">click me</a>
<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">data link</a>
<div style="width: expression(alert(2))">styled</div>
<iframe src="javascript:alert(3)"></iframe>
<svg onload="{SCRIPT_MARK}"><script>{SCRIPT_MARK}</script></svg>
<object data="data:text/html,<script>alert(4)</script>"></object>
<!-- <script>{SCRIPT_MARK}</script> -->
</body></html>"""


def small_cases(seed: int = 8) -> list[Hostile]:
    """Every hostile shape that fits in memory comfortably (the 10 MB line included)."""
    rng = random.Random(seed)
    truncated_source = many_parts(5)
    cases = [
        Hostile("empty", b""),
        Hostile("random-bytes", rng.randbytes(4096)),
        Hostile("random-printable", bytes(rng.choice(range(32, 127)) for _ in range(2048))),
        Hostile("truncated-mid-part", truncated_source[: len(truncated_source) // 2],
                subject="5 parts"),
        Hostile("truncated-mid-header", b"From: someone@exam"),
        Hostile("headers-without-body",
                _headers("no body at all", "nobody").rstrip(b"\n"), subject="no body at all"),
        Hostile("headers-then-blank-no-body", _headers("blank body", "blank") + b"\n",
                subject="blank body"),
        Hostile("body-without-headers",
                b"Just words about internet governance, no headers above them.\n\nMore words.\n"),
        Hostile("nul-bytes",
                _headers("nul\x00in subject", "nul") + b"\nbody\x00with\x00nuls\x00\n"),
        Hostile("invalid-utf8-headers",
                b"From: \xff\xfe Bad \xc3\x28 <bad@example.org>\nSubject: caf\xe9 \xc3\x28\xa0\xa1"
                b"\nMessage-ID: <\xff\xfe@bad>\nDate: Mon, 3 Jan 2011 10:00:00 +0000\n\nbody\n"),
        Hostile("invalid-rfc2047",
                _headers("=?utf-8?B?!!!notbase64?= =?utf-8?Q?=ZZ=?= =?x-nothing?Q?abc?=",
                         "rfc2047") + b"\nbody\n"),
        Hostile("unterminated-boundary",
                _headers("unterminated", "unterminated", _multipart("never-closed"))
                + b"\n--never-closed\nContent-Type: text/plain\n\nfirst part never ends\n",
                subject="unterminated"),
        Hostile("boundary-missing",
                _headers("no boundary param", "noboundary",
                         "MIME-Version: 1.0\nContent-Type: multipart/mixed\n")
                + b"\n--x\nContent-Type: text/plain\n\ntext\n--x--\n",
                subject="no boundary param"),
        Hostile("parts-999", many_parts(999), subject="999 parts"),
        Hostile("parts-1000", many_parts(1000), subject="1000 parts"),
        Hostile("parts-1500", many_parts(1500), subject="1500 parts", over_bound=True),
        Hostile("nested-multipart-50", nested_multipart(50), subject="nested 50",
                over_bound=True),
        Hostile("nested-multipart-500", nested_multipart(500), subject="nested 500",
                over_bound=True),
        Hostile("nested-html-10000", deep_html(10_000), subject="html depth 10000",
                over_bound=True),
        Hostile("unclosed-html-10000",
                html_message("unclosed html", "unclosed", "<b><i><div>" * 3400 + "text"),
                subject="unclosed html", over_bound=True),
        Hostile("single-line-10MB",
                _headers("ten megabyte line", "longline") + b"\n" + b"x" * (10 * MB) + b"\n",
                subject="ten megabyte line", over_bound=True),
        Hostile("base64-garbage",
                _headers("base64 garbage", "b64",
                         "MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n"
                         "Content-Transfer-Encoding: base64\n")
                + b"\n!!!@@@ this is not === base64 at all ***\n====\nQUJD\x00\xff\n",
                subject="base64 garbage"),
        Hostile("base64-binary-as-text",
                _headers("base64 binary", "b64bin",
                         "MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n"
                         "Content-Transfer-Encoding: base64\n")
                + b"\n" + base64.encodebytes(rng.randbytes(3000)),
                subject="base64 binary"),
        Hostile("quoted-printable-garbage",
                _headers("qp garbage", "qp",
                         "MIME-Version: 1.0\nContent-Type: text/plain\n"
                         "Content-Transfer-Encoding: quoted-printable\n")
                + b"\n=ZZ=\n=0=1=\n=" + b"=" * 500 + b"\n", subject="qp garbage"),
        Hostile("unknown-transfer-encoding",
                _headers("x-uuencode", "cte", "MIME-Version: 1.0\n"
                         "Content-Type: text/plain\nContent-Transfer-Encoding: x-bogus-7\n")
                + b"\nplain enough\n", subject="x-uuencode"),
    ]
    for label in ("x-no-such-charset", "utf-8''", "unicode-1-1-utf-7", "\x01\x02", "a" * 300,
                  "replacement", "utf-16", "iso-2022-kr"):
        safe = re.sub(r"[^a-z0-9]+", "-", label.lower())[:40] or "control"
        cases.append(Hostile(
            f"charset-{safe}",
            _headers("charset label " + safe, f"charset-{safe}",
                     f'MIME-Version: 1.0\nContent-Type: text/plain; charset="{label}"\n')
            + b"\ncaf\xc3\xa9 gouvernance \xe9t\xe9 \xff\xfe\n",
            subject="charset label " + safe,
        ))
    cases.append(Hostile("meta-charset-bogus", html_message(
        "meta charset", "metacs",
        '<html><head><meta charset="x-klingon"><meta http-equiv="Content-Type" '
        'content="text/html; charset=\x00"></head><body>text</body></html>'),
        subject="meta charset"))
    cases.append(Hostile("html-scripts-handlers-links",
                         html_message("hostile html", "hostilehtml", HOSTILE_HTML),
                         subject="hostile html"))
    cases.append(Hostile("header-line-1MB",
                         _headers("s" * MB, "longheader") + b"\nbody\n", subject="s" * MB))
    cases.append(Hostile("ten-thousand-headers",
                         _headers("many headers", "manyheaders")
                         + b"".join(b"X-H%d: v\n" % i for i in range(10_000)) + b"\nbody\n",
                         subject="many headers"))
    cases.append(Hostile("crlf-cr-mix",
                         _headers("line ends", "lineends").replace(b"\n", b"\r\n")
                         + b"\r\nbody\rwith\r\rbare\rCR\n\n\r\n", subject="line ends"))
    cases.append(Hostile("references-100k",
                         _headers("huge references", "refs", "References: "
                                  + " ".join(f"<r{i}@x>" for i in range(20_000)) + "\n")
                         + b"\nbody\n", subject="huge references"))
    return cases


def quote_staircase(levels: int) -> bytes:
    """A plain reply whose every line quotes one level deeper than the one above."""
    body = b"own words\n" + b"".join(b">" * i + b" level text\n" for i in range(1, levels))
    return _headers("quote staircase", f"staircase-{levels}") + b"\n" + body


def write_big_message(out: BinaryIO, size: int, subject: str = "one hundred megabytes") -> int:
    """Write a plain message of about ``size`` bytes in 1 MB chunks; returns bytes written."""
    head = _headers(subject, f"big-{size}") + b"\n"
    out.write(head)
    written = len(head)
    line = b"governance " * 7 + b"\n"
    chunk = line * (MB // len(line))
    while written < size:
        out.write(chunk)
        written += len(chunk)
    return written


def mbox_quote(data: bytes) -> bytes:
    """mboxrd quoting: a body line starting with (>*)From gets one more '>'."""
    return _FROM_LINE.sub(rb">\1", data)


def write_mbox(path: Path, messages: Iterable[bytes]) -> int:
    """One mbox holding each message exactly once; returns how many were written."""
    count = 0
    with open(path, "wb") as out:
        for data in messages:
            out.write(ENVELOPE)
            body = mbox_quote(data)
            out.write(body)
            if not body.endswith(b"\n"):
                out.write(b"\n")
            out.write(b"\n")
            count += 1
    return count


def all_small(seed: int = 8) -> Iterator[bytes]:
    for case in small_cases(seed):
        yield case.data
