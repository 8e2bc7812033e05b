"""Bytes -> Unicode: which charset a body really is in, and the repairs that made it readable.

Owns the charset decision (BOM > MIME charset > HTML meta > strict UTF-8 trial > restricted
chardet), the WHATWG reading of labels (``iso-8859-1`` is windows-1252 in practice), survival of
bogus labels, mojibake repair of double-encoded UTF-8 and NFC. Does not parse MIME or HTML
structure; :mod:`index.mime` hands over the bytes of one part and its declared label.
"""

from __future__ import annotations

import codecs
import re
import unicodedata

from core.records import CharsetReport

# WHATWG maps these labels to a superset codec; mail clients wrote the superset's bytes under
# the older label (normalisation.md §4.5), so decoding with the label's strict codec loses text.
_WHATWG: dict[str, str] = {}
for _codec, _labels in {
    "cp1252": "iso-8859-1 iso8859-1 iso_8859-1 iso_8859-1:1987 latin1 latin-1 l1 iso-ir-100 "
    "cp819 ibm819 csisolatin1 us-ascii ascii ansi_x3.4-1968 iso646-us us cp367 ibm367 "
    "windows-1252 cp1252 x-cp1252",
    "gb18030": "gb2312 gbk x-gbk gb_2312-80 gb_2312 chinese csgb2312 euc-cn iso-ir-58 cp936 gb18030",
    "cp932": "shift_jis shift-jis sjis x-sjis ms_kanji csshiftjis windows-31j cp932",
    "cp949": "euc-kr euckr ks_c_5601-1987 ks_c_5601-1989 ks_c_5601 ksc5601 korean cseuckr "
    "iso-ir-149 windows-949 cp949 uhc",
    "big5hkscs": "big5 big5-hkscs cn-big5 csbig5 x-x-big5",
    "iso8859-8": "iso-8859-8-i csiso88598i logical",
    "iso8859-15": "latin-9 latin9 l9 iso-8859-15 iso8859-15 iso_8859-15",
    "mac-roman": "x-mac-roman macintosh mac csmacintosh",
    "cp874": "windows-874 tis-620 iso-8859-11 dos-874",
    "cp1254": "iso-8859-9 iso8859-9 latin5 l5 windows-1254",
    "utf-16-le": "utf-16 utf-16le ucs-2 unicode csunicode iso-10646-ucs-2",
    "utf-8": "utf-8 utf8 unicode-1-1-utf-8 unicode11utf8 unicode20utf8 x-unicode20utf8",
}.items():
    for _label in _labels.split():
        _WHATWG[_label] = _codec

# Labels that name no charset at all: the bytes are whatever the sender's machine used.
UNKNOWN_LABELS = frozenset(
    "unknown-8bit x-unknown unknown default binary x-binaryenc x-user-defined "
    "8bit 7bit none charset".split()
)
# Codecs that are transforms or escapes, never a mail charset ("base64" is a valid lookup).
_UNSAFE = ("escape", "idna", "punycode", "undefined", "rot", "hex", "zlib", "bz2", "uu", "quopri")

_DISPLAY = {
    "utf-8": "UTF-8",
    "cp1252": "windows-1252",
    "gb18030": "GB18030",
    "cp932": "Shift_JIS (CP932)",
    "cp949": "EUC-KR (CP949)",
    "big5hkscs": "Big5-HKSCS",
    "utf-16-le": "UTF-16LE",
    "utf-16-be": "UTF-16BE",
    "ascii": "US-ASCII",
}
_SINGLE_BYTE_HINTS = ("cp125", "iso8859", "latin", "mac-", "cp8", "koi8", "cp874", "cp437")

