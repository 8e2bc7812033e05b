"""The reference stage: governance documents (with paragraphs) and organisations named in mail.

Runs after splitting, on the author's own text and on the quoted text separately, so that
``cites`` (who invokes a paragraph) and ``quoted_cites`` (who quotes someone invoking it)
stay apart. What it recognises is data, not code: ``index/references.toml``, extended by a
site file (the ``references`` setting).

Cost: one Aho-Corasick pass (pyahocorasick, a C automaton) per text finds every name,
acronym, pattern anchor ("rfc", "draft-", "a/res/") and part keyword ("para", "section",
"§") at once; regular expressions run only at those hits. A message that names nothing
costs a lowercase and the automaton scan. Word starts are in the keys (see ``_OPENERS``),
so the automaton reports no hits inside words and the text is never rewritten.

Resolution rules, in order, for a part ("para 76", "Section 74", "§ 4.2"):
1. followed by "of/in/de/du/del (the/la/l')" and a document: that document;
   followed by "of ..." and anything else: not a reference we know, dropped;
2. right after a document ("TA para 72(a)", "Tunis Agenda, paragraph 72"): that document;
3. otherwise the nearest document named before it in the same text, within
   :data:`NEAREST` characters ("The Tunis Agenda is clear. Paragraph 69 says ...");
4. otherwise dropped.
After a part, "and 73 b reads/says" continues the same document. An abbreviation ("TA")
counts only in a message that spells the document out under one of its names too.
"""

from __future__ import annotations

import re
import tomllib
from bisect import bisect_left
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import ahocorasick

from core.config import Settings
from core.errors import ConfigError
from core.records import Cite, RefSpan
from core.refkeys import cite_value, part_key, slug

SHIPPED = Path(__file__).with_name("references.toml")
# How far back (characters) a bare "paragraph 69" looks for the document it belongs to.
NEAREST = 300
# How far after a part "and 73 b reads" may continue it.
CONTINUATION = 400
# How far either side of a name an address or URL around it is looked for.
TOKEN = 200

# Part keywords, matched like names (whole words, any case).
PART_WORDS = (
    "para", "para.", "paras", "paras.", "paragraph", "paragraphs", "par.", "section",
    "sections", "sec.", "§", "§§", "art.", "article", "articles", "clause", "clauses",
    "párrafo", "párrafos", "parrafo", "parrafos", "paragraphe", "paragraphes", "artículo",
    "articulo", "artículos", "apartado", "sección", "seccion", "alinéa",
)

# Characters that may open a word: each becomes a space, in the scanned text and in the keys,
# and a key that starts with a letter starts with a space (" itu"), so the automaton itself
# refuses hits inside words ("data" holds "ta"). One str.replace per character present: on
# mail-sized text far cheaper than str.translate, and one small trie instead of one per opener.
_OPENERS = "\n\xa0(\"'“‘’«[<*_¿¡"


def _spaced(text: str) -> str:
    for char in _OPENERS:
        if char in text:
            text = text.replace(char, " ")
    return text

