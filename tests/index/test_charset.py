"""Charset decisions: BOM > MIME charset > meta > strict UTF-8 > chardet, labels, mojibake, NFC."""

from __future__ import annotations

import pytest

from core.records import CharsetReport
from index.charset import codec_for, repair_mojibake, to_text

SEED_META = b'<html><head><meta content="text/html;charset=ISO-8859-1" http-equiv="Content-Type"></head>'


def test_seed_shape_utf8_bytes_under_latin1_meta() -> None:
    data = SEED_META + "<body>Délégué Spécial</body></html>".encode()
    text, report = to_text(data, None, is_html=True)
    assert "Délégué Spécial" in text
    assert report == CharsetReport(
        declared="ISO-8859-1",
        used="UTF-8",
        repairs=("declared ISO-8859-1 but the bytes are valid multi-byte UTF-8: decoded as UTF-8",),
    )


def test_same_body_in_true_windows_1252_needs_no_repair() -> None:
    data = SEED_META + "<body>Délégué Spécial</body></html>".encode("cp1252")
    text, report = to_text(data, None, is_html=True)
    assert "Délégué Spécial" in text
    assert report == CharsetReport("ISO-8859-1", "windows-1252", ())


def test_iso_8859_1_label_reads_c1_bytes_as_windows_1252_punctuation() -> None:
    text, report = to_text(b"It\x92s \x93quoted\x94 \x80 5", "iso-8859-1", is_html=False)
    assert text == "It’s “quoted” € 5"
    assert report.used == "windows-1252"
    assert report.repairs == (
        "iso-8859-1 read as windows-1252 (WHATWG): bytes 0x80-0x9F are punctuation",
    )


@pytest.mark.parametrize(
    "label", ["unknown-8bit", "x-unknown", "x-user-defined", "utf8", '"UTF-8"', "utf-8;", "UTF-8 "]
)
def test_bogus_or_sloppy_labels_over_utf8_bytes(label: str) -> None:
    text, report = to_text("Délégué".encode(), label, is_html=False)
    assert (text, report.used) == ("Délégué", "UTF-8")


def test_cp_850_label_decodes_cp850() -> None:
    text, report = to_text("Délégué".encode("cp850"), "cp-850", is_html=False)
    assert (text, report.used) == ("Délégué", "cp850")


def test_bom_beats_header_and_is_not_in_text() -> None:
    text, report = to_text(b"\xef\xbb\xbf" + "Délégué".encode(), "iso-8859-1", is_html=False)
    assert text == "Délégué"
    assert report.used == "UTF-8"
    assert report.repairs == ("byte order mark says UTF-8; it overrides the iso-8859-1 label",)


def test_utf16_bom() -> None:
    text, report = to_text("\ufeffDélégué".encode("utf-16-le"), None, is_html=False)
    assert (text, report.used) == ("Délégué", "UTF-16LE")


def test_double_encoded_utf8_is_repaired_and_nao_stays() -> None:
    once = "Délégué".encode().decode("cp1252")
    twice = once.encode().decode("cp1252")
    data = f"{once} / {twice} / NÃO é possível".encode()
    text, report = to_text(data, "utf-8", is_html=False)
    assert text == "Délégué / Délégué / NÃO é possível"
    assert report.repairs == ("mojibake fixed: 12 double-encoded UTF-8 sequences re-decoded",)


def test_mojibake_repair_cp1252_layer() -> None:
    broken = "doesn’t — “x".encode().decode("cp1252")
    assert repair_mojibake(broken) == ("doesn’t — “x", 3)
    assert repair_mojibake("Ministère des Affaires Étrangères") == (
        "Ministère des Affaires Étrangères", 0)


def test_gb2312_label_with_gbk_only_character() -> None:
    text, report = to_text("朱镕基".encode("gbk"), "gb2312", is_html=False)
    assert (text, report.used) == ("朱镕基", "GB18030")


def test_shift_jis_label_with_nec_extension() -> None:
    text, _ = to_text("①番".encode("cp932"), "shift_jis", is_html=False)
    assert text == "①番"


def test_euc_kr_label_with_cp949_hangul() -> None:
    text, _ = to_text("똠방".encode("cp949"), "euc-kr", is_html=False)
    assert text == "똠방"


def test_iso_2022_jp_escape_sequences_never_reach_text() -> None:
    text, _ = to_text("日本語".encode("iso2022_jp"), "iso-2022-jp", is_html=False)
    assert text == "日本語"
    text, report = to_text("日本語".encode("iso2022_jp"), None, is_html=False)
    assert text == "日本語" and "\x1b" not in text


def test_utf7_label_decodes_and_ascii_plus_is_not_utf7() -> None:
    assert to_text("Délégué".encode("utf-7"), "utf-7", is_html=False)[0] == "Délégué"
    assert to_text(b"C++ and 1+1=2", None, is_html=False) == (
        "C++ and 1+1=2", CharsetReport(None, "UTF-8", ()))


def test_short_latin1_body_without_label_is_detected() -> None:
    text, report = to_text("Merci, Délégué spécial, à bientôt".encode("latin-1"), None,
                           is_html=False)
    assert text == "Merci, Délégué spécial, à bientôt"
    assert report.repairs[0].startswith("detected ")
    assert "confidence" in report.repairs[0]


def test_nfc_normalisation() -> None:
    assert to_text("De\u0301le\u0301gue\u0301".encode(), "utf-8", is_html=False)[0] == "Délégué"


@pytest.mark.parametrize(
    ("label", "codec"),
    [
        ("ISO-8859-1", "cp1252"),
        ("us-ascii", "cp1252"),
        ("gb2312", "gb18030"),
        ("Shift_JIS", "cp932"),
        ("ks_c_5601-1987", "cp949"),
        ("utf8", "utf-8"),
        ("cp-850", "cp850"),
        ("koi8-r", "koi8-r"),
        ("unknown-8bit", None),
        ("x-user-defined", None),
        ("base64", None),
        ("rot13", None),
        ("no-such-charset", None),
        (None, None),
    ],
)
def test_label_mapping(label: str | None, codec: str | None) -> None:
    assert codec_for(label) == codec