_META = re.compile(
    rb"""<meta[^>]+?charset\s*=\s*["']?\s*([A-Za-z0-9_:.()+-]+)""", re.IGNORECASE
)
_XML_DECL = re.compile(rb"""<\?xml[^>]+encoding\s*=\s*["']([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
_ESC = b"\x1b"


def display(codec: str) -> str:
    return _DISPLAY.get(codec, codec)


def clean_label(label: str | None) -> str | None:
    """A label as written, minus the quotes, spaces and stray ``;`` that senders add."""
    if label is None:
        return None
    text = label.strip().strip("\"';, \t").strip()
    # RFC 2231 language tag ("utf-8*fr") is not part of the label.
    text = text.split("*", 1)[0]
    return text or None


def codec_for(label: str | None) -> str | None:
    """The Python codec a mail label means, the WHATWG way; None for bogus or unknown labels."""
    text = clean_label(label)
    if not text:
        return None
    key = text.lower()
    if key in UNKNOWN_LABELS:
        return None
    if key in _WHATWG:
        return _WHATWG[key]
    for candidate in (key, key.replace("-", ""), key.replace("_", "-"), key.replace(" ", "")):
        try:
            info = codecs.lookup(candidate)
        except (LookupError, ValueError):
            continue
        name = info.name
        if not getattr(info, "_is_text_encoding", True) or any(u in name for u in _UNSAFE):
            return None
        return _WHATWG.get(name, name)
    return None


def _single_byte(codec: str) -> bool:
    return codec == "cp1252" or any(codec.startswith(h) for h in _SINGLE_BYTE_HINTS)


def _is_multibyte_utf8(data: bytes) -> bool:
    """Strictly valid UTF-8 that holds at least one multi-byte sequence."""
    if data.isascii():
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def meta_charset(data: bytes) -> str | None:
    """The charset an HTML ``<meta>`` or XML declaration names in the first bytes."""
    head = data[:4096]
    found = _META.search(head) or _XML_DECL.search(head)
    return found.group(1).decode("ascii", "replace") if found else None


def _bom(data: bytes) -> tuple[str, int] | None:
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8", 3
    if data.startswith(codecs.BOM_UTF16_LE):
        return "utf-16-le", 2
    if data.startswith(codecs.BOM_UTF16_BE):
        return "utf-16-be", 2
    return None


_WESTERN = ["utf-8", "windows-1252", "iso-8859-15"]
_PLAUSIBLE = [
    "utf-8", "windows-1252", "iso-8859-15", "windows-1250", "windows-1251", "koi8-r",
    "iso-8859-2", "iso-8859-7", "windows-1253", "iso-8859-9", "gb18030", "big5", "cp932",
    "euc-jp", "cp949", "iso-2022-jp", "mac-roman",
]


def _detect(data: bytes) -> tuple[str, float]:
    """chardet as the last resort, restricted to what mail plausibly holds.

    Short Western text fools an open detector (French "Délégué" came back as MacCyrillic at
    0.08), so a Western guess wins unless the open guess is more than twice as confident.
    """
    import chardet

    sample = data[:200_000]
    try:
        open_guess = chardet.detect(sample, include_encodings=_PLAUSIBLE)
        western = chardet.detect(sample, include_encodings=_WESTERN)
    except Exception:  # chardet is third-party code on hostile bytes: never let it stop a message
        return "cp1252", 0.0
    open_conf = float(open_guess.get("confidence") or 0.0)
    west_conf = float(western.get("confidence") or 0.0)
    best = western if west_conf * 2 >= open_conf else open_guess
    codec = codec_for(best.get("encoding")) or "cp1252"
    return codec, float(best.get("confidence") or 0.0)


def decode_with(data: bytes, codec: str) -> tuple[str, bool]:
    """Decode, strictly if possible; the flag says whether replacement characters were needed."""
    try:
        return data.decode(codec), False
    except UnicodeDecodeError:
        return data.decode(codec, errors="replace"), True
    except LookupError:
        return data.decode("cp1252", errors="replace"), True


def _choose(data: bytes, declared: str | None, is_html: bool) -> tuple[str, list[str], str | None]:
    """(codec, repairs, label that was declared) before any text is produced."""
    repairs: list[str] = []
    meta = meta_charset(data) if is_html else None
    label = clean_label(declared) or clean_label(meta)
    bom = _bom(data)
    if bom:
        if label and codec_for(label) != bom[0]:
            repairs.append(f"byte order mark says {display(bom[0])}; it overrides the {label} label")
        return bom[0], repairs, label
    for origin, given in (("MIME charset", clean_label(declared)), ("HTML meta", clean_label(meta))):
        if not given:
            continue
        codec = codec_for(given)
        if codec is None:
            repairs.append(f"{origin} {given!r} names no known charset; guessed from the bytes")
            break
        if _ESC in data and codec in ("utf-8", "cp1252") and data.isascii():
            # 7-bit ISO-2022-JP under a wrong or generic label.
            return "iso2022_jp_ext", [*repairs, f"escape sequences under {given}: ISO-2022-JP"], label
        if _single_byte(codec) and _is_multibyte_utf8(data):
            repairs.append(
                f"declared {given} but the bytes are valid multi-byte UTF-8: decoded as UTF-8"
            )
            return "utf-8", repairs, label
        if codec == "utf-8":
            try:
                data.decode("utf-8")
            except UnicodeDecodeError:
                repairs.append(f"declared {given} but the bytes are not valid UTF-8")
                break
        if codec == "cp1252" and given.lower() not in ("windows-1252", "cp1252", "x-cp1252"):
            if _C1_BYTE.search(data):
                repairs.append(f"{given} read as windows-1252 (WHATWG): bytes 0x80-0x9F are punctuation")
        return codec, repairs, label
    if data.isascii():
        if _ESC in data:
            return "iso2022_jp_ext", [*repairs, "escape sequences: ISO-2022-JP"], label
        return "utf-8", repairs, label
    try:
        data.decode("utf-8")
        if not repairs and label is None:
            repairs.append("no charset declared; the bytes are valid UTF-8")
        return "utf-8", repairs, label
    except UnicodeDecodeError:
        pass
    codec, confidence = _detect(data)
    repairs.append(f"detected {display(codec)} with chardet (confidence {confidence:.2f})")
    return codec, repairs, label


# Bytes where windows-1252 and ISO-8859-1 differ (a regex: a Python loop over every
# byte of every latin-1 part was 5% of parsing).
_C1_BYTE = re.compile(rb"[\x80-\x9f]")
# Characters cp1252 (or latin-1, for its five holes) gives to bytes 0x80-0xFF.
_TO_BYTE: dict[str, int] = {}
for _b in range(0x80, 0x100):
    try:
        _TO_BYTE[bytes([_b]).decode("cp1252")] = _b
    except UnicodeDecodeError:
        _TO_BYTE[chr(_b)] = _b
_CONT = "".join(re.escape(c) for c, b in _TO_BYTE.items() if 0x80 <= b <= 0xBF)
_LEAD2 = "".join(re.escape(c) for c, b in _TO_BYTE.items() if 0xC2 <= b <= 0xDF)
_LEAD3 = "".join(re.escape(c) for c, b in _TO_BYTE.items() if 0xE0 <= b <= 0xEF)
_LEAD4 = "".join(re.escape(c) for c, b in _TO_BYTE.items() if 0xF0 <= b <= 0xF4)
_MOJIBAKE = re.compile(
    f"[{_LEAD2}][{_CONT}]|[{_LEAD3}][{_CONT}]{{2}}|[{_LEAD4}][{_CONT}]{{3}}"
)


def _unmangle(match: re.Match[str]) -> str:
    chars = match.group(0)
    try:
        return bytes(_TO_BYTE[c] for c in chars).decode("utf-8")
    except (KeyError, UnicodeDecodeError):
        return chars


def repair_mojibake(text: str) -> tuple[str, int]:
    """Undo UTF-8 read as windows-1252/latin-1, up to three layers; "NÃO" stays as written.

    A match needs a lead character followed by the right number of continuation characters
    that together re-encode to one valid UTF-8 sequence, which ordinary accented prose does
    not produce (Ã followed by a letter such as O is left alone).
    """
    if text.isascii():
        # Every pattern character is non-ASCII: most header values end here without a scan.
        return text, 0
    fixed = 0
    for _ in range(3):
        new, count = _MOJIBAKE.subn(_unmangle, text)
        if new == text:
            break
        fixed += count
        text = new
    return text, fixed


def finish(text: str, repairs: list[str]) -> str:
    """Mojibake repair and NFC, shared by bodies and headers."""
    if text.isascii():
        # Most mail: no mojibake (every pattern character is non-ASCII) and ASCII is
        # already NFC, so skip both passes.
        return text
    text, fixed = repair_mojibake(text)
    if fixed:
        repairs.append(f"mojibake fixed: {fixed} double-encoded UTF-8 sequences re-decoded")
    return unicodedata.normalize("NFC", text)


def to_text(data: bytes, declared: str | None, is_html: bool) -> tuple[str, CharsetReport]:
    """Decode one body part; the report says what was declared, what was used and why."""
    codec, repairs, label = _choose(data, declared, is_html)
    bom = _bom(data)
    if bom and bom[0] == codec:
        data = data[bom[1]:]
    text, lossy = decode_with(data, codec)
    if lossy:
        repairs.append(f"bytes invalid in {display(codec)} replaced by U+FFFD")
    text = finish(text, repairs)
    return text, CharsetReport(declared=label, used=display(codec), repairs=tuple(repairs))


def decode_label(data: bytes, label: str | None) -> str:
    """Decode a short run of header bytes under a label, falling back the way bodies do."""
    if data.isascii():
        return data.decode("ascii")
    codec = codec_for(label)
    if codec is None or (_single_byte(codec) and _is_multibyte_utf8(data)):
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            codec = "cp1252"
    return decode_with(data, codec)[0]
