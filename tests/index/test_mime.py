"""MIME decoding: RFC 2047 (also malformed), RFC 2231, transfer encodings, alternatives, bounds."""

from __future__ import annotations

import pytest

from core.config import Settings
from core.errors import MessageError
from core.records import Attachment, RawMessage, SourceRef
from index.mime import decode, decode_header_value


def _decode(data: bytes, settings: Settings | None = None):
    return decode(RawMessage(SourceRef("t.eml"), data, "eml"), settings or Settings())


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"=?utf-8?Q?D=C3=A9l=C3=A9gu=C3=A9?=", "Délégué"),
        (b"[list]=?utf-8?Q?D=C3=A9l=C3=A9gu=C3=A9?=", "[list]Délégué"),
        (b'"=?iso-8859-1?Q?Andr=E9_Pirard?=" <a@b.c>', '"André Pirard" <a@b.c>'),
        (b"=?utf-8?Q?D=C3?= =?utf-8?Q?=A9l?=", "Dél"),
        (b"=?unknown-8bit?Q?D=E9l=E9gu=E9?=", "Délégué"),
        (b"=?unknown-8bit?Q?D=C3=A9l=C3=A9gu=C3=A9?=", "Délégué"),
        (b"=?utf-8?B?RMOpbMOpZ3XDqQ?=", "Délégué"),
        (b"=?utf-8?Q?D=C3=A9l=C3=A9gu=C3=A9 sp=C3=A9cial?=", "Délégué spécial"),
        (b"=?iso-8859-1?Q?D=C3=A9l=C3=A9gu=C3=A9?=", "Délégué"),
        (b"=?iso-8859-1?Q?It=92s?=", "It’s"),
        ("Délégué spécial".encode(), "Délégué spécial"),
        ("Délégué".encode("latin-1"), "Délégué"),
        (b"=?utf-8?Q?B=C3=A9r=C3=A9nice-Am=C3=A9lie?=\n =?utf-8?Q?_D=C3=BBbois-B=C3=A9na?=\n"
         b" =?utf-8?Q?rd?=", "Bérénice-Amélie Dûbois-Bénard"),
        (b"=?x-no-such?Q?plain?= text", "plain text"),
        (b"=?utf-8?X?broken?=", "=?utf-8?X?broken?="),
    ],
)
def test_header_decoding(raw: bytes, expected: str) -> None:
    assert decode_header_value(raw) == expected


def test_headers_with_raw_8bit_latin1_through_the_parser() -> None:
    decoded = _decode("Subject: Délégué\nFrom: a@b.c\n\nbody\n".encode("latin-1"))
    assert decoded.get("Subject") == "Délégué"


ALTERNATIVE = b"""From: a@b.c
Subject: alt
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="XX"

--XX
Content-Type: text/plain; charset=us-ascii

%s
--XX
Content-Type: text/html; charset=utf-8
Content-Transfer-Encoding: quoted-printable

<html><body><p>%s</p></body></html>
--XX--
"""


def test_alternative_plain_stub_loses_to_html() -> None:
    d = _decode(ALTERNATIVE % (b"This message is in HTML format.",
                               b"The real words of the author are=\n here, D=c3=a9l=C3=A9gu=C3=A9."))
    assert d.content_type == "text/html"
    assert "The real words of the author are here, Délégué." in d.text


def test_alternative_html_stub_loses_to_plain() -> None:
    d = _decode(ALTERNATIVE % (b"The plain part has all of the words the author wrote today.", b""))
    assert (d.content_type, d.text.strip()) == (
        "text/plain", "The plain part has all of the words the author wrote today.")


def test_alternative_comparable_parts_prefer_html() -> None:
    d = _decode(ALTERNATIVE % (b"Same words in both parts here.", b"Same words in both parts here."))
    assert d.content_type == "text/html"


def test_attachments_listed_with_rfc2231_and_rfc2047_names_not_indexed() -> None:
    data = b"""From: a@b.c
Subject: att
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="B"

--B
Content-Type: text/plain; charset=utf-8

See attached.
--B
Content-Type: application/pdf
Content-Disposition: attachment; filename*0*=UTF-8''D%C3%A9l; filename*1*=%C3%A9gu%C3%A9.pdf
Content-Transfer-Encoding: base64

SGVsbG8gd29ybGQ=
--B
Content-Type: application/octet-stream; name="=?utf-8?Q?R=C3=A9sum=C3=A9.txt?="
Content-Disposition: attachment; filename="=?utf-8?Q?R=C3=A9sum=C3=A9.txt?="

printable secret words
--B--
"""
    d = _decode(data)
    assert d.attachments == (
        Attachment("Délégué.pdf", "application/pdf", 11),
        Attachment("Résumé.txt", "application/octet-stream", 22),
    )
    assert d.text.strip() == "See attached."


def test_base64_without_padding_and_junk_is_decoded_with_defect() -> None:
    data = (b"From: a@b.c\nSubject: b64\nContent-Type: text/plain; charset=utf-8\n"
            b"Content-Transfer-Encoding: base64\n\nRMOpbMOpZ3XDqSBzcMOpY2lhbA!\n")
    d = _decode(data)
    assert d.text.startswith("Délégué spécial")
    assert any(n.startswith("defect: InvalidBase64") for n in d.notes)


def test_quoted_printable_lowercase_soft_breaks_and_literal_junk() -> None:
    data = (b"From: a@b.c\r\nContent-Type: text/plain; charset=utf-8\r\n"
            b"Content-Transfer-Encoding: quoted-printable\r\n\r\n"
            b"D=c3=a9l=C3=A9=\r\ngu=C3=A9 =ZZ ok\r\n")
    assert _decode(data).text == "Délégué =ZZ ok\r\n"


def test_bounds_on_depth_and_parts_are_reported() -> None:
    nested = b"From: a@b.c\nContent-Type: multipart/mixed; boundary=b0\n\n"
    for level in range(1, 6):
        nested += b"--b%d\nContent-Type: multipart/mixed; boundary=b%d\n\n" % (level - 1, level)
    nested += b"--b5\nContent-Type: text/plain\n\ndeep text\n--b5--\n"
    d = _decode(nested, Settings(max_mime_depth=3))
    assert d.text == ""
    assert "limit: nesting deeper than max_mime_depth (3); deeper parts skipped" in d.notes
    many = b"From: a@b.c\nContent-Type: multipart/mixed; boundary=B\n\n" + b"".join(
        b"--B\nContent-Type: text/plain\n\npart %d\n" % i for i in range(10)) + b"--B--\n"
    d = _decode(many, Settings(max_mime_parts=4))
    assert d.text == "part 0\n\npart 1\n\npart 2"
    assert "limit: more than max_mime_parts (4) parts; the rest were skipped" in d.notes


def test_headerless_body_and_empty_message() -> None:
    d = decode(RawMessage(SourceRef("b.txt"), b"<p>Hello</p>", "body"), Settings())
    assert (d.has_headers, d.content_type, d.headers) == (False, "text/html", ())
    with pytest.raises(MessageError, match="empty message"):
        _decode(b"  \n\n")
