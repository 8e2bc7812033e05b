"""Property: whatever bytes arrive, the pipeline gives records or reported errors, never raises."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.config import Settings
from core.records import Message, RawMessage, Rejection, SourceRef
from index.charset import to_text
from index.metadata import parse_date
from index.mime import decode_header_value
from index.pipeline import parse_safely
from tests.conftest import DATA

SETTINGS = Settings(parse_timeout=5.0)
TEMPLATES = sorted(p.read_bytes() for p in (DATA / "messages").glob("*.eml"))[:40] or [
    b"From: a@b.c\nSubject: x\n\nbody\n"]
HEADER_BITS = st.sampled_from([
    b"From: ", b"Subject: ", b"Date: ", b"Message-ID: ", b"Content-Type: multipart/mixed; boundary=",
    b"Content-Transfer-Encoding: base64", b"Content-Type: text/html; charset=", b"=?utf-8?Q?",
    b"?=", b"=?unknown-8bit?B?", b"\r\n", b"\n", b"\n\n", b"--", b"<blockquote type=cite>", b">",
    b"From x at y  Tue Jul 10 11:29:44 2012\n", b"\xc3\xa9", b"\xe9", b"\x00", b"=\n", b"utf-16",
])
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _check(data: bytes, fmt: str = "eml") -> None:
    result = parse_safely(RawMessage(SourceRef("p.eml"), data, fmt), SETTINGS)
    assert isinstance(result, Message | Rejection)
    if isinstance(result, Rejection):
        assert not result.internal, result.reason
    else:
        result.to_json()


@FAST
@given(st.binary(max_size=2000), st.sampled_from(["eml", "mbox", "body", "maildir"]))
def test_random_bytes(data: bytes, fmt: str) -> None:
    _check(data, fmt)


@FAST
@given(st.lists(HEADER_BITS | st.binary(max_size=30), max_size=40))
def test_header_soup(bits: list[bytes]) -> None:
    _check(b"".join(bits))


@FAST
@given(st.sampled_from(TEMPLATES), st.data())
def test_mutated_fixture_messages(template: bytes, data: st.DataObject) -> None:
    mutated = bytearray(template)
    for _ in range(data.draw(st.integers(1, 8))):
        if not mutated:
            break
        pos = data.draw(st.integers(0, len(mutated) - 1))
        action = data.draw(st.sampled_from(["flip", "cut", "insert"]))
        if action == "flip":
            mutated[pos] = data.draw(st.integers(0, 255))
        elif action == "cut":
            del mutated[pos:pos + data.draw(st.integers(1, 200))]
        else:
            mutated[pos:pos] = data.draw(HEADER_BITS)
    _check(bytes(mutated))


@FAST
@given(st.binary(max_size=300), st.one_of(st.none(), st.text(max_size=20)), st.booleans())
def test_charset_never_raises(data: bytes, label: str | None, is_html: bool) -> None:
    text, report = to_text(data, label, is_html)
    assert isinstance(text, str) and report.used


@FAST
@given(st.text(max_size=80))
def test_dates_and_headers_never_raise(text: str) -> None:
    parse_date(text)
    decode_header_value(text.encode("utf-8", "surrogatepass"))
