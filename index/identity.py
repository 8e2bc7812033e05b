"""Author identity: one canonical author per person across addresses and name spellings.

Rules, in order: an aliases file (CSV or TOML) wins and also gives affiliation and
stakeholder group; the same address is the same person; a full name (two words or
more, accents folded) seen with several addresses joins them; a name seen with one
person's addresses maps to that person; otherwise the name (normalised) stands alone.
The most frequent spelling of a person becomes the canonical name. Resolution is a
pure function of the multiset of (name, address) pairs, so the writer recomputes it
after each write over the catalog's distinct pairs, each weighted by its messages (a
few thousand pairs however many messages); the catalog keeps what the documents were
written with. It does not
read mail or write the index.
"""

from __future__ import annotations

import csv
import functools
import re
import tomllib
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from core.errors import ConfigError
from index.document import Identity

GROUPS: tuple[str, ...] = (
    "government",
    "civil society",
    "private sector",
    "technical community",
    "academia",
    "intergovernmental",
)
UNKNOWN = "(unknown)"
_SPACES = re.compile(r"\s+")
_NOISE = re.compile(r"""["'`()\[\]<>]""")


# Letters NFKD leaves whole, so that "Kılıç" and "Kilic" or "Søren" and "Soren" meet.
_UNDECOMPOSED = str.maketrans({"ı": "i", "ø": "o", "Ø": "O", "ł": "l", "Ł": "L", "đ": "d",
                               "Đ": "D", "ß": "ss", "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE",
                               "þ": "th", "ð": "d"})


# Cached: resolve() runs over the whole catalog at every flush, where a few hundred
# names recur (4.3 of the 17 s of a profiled 100k increment flush).
@functools.lru_cache(maxsize=65536)
def normalize_name(name: str | None) -> str:
    """The comparison form of a display name: accents, case, quotes and "Last, First" folded."""
    if not name:
        return ""
    text = unicodedata.normalize("NFKD", name.translate(_UNDECOMPOSED))
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = _NOISE.sub(" ", text).casefold()
    if text.count(",") == 1:
        last, first = text.split(",")
        text = f"{first} {last}"
    return _SPACES.sub(" ", text).strip(" .,")


def normalize_email(email: str | None) -> str:
    return email.strip().lower() if email else ""


@dataclass(frozen=True, slots=True)
class AliasEntry:
    name: str
    affiliation: str | None = None
    group: str | None = None


@dataclass(frozen=True, slots=True)
class Aliases:
    """Explicit identities: address or name spelling -> the person it belongs to."""

    by_email: dict[str, AliasEntry]
    by_name: dict[str, AliasEntry]

    @classmethod
    def empty(cls) -> Aliases:
        return cls({}, {})

    def merged(self, other: Aliases) -> Aliases:
        """These aliases, with other's entries winning where both name the same alias."""
        return Aliases({**self.by_email, **other.by_email}, {**self.by_name, **other.by_name})

    def __bool__(self) -> bool:
        return bool(self.by_email or self.by_name)

    def to_json(self) -> dict[str, dict[str, list[str | None]]]:
        def flat(table: dict[str, AliasEntry]) -> dict[str, list[str | None]]:
            return {k: [e.name, e.affiliation, e.group] for k, e in table.items()}

        return {"by_email": flat(self.by_email), "by_name": flat(self.by_name)}

    @classmethod
    def from_json(cls, data: dict[str, dict[str, list[str | None]]]) -> Aliases:
        def entries(table: dict[str, list[str | None]]) -> dict[str, AliasEntry]:
            return {k: AliasEntry(str(v[0]), v[1], v[2]) for k, v in table.items()}

        return cls(entries(data.get("by_email", {})), entries(data.get("by_name", {})))

    @classmethod
    def load(cls, path: Path | None) -> Aliases:
        """Read a CSV (name,aliases,affiliation,group; aliases split on ';') or TOML file.

        TOML: ``[[author]]`` tables with ``name``, ``aliases`` (list), ``affiliation``,
        ``group``.
        """
        if path is None:
            return cls.empty()
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8-sig")
        except OSError as exc:
            raise ConfigError(f"aliases file {path}: {exc.strerror or exc}") from exc
        if path.suffix.lower() == ".toml":
            try:
                data = tomllib.loads(text)
            except tomllib.TOMLDecodeError as exc:
                raise ConfigError(f"aliases file {path} is not valid TOML: {exc}") from exc
            records = [
                (e.get("name"), list(e.get("aliases", [])), e.get("affiliation"), e.get("group"))
                for e in data.get("author", [])
            ]
        else:
            reader = csv.DictReader(text.splitlines())
            if reader.fieldnames is None or "name" not in reader.fieldnames:
                raise ConfigError(f"aliases file {path}: the CSV needs a header with 'name'")
            records = [
                (
                    r.get("name"),
                    [a.strip() for a in (r.get("aliases") or "").split(";") if a.strip()],
                    (r.get("affiliation") or "").strip() or None,
                    (r.get("group") or "").strip() or None,
                )
                for r in reader
            ]
        by_email: dict[str, AliasEntry] = {}
        by_name: dict[str, AliasEntry] = {}
        for number, (name, aliases, affiliation, group) in enumerate(records, 1):
            if not name or not str(name).strip():
                raise ConfigError(f"aliases file {path}: entry {number} has no name")
            if group is not None and group.lower() not in GROUPS:
                raise ConfigError(
                    f"aliases file {path}: entry {number} ({name}): unknown group {group!r}; "
                    f"use one of {', '.join(GROUPS)}"
                )
            entry = AliasEntry(str(name).strip(), affiliation, group.lower() if group else None)
            by_name[normalize_name(entry.name)] = entry
            for alias in aliases:
                if "@" in alias:
                    by_email[normalize_email(alias)] = entry
                else:
                    by_name[normalize_name(alias)] = entry
        return cls(by_email, by_name)


