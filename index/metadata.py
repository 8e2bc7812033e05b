"""Decoded headers (+ the split body) -> author, date, subject, list and ids, each saying its source.

Owns From parsing in every shape (``Name <addr>``, ``addr (Name)``, pipermail ``x at y``, the
2018+ pipermail mangling ``h@nk|n @end|ng |rom gm@||@com (Name)``, unbracketed ``Name addr``,
DMARC ``"Name via List" <list@host>`` rewriting, encoded words, sign-off inference for
header-less bodies), our own forgiving date parser with the
traps of normalisation.md §5 (year 100, ``--500``, ``Fri=2C``, absurd years, unknown zone names,
never "now"), old Gmail Message-ID timestamps (§5.4), subject normalisation, list names,
Message-ID cleanup and the content-derived id. Does not decode MIME (``mime``) or split bodies
(``body``); does not thread (``threads``).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from email.utils import getaddresses, parseaddr

from core.records import Author, RawMessage, Split
from index.mime import Decoded, decode_header_value

MONTHS = {m: i for i, m in enumerate(
    "jan feb mar apr may jun jul aug sep oct nov dec".split(), start=1)}
# Zone names and their offsets in minutes; _parseaddr knows only the US ones and silently
# reads the rest as UTC (normalisation.md §5.2).
ZONES = {
    "UT": 0, "UTC": 0, "GMT": 0, "Z": 0, "WET": 0, "BST": 60, "IST": 330, "CET": 60, "MET": 60,
    "MEZ": 60, "CEST": 120, "MEST": 120, "MESZ": 120, "METDST": 120, "EET": 120, "EEST": 180,
    "MSK": 180, "EST": -300, "EDT": -240, "CST": -360, "CDT": -300, "MST": -420, "MDT": -360,
    "PST": -480, "PDT": -420, "AST": -240, "ADT": -180, "NZST": 720, "NZDT": 780, "JST": 540,
    "KST": 540, "HKT": 480, "SGT": 480, "AEST": 600, "AEDT": 660, "ACST": 570, "AWST": 480,
    "HST": -600, "AKST": -540, "AKDT": -480, "NST": -210, "NDT": -150, "WEST": 60, "CAT": 120,
    "EAT": 180, "SAST": 120, "WAT": 60, "BRT": -180, "ART": -180,
}
AMBIGUOUS_ZONES = {"IST": "India +05:30 assumed (also Irish/Israel time)",
                   "CST": "US Central assumed (also China Standard Time)",
                   "BST": "British Summer Time assumed"}
EARLIEST = datetime(1975, 1, 1, tzinfo=UTC)

_DATE = re.compile(
    r"(?:(?P<wday>[A-Za-z]+)\.?,?\s*)?"
    r"(?P<day>\d{1,2})[\s.-]*(?P<month>[A-Za-z]{3,9})\.?[\s.,-]*(?P<year>\d{1,5})"
    r"[\s,T]+(?P<hour>\d{1,2})[:.](?P<minute>\d{2})(?:[:.](?P<second>\d{2}))?(?:\.\d+)?"
    r"\s*(?P<ampm>[AaPp]\.?[Mm]\.?)?"
    r"\s*(?P<zone>[+-]{1,2}\s?\d{1,4}|[A-Za-z]{1,5}(?:\s?[+-]\d{1,4})?)?"
    r"(?:\s*\((?P<comment>[^)]*)\))?"
)
_ASCTIME = re.compile(
    r"(?:[A-Za-z]{3},?\s+)?(?P<month>[A-Za-z]{3})[a-z]*\s+(?P<day>\d{1,2})\s+"
    r"(?P<hour>\d{1,2}):(?P<minute>\d{2})(?::(?P<second>\d{2}))?\s+"
    r"(?:(?P<zone>[A-Z]{2,5}|[+-]\d{4})\s+)?(?P<year>\d{4})"
)
_ISO = re.compile(
    r"(?P<year>\d{4})-(?P<month>\d{1,2})-(?P<day>\d{1,2})[T ](?P<hour>\d{1,2}):(?P<minute>\d{2})"
    r"(?::(?P<second>\d{2}))?(?:\.\d+)?\s*(?P<zone>Z|[+-]\d{2}:?\d{2})?"
)
# Precompiled: parse_date and parse_author run for every message.
_WHITESPACE = re.compile(r"\s+")
_GMAIL_ID = re.compile(r"^[0-9a-f]{8}(\d{10})[0-9a-z]*@mail\.gmail\.com$", re.IGNORECASE)
_PIPERMAIL_ADDR = re.compile(r"^\s*([^\s@<>()\"]+) at ([^\s@<>()\"]+\.[^\s@<>()\"]+)")
_ANGLE = re.compile(r"^([^<>]*?)\s*<\s*([^<>\s]+@[^<>\s]+)\s*>\s*$")
# Mailman 2 sites since 2018: " at " became " @ending from " (or "@end|ng |rom"), and in the
# address "a", "s" and "." became "@", "i" and "l" became "|".
_MANGLED = re.compile(
    r"^\s*(?P<local>[^\s()<>\"]+)\s+@end(?:ing|\|ng)\s+(?:from|\|rom)\s+(?P<domain>[^\s()<>\"]+)"
    r"\s*(?:\((?P<name>.*)\))?\s*$", re.IGNORECASE)
# Two variants are seen: "a", "s", "." -> "@" alone, or with "i", "l" -> "|" as well.
_MANGLE_TABLES = (str.maketrans({"a": "@", "s": "@", ".": "@"}),
                  str.maketrans({"a": "@", "s": "@", ".": "@", "i": "|", "l": "|"}))
# Domains whose mangled form is worth recognising: with "@" standing for three letters the
# mangling cannot be undone letter by letter, only matched against a known name.
_KNOWN_DOMAINS = (
    "gmail.com", "googlemail.com", "yahoo.com", "yahoo.co.uk", "yahoo.fr", "hotmail.com",
    "outlook.com", "live.com", "aol.com", "icloud.com", "me.com", "mac.com", "gmx.de",
    "gmx.net", "web.de", "protonmail.com", "fastmail.fm", "debian.org", "r-project.org",
    "fedoraproject.org", "redhat.com", "microsoft.com", "google.com", "apple.com", "ibm.com",
    "mozilla.com", "ethz.ch", "stat.math.ethz.ch", "noaa.gov", "fau.de", "posteo.de",
    "wu.ac.at", "uw.edu", "umich.edu", "stanford.edu", "berkeley.edu", "harvard.edu",
    "mit.edu", "ox.ac.uk", "cam.ac.uk", "rstudio.com", "icann.org", "ietf.org", "isoc.org",
)
_MANGLED_DOMAINS = {d.translate(t): d for t in _MANGLE_TABLES for d in _KNOWN_DOMAINS}
# LISTSERV exports: "Ruixin Wang wangruixin@CAICT.AC.CN", a name then a bare address.
_UNBRACKETED = re.compile(
    r"^\s*(?P<name>[^<>@()\",;:]*[^\s<>@()\",;:])\s+(?P<addr>[^\s<>@()\",;:]+@[^\s<>@()\",;:]+"
    r"\.[A-Za-z]{2,})\s*$")
_ADDRESS_SHAPE = re.compile(r"^[^\s@<>()\"|]+@[^\s@<>()\"|]+$")
_VIA = re.compile(r"^(?P<person>.+?)\s+via\s+(?P<list>\S.*)$", re.IGNORECASE)
_ID = re.compile(r"<([^<>]*)>")
_SUBJECT_PREFIX = re.compile(
    r"^\s*(?:(?:re|aw|wg|tr|fwd?|fw|réf|ref|sv|vs|antw|antwort|rif|enc|res|odp|doorst)"
    r"\s*(?:\[\d+\]|\(\d+\)|\^\d+)?\s*\.?\s*[:：]\s*|\[[^\]]{1,60}\]\s*)",
    re.IGNORECASE,
)
_LIST_ID = re.compile(r"<([^<>]+)>")


@dataclass(frozen=True, slots=True)
class Described:
    """What the headers (or the body, without headers) say about a message."""

    message_id: str
    message_id_source: str
    author: Author
    date: datetime | None
    date_source: str | None
    subject: str
    subject_normalized: str
    lists: tuple[str, ...]
    in_reply_to: str | None
    references: tuple[str, ...]
    notes: tuple[str, ...] = ()


# -- dates --------------------------------------------------------------------------------

def _zone_offset(zone: str | None, comment: str | None, notes: list[str]) -> int | None:
    """Minutes east of UTC; None when nothing says (the caller decides and notes it)."""
    if zone:
        zone = zone.replace(" ", "")
        if zone[0] in "+-":
            sign = -1 if "-" in zone[:2] else 1
            digits = zone.lstrip("+-")
            if len(digits) <= 2:
                hours, minutes = int(digits), 0
            else:
                hours, minutes = int(digits[:-2]), int(digits[-2:])
            total = hours * 60 + minutes  # "-0060" is an hour, "+0480" five hours twenty
            if total >= 14 * 60:
                notes.append(f"zone {zone} out of range; +0000 used")
                return 0
            return sign * total
        name = zone.upper()
        if name in ZONES:
            if name in AMBIGUOUS_ZONES:
                notes.append(f"zone {name}: {AMBIGUOUS_ZONES[name]}")
            return ZONES[name]
        if name.startswith(("GMT", "UTC")) and len(name) > 3:
            return _zone_offset(name[3:], None, notes)
        if comment:
            return _zone_offset(comment.split()[0], None, notes)
        notes.append(f"unknown zone {zone!r}; UTC assumed")
        return 0
    if comment:
        key = comment.replace(" ", "").upper()
        if key in ZONES:
            return ZONES[key]
    return None


def _year(text: str) -> int:
    year = int(text)
    if year < 50 and len(text) <= 2:
        return 2000 + year
    if year < 1000:
        return 1900 + year  # RFC 5322 §4.3: three-digit years add 1900 ("100" is 2000)
    return year


def _month(text: str) -> int | None:
    return MONTHS.get(text[:3].lower())


def _build(year: int, month: int | None, day: int, hour: int, minute: int, second: int,
           offset: int | None, notes: list[str], what: str) -> datetime | None:
    if month is None:
        return None
    if offset is None:
        notes.append(f"{what} has no zone; UTC assumed")
        offset = 0
    try:
        local = datetime(year, month, day, hour, minute, min(second, 59),
                         tzinfo=timezone(timedelta(minutes=offset)))
    except ValueError:
        return None
    value = local.astimezone(UTC)
    latest = datetime.now(UTC) + timedelta(days=2)
    if not EARLIEST <= value <= latest:
        notes.append(f"{what} year {year} is implausible; ignored")
        return None
    return value


def parse_date(text: str | None, notes: list[str] | None = None,
               what: str = "date") -> datetime | None:
    """Parse an RFC 5322 date the forgiving way; None (never "now") when it cannot be trusted."""
    notes = [] if notes is None else notes
    if not text:
        return None
    cleaned = text.replace("=2C", ",").replace("=20", " ").strip()
    cleaned = _WHITESPACE.sub(" ", cleaned)
    found = _DATE.search(cleaned)
    if found:
        hour = int(found["hour"])
        ampm = (found["ampm"] or "").lower().replace(".", "")
        if ampm == "pm" and hour < 12:
            hour += 12
        elif ampm == "am" and hour == 12:
            hour = 0
        offset = _zone_offset(found["zone"], found["comment"], notes)
        value = _build(_year(found["year"]), _month(found["month"]), int(found["day"]), hour,
                       int(found["minute"]), int(found["second"] or 0), offset, notes, what)
        if value is not None and cleaned != text.strip():
            notes.append(f"{what} repaired: {text.strip()!r}")
        return value
    for pattern in (_ASCTIME, _ISO):
        found = pattern.search(cleaned)
        if found:
            month = found["month"]
            month_number = int(month) if month.isdigit() else _month(month)
            zone = found["zone"]
            offset = 0 if zone == "Z" else _zone_offset(zone.replace(":", "") if zone else None,
                                                      None, notes)
            return _build(int(found["year"]), month_number, int(found["day"]),
                          int(found["hour"]), int(found["minute"]), int(found["second"] or 0),
                          offset, notes, what)
    return None


def _nth_sunday(year: int, month: int, n: int) -> datetime:
    """The n-th Sunday of a month (n = -1: the last), as a naive date."""
    if n > 0:
        first = datetime(year, month, 1)
        return first + timedelta(days=(6 - first.weekday()) % 7 + 7 * (n - 1))
    last = datetime(year, month + 1, 1) - timedelta(days=1)
    return last - timedelta(days=(last.weekday() + 1) % 7)


def pacific_to_utc(local: datetime) -> datetime:
    """US-Pacific wall time -> UTC with the US DST rules of the time (changed in 2007)."""
    if local.year >= 2007:
        start = _nth_sunday(local.year, 3, 2).replace(hour=2)
        end = _nth_sunday(local.year, 11, 1).replace(hour=2)
    else:
        start = _nth_sunday(local.year, 4, 1).replace(hour=2)
        end = _nth_sunday(local.year, 10, -1).replace(hour=2)
    offset = 7 if start <= local < end else 8
    return (local + timedelta(hours=offset)).replace(tzinfo=UTC)


def gmail_id_time(message_id: str | None) -> datetime | None:
    """When an old (2004-2011) Gmail Message-ID was sent: digits 9-18 are Pacific YYMMDDhhmm."""
    if not message_id:
        return None
    found = _GMAIL_ID.match(message_id.strip("<> "))
    if not found:
        return None
    digits = found.group(1)
    year, month, day, hour, minute = (int(digits[i:i + 2]) for i in range(0, 10, 2))
    if not 4 <= year <= 12:
        return None
    try:
        return pacific_to_utc(datetime(2000 + year, month, day, hour, minute))
    except ValueError:
        return None


def _received_date(decoded: Decoded, notes: list[str]) -> datetime | None:
    for received in decoded.get_all("Received"):
        if ";" in received:
            value = parse_date(received.rsplit(";", 1)[1], notes, "Received date")
            if value is not None:
                return value
    return None


def _envelope_date(raw: RawMessage, notes: list[str]) -> datetime | None:
    if not raw.envelope:
        return None
    found = _ASCTIME.search(raw.envelope)
    if not found:
        return None
    local = []
    value = parse_date(found.group(0), local, "mbox From_ line date")
    if value is not None:
        notes.extend(local)
    return value


def _date(decoded: Decoded, raw: RawMessage, split: Split, message_id: str | None,
          notes: list[str]) -> tuple[datetime | None, str | None]:
    # Mailman's ArchRunner replaced implausible Dates and kept the sender's in X-Original-Date.
    for name in ("X-Original-Date", "Date", "Resent-Date"):
        value = parse_date(decoded.get(name), notes, name)
        if value is not None:
            return value, "header"
    value = _received_date(decoded, notes)
    if value is not None:
        return value, "received"
    value = _envelope_date(raw, notes)
    if value is not None:
        return value, "mbox"
    value = gmail_id_time(message_id)
    if value is not None:
        notes.append("date from the timestamp in the Gmail Message-ID (US-Pacific)")
        return value, "message-id"
    bounds = [t for t in (gmail_id_time(q.message_id) for q in split.quotes) if t is not None]
    if bounds:
        notes.append("date is a lower bound: the quoted message's Gmail Message-ID time")
        return max(bounds), "message-id"
    return None, None


# -- addresses ----------------------------------------------------------------------------

def parse_author(value: str | None, pipermail: bool = False, *,
                 encoded: bool = False) -> Author:
    """From in any shape -> Author with a lowercase address; name None when only an address.

    ``encoded``: the value is the raw header, its encoded words not yet decoded; the
    display name is decoded once the address is parsed out.
    """
    if not value or not value.strip():
        return Author(None, None, None)
    text = value.strip()
    source = "header"
    if "@end" in text.lower():
        mangled = _MANGLED.match(text)
        if mangled:
            return _unmangle(mangled, encoded)
    fixed = _PIPERMAIL_ADDR.sub(r"\1@\2", text)
    if fixed != text:
        text, source = fixed, "pipermail"
    elif pipermail:
        source = "pipermail"
    bare = _UNBRACKETED.match(text) if "<" not in text and "(" not in text else None
    if bare:
        name = bare.group("name").strip().strip("\"'").strip()
        if encoded:
            name = decode_header_value(name)
        return Author(_WHITESPACE.sub(" ", name) or None, bare.group("addr").lower(), source)
    angle = _ANGLE.match(text)
    if angle:
        # Decoded display names may hold commas; getaddresses would split them.
        name = angle.group(1).strip().strip("\"'").strip()
        if encoded:
            name = decode_header_value(name)
        name = _WHITESPACE.sub(" ", name) or None
        return Author(name, angle.group(2).strip().lower(), source)
    try:
        pairs = getaddresses([text])
    except Exception:  # getaddresses raises on some malformed inputs
        pairs = [parseaddr(text)]
    name, email = pairs[0] if pairs else ("", "")
    name = (name or "").strip().strip("\"'").strip()
    if encoded:
        name = decode_header_value(name)
    email = (email or "").strip().strip("<>").strip()
    if "@" not in email:
        if not name:
            name = email or text
        email = ""
        if "<" in text and "@" in text:
            inside = text[text.find("<") + 1:text.rfind(">")] if ">" in text else ""
            email = inside.strip() if "@" in inside else ""
    if name and "@" in name and not email:
        email, name = name, ""
    if name == email:
        name = ""
    name = _WHITESPACE.sub(" ", name) or None
    if name and not any(c.isalnum() for c in name):
        name = None
    if name and name.startswith("'") and name.endswith("'"):
        name = name.strip("'") or None
    if email and not _ADDRESS_SHAPE.match(email):
        # A mangled or broken string ("qx@cur m@ili@g off use@st@rt...") is never an address.
        email = ""
        if name and not _ADDRESS_SHAPE.match(name) and ("@" in name or "|" in name):
            name = None
    return Author(name, email.lower() or None, source if (name or email) else None)


def _restore_local(local: str, name: str | None) -> str | None:
    """The mangled local part back, when it has nothing to undo or the name explains it."""
    if "@" not in local and "|" not in local:
        return local
    if not name:
        return None
    words = [w for w in re.split(r"[^a-z0-9]+", name.lower()) if w]
    if not words:
        return None
    first, last = words[0], words[-1]
    candidates = {first + sep + last for sep in ("", ".", "_", "-")}
    candidates |= {last + sep + first for sep in ("", ".", "_", "-")}
    candidates |= {first, last, first[0] + last, first[0] + "." + last, "".join(words),
                   ".".join(words)}
    target = local.lower()
    for candidate in sorted(candidates):
        if any(candidate.translate(table) == target for table in _MANGLE_TABLES):
            return candidate
    return None


def _unmangle(found: re.Match[str], encoded: bool) -> Author:
    """``h@nk|n @end|ng |rom gm@||@com (Robin Hankin)``: the name from the comment, the
    address restored only where nothing is guessed, else none (never the mangled string)."""
    name = (found.group("name") or "").strip().strip("\"'").strip()
    if encoded:
        name = decode_header_value(name)
    name = _WHITESPACE.sub(" ", name) or None
    domain = found.group("domain").lower()
    if "@" in domain or "|" in domain:
        domain = _MANGLED_DOMAINS.get(domain, "")
    local = _restore_local(found.group("local"), name) if domain else None
    email = f"{local}@{domain}" if local and domain else None
    return Author(name, email, "pipermail" if (name or email) else None)


def _dmarc_person(author: Author, decoded: Decoded, notes: list[str]) -> Author:
    """``"Jane Doe via Governance" <governance@lists.example.org>``: the list rewrote From
    (DMARC); the person is the display name, the address from X-Original-From or Reply-To."""
    if not author.name or " via " not in author.name.lower():
        return author
    found = _VIA.match(author.name)
    if not found:
        return author
    person = found.group("person").strip().strip("\"'").strip()
    email = None
    how = "the display name"
    for header in ("X-Original-From", "Reply-To"):
        other = parse_author(decoded.get(header))
        if other.email and other.email != author.email:
            email = other.email
            person = other.name if header == "X-Original-From" and other.name else person
            how = f"the display name and {header}"
            break
    notes.append(f"From rewritten by the list ({author.name!r} <{author.email}>); "
                 f"author from {how}")
    return Author(person or None, email, author.source)


def _signoff_name(author: Author, split: Split, notes: list[str]) -> Author:
    """An address without a name takes the sign-off's name when the address spells part of it
    (``mkgray@mit.edu`` signed "Matthew Gray"), never a name the address does not support."""
    if author.name or not author.email or not split.signoff:
        return author
    local = author.email.split("@", 1)[0].lower()
    words = [w for w in re.split(r"[^a-z0-9]+", split.signoff.lower()) if len(w) >= 3]
    if not words or not any(w in local for w in words):
        return author
    notes.append("author name from the sign-off (the From header gives only an address)")
    return Author(split.signoff, author.email, author.source)


def _sender(decoded: Decoded, pipermail: bool) -> Author:
    for header in ("From", "Sender", "Reply-To"):
        value = decoded.get(header)
        if not value:
            continue
        raw = decoded.encoded_sender(header)
        if raw is not None:
            # RFC 2047 section 6.1: a decoded '<' or '"' in the name must not move the
            # address. Parse the raw header first; the whole value encoded (no address
            # outside the words) falls back to the decoded text below.
            author = parse_author(raw, pipermail, encoded=True)
            if author.email:
                return author
        return parse_author(value, pipermail)
    return parse_author(None, pipermail)


# -- ids, subjects, lists -----------------------------------------------------------------

def clean_id(value: str | None) -> str | None:
    """``<id@x> (added by postmaster)`` -> ``id@x``; ``<>`` and blanks -> None."""
    if not value:
        return None
    bracketed = _ID.findall(value)
    inner = next((b for b in bracketed if "@" in b), None)
    if inner is None and bracketed:
        # Brackets inside the id (`<"><script>...@x>`): the first pair alone would cut it
        # to `"` and merge every such message into one; take the outermost pair.
        whole = value[value.index("<") + 1:value.rindex(">")]
        inner = whole if "@" in whole else bracketed[0]
    if inner is None:
        inner = re.sub(r"\([^)]*\)", "", value)
    inner = "".join(inner.split())
    return inner or None


def id_list(value: str | None) -> tuple[str, ...]:
    if not value:
        return ()
    found = [i for i in ("".join(m.split()) for m in _ID.findall(value)) if i]
    if not found:
        found = [t for t in value.split() if "@" in t]
    return tuple(dict.fromkeys(found))


def normalize_subject(subject: str) -> str:
    """Without Re:/AW:/WG:/TR:/Fwd:/Réf. : prefixes and [list] tags, whitespace collapsed."""
    text = " ".join(subject.split())
    while True:
        new = _SUBJECT_PREFIX.sub("", text, count=1)
        if new == text:
            break
        text = new
    return text.strip()


# Names a mailbox gets from its owner's client, not from the list it holds.
_GENERIC_MAILBOXES = frozenset({
    "all", "archive", "archives", "drafts", "export", "inbox", "lists", "mail", "mailbox",
    "mbox", "messages", "new", "cur", "outbox", "sent", "tmp", "trash",
})
_LIST_LIKE = re.compile(r"^[a-z0-9][a-z0-9._+-]{0,63}$")
_MONTHLY = re.compile(r"^[\d._-]*(?:[a-z]+[\d._-]*)?$")
_MAILBOX_SUFFIXES = (".gz", ".mbox", ".mbx", ".txt", ".eml")
_MAILTO = re.compile(r"mailto:([^>\s@]+)@", re.IGNORECASE)
_BOUNCES = re.compile(r"^(?:owner-)?(?P<name>.+?)(?:-(?:bounces|request|owner|admin))?(?:\+.*)?$")


def _list_like(name: str) -> str | None:
    name = name.strip().lower()
    if not _LIST_LIKE.match(name) or name in _GENERIC_MAILBOXES:
        return None
    if not any(ch.isalpha() for ch in name):
        return None
    # "2010-February", "2013", "09-2014": a monthly file or a dated export, not a list.
    if _MONTHLY.match(name) and any(ch.isdigit() for ch in name):
        return None
    return name


def _mailbox_name(raw: RawMessage) -> str | None:
    """The list an mbox file or Maildir folder is named after: `bestbits.mbox` -> bestbits."""
    if raw.format not in ("mbox", "maildir"):
        return None
    path = raw.source.path.rstrip("/")
    name = path.rsplit("/", 1)[-1]
    for suffix in _MAILBOX_SUFFIXES:
        name = name.removesuffix(suffix)
    # Maildir++ subfolders are ".Lists.igf-discuss".
    return _list_like(name.rsplit(".", 1)[-1] if name.startswith(".") else name)


def _posting_name(decoded: Decoded) -> tuple[str, str] | None:
    """The list's local part from the headers list software adds, and which one said it."""
    for header in ("List-Post", "X-Mailing-List", "Mailing-List", "List-Subscribe"):
        value = decoded.get(header) or ""
        found = _MAILTO.search(value)
        if found:
            local = found.group(1)
        elif "@" in value and value.split("@", 1)[0].split():
            local = value.split("@", 1)[0].split()[-1]
        else:
            continue
        bounce = _BOUNCES.match(local.strip("<>\"' ").lower())
        name = _list_like(bounce.group("name")) if bounce else None
        if name:
            return name, header
    for header in ("Sender", "Errors-To"):
        _, address = parseaddr(decoded.get(header) or "")
        local = address.split("@", 1)[0].lower()
        if local.endswith(("-bounces", "-request", "-owner")) or local.startswith("owner-"):
            bounce = _BOUNCES.match(local)
            name = _list_like(bounce.group("name")) if bounce else None
            if name:
                return name, header
    return None