_NUMBER = r"\d{1,4}(?:\.\d{1,3})*(?:\s?\([a-h]\)(?!\w)|[a-h](?![\w])|\s[b-h](?![\w]))?"
_PART_NUMBERS = re.compile(
    rf"\s*(?:n[o°º]\.?\s*)?(?P<first>{_NUMBER})"
    rf"(?P<more>(?:\s*(?:,|and|&|et|y|or|ou|o|to|-|–)\s*(?!\d{{4}}\b){_NUMBER})*)",
    re.IGNORECASE,
)
_MORE_NUMBER = re.compile(_NUMBER, re.IGNORECASE)
_CONNECTOR = re.compile(
    r"\s*,?\s*(?:of|in|from|under|de|du|des|del|de\s+la|dans|en)\s+"
    r"(?:the\s+|la\s+|l'|l’|le\s+|el\s+|les\s+|los\s+)?",
    re.IGNORECASE,
)
_BEFORE_PART = re.compile(r"[\s,(]{0,3}$")
_CONTINUE = re.compile(
    rf"(?<!\w)(?:and|et|y)\s+(?P<part>{_NUMBER})\s+"
    r"(?:reads|says|states|provides|stipulates|dit|dice|establece|prévoit)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Entry:
    """One document, document family (a pattern) or organisation of the data file."""

    id: str
    name: str
    section: str  # "document" or "organisation"
    kind: str = ""
    url: str | None = None
    names: tuple[str, ...] = ()
    acronyms: tuple[str, ...] = ()
    abbreviations: tuple[str, ...] = ()
    anchor: str | None = None
    pattern: re.Pattern[str] | None = None

    def resolve(self, groups: dict[str, str]) -> tuple[str, str]:
        """(id, name) of one match of a pattern entry."""
        clean = {k: v.lower() for k, v in groups.items() if v is not None}
        return slug(self.id.format(**clean)), self.name.format(**clean)


# Automaton values: what a key is, per entry that spells it so. Codes 1-3 are matched as
# written (upper case); organisations go straight to the mentions, without a hit object.
_NAME, _ACRONYM, _ABBREVIATION, _ORG_ACRONYM, _ANCHOR, _PART, _ORG = range(7)


@dataclass(slots=True)
class Table:
    entries: dict[str, Entry]
    automaton: ahocorasick.Automaton = field(repr=False)


def _keys(text: str, bounded: bool = True) -> list[str]:
    """The automaton key of one spelling (a list: a spelling could need several)."""
    key = _spaced(text.lower())
    return [" " + key if bounded and key[:1].isalnum() else key]


def _build(entries: dict[str, Entry]) -> Table:
    automaton = ahocorasick.Automaton()
    keys: dict[str, list[tuple[int, str | None, str, int, bool]]] = {}

    def add(text: str, code: int, entry_id: str | None) -> None:
        # Anchors also start after '/' or '.' (".../id/draft-ietf-x.txt"): their boundary is
        # checked at the hit, and they are rare enough for that to cost nothing.
        bounded = code != _ANCHOR
        for key in _keys(text, bounded):
            # back: from the key's last character to the spelling's first, in text offsets
            # (the scanned string has one leading space, an opener is one more character).
            back = len(key) - (1 if bounded and text[:1].isalnum() else 0)
            keys.setdefault(key, []).append((code, entry_id, text, back, text[-1:].isalnum()))

    for entry in entries.values():
        organisation = entry.section == "organisation"
        for name in entry.names:
            add(name, _ORG if organisation else _NAME, entry.id)
        for acronym in entry.acronyms:
            add(acronym, _ORG_ACRONYM if organisation else _ACRONYM, entry.id)
        for abbreviation in entry.abbreviations:
            add(abbreviation, _ABBREVIATION, entry.id)
        if entry.anchor:
            add(entry.anchor, _ANCHOR, entry.id)
    for word in PART_WORDS:
        add(word, _PART, None)
    for key, values in keys.items():
        automaton.add_word(key, tuple(values))
    automaton.make_automaton()
    return Table(entries, automaton)


def _entries_from(path: Path) -> list[Entry]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"references file {path}: {exc.strerror or exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"references file {path} is not valid TOML: {exc}") from exc
    found: list[Entry] = []
    for section in ("document", "organisation"):
        for number, raw in enumerate(data.get(section, []), 1):
            where = f"references file {path}: {section} {number}"
            if not isinstance(raw, dict) or not raw.get("id"):
                raise ConfigError(f"{where} has no id")
            unknown = set(raw) - {"id", "name", "kind", "url", "names", "acronyms",
                                  "abbreviations", "anchor", "pattern"}
            if unknown:
                raise ConfigError(f"{where} ({raw['id']}): unknown keys {sorted(unknown)}")
            if bool(raw.get("anchor")) != bool(raw.get("pattern")):
                raise ConfigError(f"{where} ({raw['id']}): anchor and pattern go together")
            spellings = {}
            for key in ("names", "acronyms", "abbreviations"):
                given = raw.get(key, [])
                if not isinstance(given, list) or not all(
                        isinstance(v, str) and v.strip() for v in given):
                    raise ConfigError(f"{where} ({raw['id']}): {key} must be a list of names")
                spellings[key] = tuple(v.strip() for v in given)
            if not raw.get("pattern") and slug(str(raw["id"])) != raw["id"]:
                raise ConfigError(f"{where}: id {raw['id']!r} is not lowercase letters, digits "
                                  f"and '-' (try {slug(str(raw['id']))!r})")
            try:
                pattern = re.compile(raw["pattern"], re.IGNORECASE) if raw.get("pattern") else None
            except re.error as exc:
                raise ConfigError(f"{where} ({raw['id']}): bad pattern: {exc}") from exc
            found.append(Entry(
                id=str(raw["id"]), name=str(raw.get("name") or raw["id"]), section=section,
                kind=str(raw.get("kind", "")), url=raw.get("url"),
                names=spellings["names"], acronyms=spellings["acronyms"],
                abbreviations=spellings["abbreviations"],
                anchor=str(raw["anchor"]).lower() if raw.get("anchor") else None,
                pattern=pattern,
            ))
    return found


def _merge(base: dict[str, Entry], extra: list[Entry]) -> dict[str, Entry]:
    """The site's entries over the shipped ones: new ids added, known ids get more names."""
    merged = dict(base)
    for entry in extra:
        old = merged.get(entry.id)
        if old is not None:
            entry = Entry(
                id=entry.id, name=old.name if entry.name == entry.id else entry.name,
                section=entry.section,
                kind=entry.kind or old.kind, url=entry.url or old.url,
                names=tuple(dict.fromkeys(old.names + entry.names)),
                acronyms=tuple(dict.fromkeys(old.acronyms + entry.acronyms)),
                abbreviations=tuple(dict.fromkeys(old.abbreviations + entry.abbreviations)),
                anchor=entry.anchor or old.anchor, pattern=entry.pattern or old.pattern,
            )
        merged[entry.id] = entry
    return merged


@lru_cache(maxsize=4)
def _load(site: str | None, stamp: float) -> Table:
    entries = {e.id: e for e in _entries_from(SHIPPED)}
    if site:
        entries = _merge(entries, _entries_from(Path(site)))
    return _build(entries)


def load_table(site: Path | None = None) -> Table:
    """The shipped table, extended by ``site``; built once per process (and file version)."""
    stamp = 0.0
    if site is not None:
        try:
            stamp = Path(site).stat().st_mtime
        except OSError as exc:
            raise ConfigError(f"references file {site}: {exc.strerror or exc}") from exc
    return _load(str(site) if site else None, stamp)


def table(settings: Settings) -> Table:
    return load_table(settings.references)


@dataclass(frozen=True, slots=True)
class References:
    cites: tuple[Cite, ...] = ()
    mentions: tuple[str, ...] = ()
    # Where each reference stands in the text it was found in (the message page marks them).
    spans: tuple[RefSpan, ...] = ()


@dataclass(slots=True)
class _Hit:
    start: int
    end: int
    code: int
    entry: str | None  # the document or organisation id (resolved for patterns)


def _in_address(text: str, start: int, stop: int) -> bool:
    """True inside an address or URL ("<w3c-dist-auth@w3.org>"): a list's name, not a mention.

    Looks at most :data:`TOKEN` characters either way, so a long run without spaces costs
    no more per hit than a short one.
    """
    if stop + 1 >= len(text) or text[stop + 1] == " ":
        return False
    low = max(0, start - TOKEN)
    left = max(text.rfind(" ", low, start), text.rfind("\n", low, start), low - 1)
    high = min(len(text), stop + TOKEN)
    right = high
    for space in (" ", "\n"):
        found = text.find(space, stop, high)
        if found != -1:
            right = min(right, found)
    token = text[left + 1:right]
    return "@" in token or "://" in token


def _scan(text: str, tab: Table, mentions: dict[str, None],
          named: list[tuple[int, int, str]]) -> list[_Hit]:
    """Every document and part keyword of ``text``, leftmost-longest, not overlapping;
    the organisations named go into ``mentions``, and where they stand into ``named``.

    The automaton's own leftmost-longest walk (``iter_long``) drops the keys inside longer
    ones ("ICANN" in "ICANN Bylaws", "ITU" in "ITU-T") in C; only a pattern's match, which
    may run past its anchor ("rfc" -> "RFC 2026"), can still cover a later hit.
    """
    if not text:
        return []
    low = text.lower()
    if len(low) != len(text):
        # A few characters lowercase to two ("İ"); keep offsets the text's.
        low = "".join(c if len(c.lower()) != 1 else c.lower() for c in text)
    # One leading space so that a key's opener can match before the first word.
    norm = " " + _spaced(low)
    size = len(norm)
    hits: list[_Hit] = []
    append = hits.append
    reach = 0
    for end, values in tab.automaton.iter_long(norm):
        # norm[end + 1] is text[end], the character after the key.
        after_alnum = end + 1 < size and norm[end + 1].isalnum()
        for code, entry_id, spelled, back, word_end in values:
            start = end - back
            if start < reach:
                break
            if code == _ANCHOR:
                # Not inside a word, nor a host name ("https://rfc-7258.example.net").
                if start > 0 and (text[start - 1].isalnum() or text[start - 2:start] == "//"):
                    continue
                entry = tab.entries[entry_id]  # type: ignore[index]
                assert entry.pattern is not None
                match = entry.pattern.match(text, start)
                if match:
                    resolved, _ = entry.resolve(match.groupdict())
                    if entry.section == "organisation":
                        mentions[resolved] = None
                        named.append((start, match.end(), resolved))
                    else:
                        append(_Hit(start, match.end(), _NAME, resolved))
                    reach = match.end()
                    break
                continue
            if word_end and after_alnum:
                continue
            if _ACRONYM <= code <= _ORG_ACRONYM and text[start:end] != spelled:
                continue
            if end < size - 1 and norm[end + 1] in "-@." and _in_address(text, start, end):
                continue
            if code >= _ORG_ACRONYM and code != _PART:
                mentions[entry_id] = None  # type: ignore[index]
                named.append((start, end, entry_id))  # type: ignore[arg-type]
            else:
                append(_Hit(start, end, code, entry_id))
            break
    return hits


def _parts(text: str, hit: _Hit) -> tuple[list[tuple[str, int, int]], int]:
    """The part numbers after a part keyword, each with where it stands (the first one's
    span takes the keyword in: "para 76"), and where they end; ([], start) if none."""
    match = _PART_NUMBERS.match(text, hit.end)
    if not match:
        return [], hit.end
    parts = [(part_key(match["first"]), hit.start, match.end("first"))]
    if match["more"]:
        base = match.start("more")
        parts += [(part_key(m.group(0)), base + m.start(), base + m.end())
                  for m in _MORE_NUMBER.finditer(match["more"])]
    return parts, match.end()


def _resolve(text: str, hits: list[_Hit], where: str, valid: set[str],
             cites: dict[tuple[str, str | None, str], None],
             spans: list[RefSpan]) -> None:
    docs = [h for h in hits if h.code != _PART and (h.code != _ABBREVIATION or h.entry in valid)]
    for doc in docs:
        spans.append(RefSpan(where, doc.start, doc.end, "cites", doc.entry))  # type: ignore[arg-type]
    if len(docs) == len(hits):
        for doc in docs:
            cites.setdefault((doc.entry, None, where), None)  # type: ignore[arg-type]
        return
    starts = [d.start for d in docs]
    used: set[int] = set()
    for hit in hits:
        if hit.code != _PART:
            continue
        parts, stop = _parts(text, hit)
        if not parts:
            continue
        target: _Hit | None = None
        connector = _CONNECTOR.match(text, stop)
        if connector:
            at = bisect_left(starts, connector.end())
            if at < len(docs) and docs[at].start == connector.end():
                target = docs[at]
                used.add(id(target))
            else:
                continue  # "paragraph 5 of the report": some other text's paragraph
        else:
            before = bisect_left(starts, hit.start) - 1
            if before >= 0:
                candidate = docs[before]
                if hit.start - candidate.end <= 3 and _BEFORE_PART.match(
                        text[candidate.end:hit.start]):
                    target = candidate
                    used.add(id(target))
                elif hit.start - candidate.end <= NEAREST:
                    target = candidate
        if target is None:
            continue
        document = target.entry
        assert document is not None
        for part, start, end in parts:
            cites[(document, part, where)] = None
            spans.append(RefSpan(where, start, end, "cites", cite_value(document, part)))
        for more in _CONTINUE.finditer(text, stop, min(len(text), stop + CONTINUATION)):
            part = part_key(more["part"])
            cites[(document, part, where)] = None
            spans.append(RefSpan(where, more.start("part"), more.end("part"), "cites",
                                 cite_value(document, part)))
    for doc in docs:
        if id(doc) not in used:
            cites.setdefault((doc.entry, None, where), None)  # type: ignore[arg-type]


def extract(original: str, quoted: str, tab: Table) -> References:
    """The documents, parts and organisations of one message's own and quoted text."""
    mentions: dict[str, None] = {}
    named: tuple[list[tuple[int, int, str]], list[tuple[int, int, str]]] = ([], [])
    scans = (("original", original, _scan(original, tab, mentions, named[0])),
             ("quoted", quoted, _scan(quoted, tab, mentions, named[1])))
    # Documents spelled out somewhere in the message: their abbreviations count.
    valid = {h.entry for _, _, hits in scans for h in hits if h.code <= _ACRONYM}
    cites: dict[tuple[str, str | None, str], None] = {}
    spans: list[RefSpan] = []
    for (where, text, hits), orgs in zip(scans, named, strict=True):
        if hits:
            _resolve(text, hits, where, valid, cites, spans)
        spans.extend(RefSpan(where, start, end, "mentions", org) for start, end, org in orgs)
    return References(
        cites=tuple(Cite(d, p, w) for d, p, w in cites),
        mentions=tuple(sorted(mentions)),
        spans=tuple(sorted(spans, key=lambda s: (s.where != "original", s.start, s.end))),
    )


def references_of(original: str, quoted: str, settings: Settings) -> References:
    return extract(original, quoted, table(settings))


def values(cites: tuple[Cite, ...], where: str) -> list[str]:
    """The index values of one side's cites: each document, and each document/part."""
    found: dict[str, None] = {}
    for cite in cites:
        if cite.where == where:
            found[cite.document] = None
            if cite.part:
                found[cite_value(cite.document, cite.part)] = None
    return sorted(found)