@dataclass(frozen=True, slots=True)
class Observation:
    """One message's From, or (weight > 1) that many messages with the same From."""

    message_id: str
    name: str | None
    email: str | None
    weight: int = 1


class Resolution:
    """Every message's person key and every person's Identity, for one set of observations."""

    def __init__(self, keys: dict[str, str], identities: dict[str, Identity]) -> None:
        self.keys = keys
        self.identities = identities

    def identity_of(self, message_id: str) -> Identity:
        return self.identities[self.keys[message_id]]

    def table(self) -> dict[str, tuple[str, str | None, str | None, str | None]]:
        """The part of each identity a stored document depends on (what the catalog keeps)."""
        return {k: identity_row(i) for k, i in self.identities.items()}


def identity_row(identity: Identity) -> tuple[str, str | None, str | None, str | None]:
    return (identity.name, identity.email, identity.group, identity.affiliation)


def resolve(observations: Iterable[Observation], aliases: Aliases | None = None) -> Resolution:
    """Assign each message a person and each person its canonical identity."""
    aliases = aliases or Aliases.empty()
    obs = list(observations)
    emails_of_name: dict[str, set[str]] = defaultdict(set)
    for o in obs:
        email = normalize_email(o.email)
        if email and o.name:
            emails_of_name[normalize_name(o.name)].add(email)

    # A full name (two words or more, accents and case folded) seen with several
    # addresses is one person with several addresses: on a governance list two
    # people sharing a full name are far rarer than one person with a work and
    # a home address. A single word ("Parminder") joins nothing.
    parent: dict[str, str] = {}

    def find(email: str) -> str:
        root = email
        while parent.get(root, root) != root:
            root = parent[root]
        while parent.get(email, email) != root:
            parent[email], email = root, parent[email]
        return root

    for norm, emails in emails_of_name.items():
        if len(emails) > 1 and " " in norm and norm not in aliases.by_name:
            ordered = sorted(e for e in emails if e not in aliases.by_email)
            for other in ordered[1:]:
                a, b = find(ordered[0]), find(other)
                if a != b:
                    parent[max(a, b)] = min(a, b)

    # The same person's second address often keeps the local part of the first with
    # digits added (john.clark@registry.net, john.clark50@163.com) under a shorter
    # spelling of the name ("J. Clark"). Join such addresses only when the names agree:
    # same surname and compatible first names, or a name in another script whose
    # Latin counterpart is in the local part ("周静" and "Jing Zhou" at zhou@, zhou26@).
    names_of_email: dict[str, set[str]] = defaultdict(set)
    for norm, emails in emails_of_name.items():
        for email in emails:
            names_of_email[email].add(norm)
    by_stem: dict[str, list[str]] = defaultdict(list)
    for email in sorted(names_of_email):
        if email not in aliases.by_email:
            stem = _local_stem(email)
            if len(stem) >= 2:
                by_stem[stem].append(email)
    for stem, emails in by_stem.items():
        for i, first in enumerate(emails):
            for other in emails[i + 1:]:
                if any(_same_person(a, b, stem) for a in names_of_email[first]
                       for b in names_of_email[other]):
                    a_root, b_root = find(first), find(other)
                    if a_root != b_root:
                        parent[max(a_root, b_root)] = min(a_root, b_root)

    def key_of(name: str | None, email: str) -> str:
        norm = normalize_name(name)
        if email and email in aliases.by_email:
            return "alias:" + normalize_name(aliases.by_email[email].name)
        if norm and norm in aliases.by_name:
            return "alias:" + normalize_name(aliases.by_name[norm].name)
        if email:
            return "email:" + find(email)
        if norm:
            people = {key_of(None, e) for e in emails_of_name.get(norm, set())}
            if len(people) == 1:
                return people.pop()
            return "name:" + norm
        return "unknown"

    keys: dict[str, str] = {}
    spellings: dict[str, Counter[str]] = defaultdict(Counter)
    addresses: dict[str, Counter[str]] = defaultdict(Counter)
    for o in obs:
        email = normalize_email(o.email)
        key = key_of(o.name, email)
        keys[o.message_id] = key
        if o.name and o.name.strip():
            spellings[key][_SPACES.sub(" ", o.name.strip())] += o.weight
        if email:
            addresses[key][email] += o.weight

    alias_entries = {
        "alias:" + normalize_name(e.name): e
        for e in (*aliases.by_email.values(), *aliases.by_name.values())
    }
    identities: dict[str, Identity] = {}
    for key in set(keys.values()):
        email = _most_frequent(addresses[key])
        entry = alias_entries.get(key)
        if entry is not None:
            name = entry.name
        else:
            name = _most_frequent(spellings[key]) or email or UNKNOWN
        identities[key] = Identity(
            name=name,
            email=email,
            group=entry.group if entry else None,
            affiliation=entry.affiliation if entry else None,
            aliases=tuple(sorted(set(spellings[key]) | set(addresses[key]))),
        )
    return Resolution(keys, identities)