def list_names(decoded: Decoded, raw: RawMessage, configured: str | None,
               notes: list[str] | None = None) -> tuple[str, ...]:
    """The lists a message went to, from the strongest evidence, saying how it was known.

    List-Id (RFC 2919) first; then what the source says (the configured name, the
    pipermail folder, the mbox file or Maildir named after a list: Mailman keeps
    ``<list>.mbox/<list>.mbox``); then the headers list software adds (List-Post,
    X-Mailing-List, a ``-bounces`` Sender); last the subject's ``[tag]``.
    """
    notes = [] if notes is None else notes
    list_id = decoded.get("List-Id")
    if list_id:
        found = _LIST_ID.search(list_id)
        ident = found.group(1) if found else list_id.strip()
        name = ident.split(".", 1)[0].strip().lower()
        if name:
            return (name,)
    for name, how in ((configured, "the configured list name"),
                      (decoded.get("X-Archive-List"), "the archive page"),
                      (raw.list_hint, "the archive's name"),
                      (_mailbox_name(raw), "the mailbox name")):
        if name:
            if how != "the configured list name":
                notes.append(f"list from {how} (no List-Id)")
            return (name,)
    posting = _posting_name(decoded)
    if posting:
        notes.append(f"list from {posting[1]} (no List-Id)")
        return (posting[0],)
    tag = _subject_tag(decoded.get("Subject") or "")
    name = _list_like(re.sub(r"[\s_]+", "-", tag)) if tag else None
    # A "[humor]" tag in someone's own folder names no list: a tag counts only on mail that
    # shows it went through list software.
    if name and any(decoded.get(h) for h in _LIST_TRAFFIC):
        notes.append("list from the subject tag (no List-Id)")
        return (name,)
    return ()