_TRAILING_DIGITS = re.compile(r"[\d._-]+$")


def _local_stem(email: str) -> str:
    """The local part without the digits people add to get a free address: zhou26 -> zhou."""
    local = email.split("@", 1)[0].split("+", 1)[0]
    return _TRAILING_DIGITS.sub("", local)


def _same_person(name: str, other: str, stem: str) -> bool:
    """Whether two normalised names can be one person's (addresses already share a stem)."""
    a, b = name.replace(".", " ").split(), other.replace(".", " ").split()
    if not a or not b:
        return False
    latin_a, latin_b = any(ch.isascii() and ch.isalpha() for ch in name), \
        any(ch.isascii() and ch.isalpha() for ch in other)
    if latin_a != latin_b:
        latin = a if latin_a else b
        squeezed = stem.replace(".", "").replace("_", "").replace("-", "")
        if any(token == squeezed or (len(token) >= 3 and token in squeezed) for token in latin):
            return True
        given, family = latin[0], latin[-1]
        return len(latin) >= 2 and squeezed in (given[0] + family, family + given[0],
                                                given + family, family + given)
    if len(a) < 2 or len(b) < 2 or a[-1] != b[-1]:
        return False
    first, second = a[0], b[0]
    if len(first) == 1 or len(second) == 1:
        return first[0] == second[0]
    return first == second


def _most_frequent(counts: Counter[str]) -> str | None:
    if not counts:
        return None
    # Ties go to the alphabetically first spelling so that reruns agree.
    return min(counts.items(), key=lambda item: (-item[1], item[0]))[0]