_LIST_TRAFFIC = ("Precedence", "X-BeenThere", "List-Unsubscribe", "List-Archive", "List-Help",
                 "X-Mailman-Version", "X-List", "X-Loop", "Mailing-List", "X-Mailing-List",
                 "X-Original-Sender")


def _subject_tag(subject: str) -> str | None:
    """The first ``[tag]`` among the subject's leading prefixes ("Re: AW: [igc] ...")."""
    text = subject
    while prefix := _SUBJECT_PREFIX.match(text):
        token = prefix.group(0).strip()
        if token.startswith("["):
            tag = token[1:-1].strip()
            return tag if 2 <= len(tag) <= 40 else None
        text = text[prefix.end():]
    return None


def content_id(decoded: Decoded, raw: RawMessage) -> str:
    """A stable id when Message-ID is missing: sha1 of normalised key headers and body."""
    digest = hashlib.sha1()
    for name in ("From", "Date", "Subject", "To", "In-Reply-To"):
        digest.update(" ".join((decoded.get(name) or "").split()).encode("utf-8"))
        digest.update(b"\x00")
    digest.update(" ".join(decoded.text.split()).encode("utf-8", "surrogatepass"))
    return f"{digest.hexdigest()}@govmail.invalid"


def describe(decoded: Decoded, split: Split, raw: RawMessage,
             list_name: str | None = None) -> Described:
    """Every metadata field of one message, with how each was known."""
    notes: list[str] = []
    message_id = clean_id(decoded.get("Message-ID"))
    id_source = "header"
    if message_id is None:
        if decoded.get("Message-ID") is not None:
            notes.append(f"unusable Message-ID {decoded.get('Message-ID')!r}")
        message_id, id_source = content_id(decoded, raw), "content"
    if decoded.has_headers:
        author = _dmarc_person(_sender(decoded, raw.format in ("pipermail", "pipermail-html")),
                               decoded, notes)
        author = _signoff_name(author, split, notes)
        if author.email is None and author.name is None and raw.envelope:
            sender = raw.envelope.split()[1] if len(raw.envelope.split()) > 1 else ""
            if raw.format == "pipermail":
                sender = " ".join(raw.envelope.split()[1:4])
                if "@end" in sender.lower():
                    sender = " ".join(raw.envelope.split()[1:5])
            envelope_author = parse_author(sender, raw.format == "pipermail")
            if envelope_author.email and envelope_author.email != "bogus@does.not.exist.com":
                author = Author(None, envelope_author.email, "mbox")
    elif split.signoff:
        author = Author(split.signoff, None, "signoff")
        notes.append("author inferred from the sign-off (no headers)")
    else:
        author = Author(None, None, None)
    date, date_source = _date(decoded, raw, split,
                              message_id if id_source == "header" else None, notes)
    subject = decoded.get("Subject") or ""
    lists = list_names(decoded, raw, list_name, notes)
    in_reply_to = None
    for candidate in id_list(decoded.get("In-Reply-To")):
        in_reply_to = candidate
        break
    references = id_list(decoded.get("References"))
    return Described(
        message_id=message_id,
        message_id_source=id_source,
        author=author,
        date=date,
        date_source=date_source,
        subject=subject,
        subject_normalized=normalize_subject(subject),
        lists=lists,
        in_reply_to=in_reply_to,
        references=references,
        notes=tuple(dict.fromkeys(notes)),
    )
