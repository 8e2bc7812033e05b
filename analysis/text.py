"""Folding and tokenizing: the exact forms both the index and the query see.

One tokenizer for index, query and highlighting, so a word typed is the word indexed:

- words are case-folded and accent-folded (``Délégué`` is ``delegue``); Cyrillic ``ё`` is
  ``е``; Arabic diacritics and tatweel are removed (as ICU folding does);
- runs of Han, Kana and Hangul become overlapping bigrams (Lucene's CJK analyzer): no
  dictionary is needed and any 2+ character word of a message finds it; a lone character
  is kept as a unigram. Latin words glued to CJK text are their own tokens;
- a URL or an e-mail address is one token on the main stream (its host, then its path
  words) plus extra tokens at the host's place: every host suffix of two labels or more
  and every label, the local part of an address. ``example``, ``example.net`` and the
  phrase ``icann.org/resources`` all match ``https://www.icann.org/resources/x``.

A query keeps only the main stream (``query=True``): the extras are the index's side of
the match. English stop words are dropped without leaving a gap, as the first analyzer did,
so phrases typed with them still match.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import Literal

# Whoosh's English list (the first analyzer's), kept so phrases and ranking stay as they were.
STOP_WORDS: frozenset[str] = frozenset(
    "a an and are as at be by can for from have if in is it may not of on or tbd that "
    "the this to us we when will with yet you your".split()
)
# Non-CJK words shorter than this are dropped (the first analyzer's minimum).
MIN_WORD = 2

# Han (with extensions and compatibility), Hiragana, Katakana (and halfwidth), Hangul.
_CJK_CLASS = (
    "\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f"
    "\u1100-\u11ff\u3130-\u318f\uac00-\ud7af"
)
# Combining marks Python's \w leaves out: Arabic harakat, Hebrew points, Indic vowel signs
# would otherwise cut a word in two.
_MARKS = "\u0300-\u036f\u0483-\u0489\u0591-\u05c7\u0610-\u061a\u064b-\u065f\u0670" \
    "\u06d6-\u06ed\u0900-\u0dff\u0e31\u0e34-\u0e3a\u0e47-\u0e4e"
_W = f"(?:[^\\W{_CJK_CLASS}]|[{_MARKS}])"
_URL_CHARS = r"[^\s<>\"'()\[\]{}|\\^`]"
_TOKEN_PATTERN = rf"""(?P<url>(?:https?|ftp)://{_URL_CHARS}+|www\.{_URL_CHARS}+)
       | (?P<email>[\w.+-]+@[\w-]+(?:\.[\w-]+)+)
       | (?P<host>(?:[^\W{_CJK_CLASS}][\w-]*\.)+[^\W\d_{_CJK_CLASS}]{{2,}}\b(?:/{_URL_CHARS}*)?)
       | (?P<cjk>[{_CJK_CLASS}]+)
       | (?P<word>{_W}+(?:\.?{_W}+)*)
    """
# Word characters (combining marks included) joined by what URLs and addresses join with.
_CHUNK = re.compile(rf"[\w{_MARKS}]+(?:[.@:/+\-]+[\w{_MARKS}]+)*")


# The patterns only non-ASCII words, URLs and addresses need are compiled when first met:
# compiling their Unicode classes was most of this module's import, which every
# `govmail search` process paid for a query of plain words (issue 19).
@cache
def _token_re() -> re.Pattern[str]:
    return re.compile(_TOKEN_PATTERN, re.VERBOSE)


@cache
def _cjk_run_re() -> re.Pattern[str]:
    return re.compile(f"[{_CJK_CLASS}]+")


@cache
def _path_word_re() -> re.Pattern[str]:
    return re.compile(rf"[^\W_{_CJK_CLASS}]+|[{_CJK_CLASS}]+")


_TRAILING = ".,;:!?'\")]}>"
# Letters NFKD leaves whole that folding still maps (ICU's folding, as accent_map did).
_LETTERS = str.maketrans({"ø": "o", "ł": "l", "đ": "d", "ð": "d", "þ": "th", "æ": "ae",
                          "œ": "oe", "ı": "i", "ё": "е", "\u0640": ""})
_FOLD_CACHE_MAX = 200_000
_folded: dict[str, str] = {}

Kind = Literal["word", "cjk", "host", "email", "path", "extra"]


@dataclass(slots=True)
class Token:
    text: str
    # Main-stream position (stop words leave no gap); extras share their host's.
    pos: int
    start: int
    end: int
    kind: Kind
    stopped: bool = False


def fold(word: str) -> str:
    """Lowercase, accents off, compatibility forms joined; scripts whose marks are letters kept."""
    found = _folded.get(word)
    if found is not None:
        return found
    text = word.casefold()
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text)
        # Combining marks go only after Latin, Greek, Cyrillic, Hebrew and Arabic letters:
        # in Devanagari or Thai they are vowels.
        kept: list[str] = []
        base = ""
        for char in text:
            if unicodedata.combining(char) and (base < "\u0700" or "\u1e00" <= base < "\u2000"):
                continue
            kept.append(char)
            if not unicodedata.combining(char):
                base = char
        text = unicodedata.normalize("NFC", "".join(kept)).translate(_LETTERS)
    if len(_folded) >= _FOLD_CACHE_MAX:
        _folded.clear()
    _folded[word] = text
    return text


def is_cjk(text: str) -> bool:
    return bool(_cjk_run_re().fullmatch(text))


def bigrams(run: str) -> list[str]:
    if len(run) < 2:
        return [run]
    return [run[i : i + 2] for i in range(len(run) - 1)]


def _host_extras(host: str) -> list[str]:
    labels = [label for label in host.split(".") if label]
    suffixes = [".".join(labels[i:]) for i in range(1, len(labels) - 1)]
    return [*suffixes, *labels]


# (text, pos, start, end, kind, stopped): what the analyzers iterate, without an object each.
Row = tuple[str, int, int, int, str, bool]
# The last texts analysed for an index: a stem sub-field re-reads the text its exact field
# just tokenized (Whoosh indexes "original" then "original_stem"), so it is scanned once.
_RECENT_MAX = 4
_recent: dict[str, list[Row]] = {}


def tokenize(text: str, *, query: bool = False, keep_stops: bool = False) -> Iterator[Token]:
    """The tokens of a text, in order; ``query`` drops the extras, ``keep_stops`` marks stops."""
    for row in rows(text, query=query, keep_stops=keep_stops):
        yield Token(*row)  # type: ignore[arg-type]


def indexed_rows(text: str) -> list[Row]:
    """``rows`` of an indexed text (extras included, stop words dropped), remembered briefly."""
    found = _recent.get(text)
    if found is None:
        if len(_recent) >= _RECENT_MAX:
            _recent.pop(next(iter(_recent)))
        found = _recent[text] = rows(text)
    return found


def rows(text: str, *, query: bool = False, keep_stops: bool = False) -> list[Row]:
    """``tokenize`` as plain tuples (the analyzers' loop).

    Chunks of word characters (joined by ``.@:/+-``) are found first: most are plain ASCII
    words, taken as they are; only the others (URLs, addresses, CJK, hyphens, accents) go
    through the full pattern. Scanning every word with the full pattern cost 4x the
    first analyzer's regex.
    """
    found: list[Row] = []
    append = found.append
    pos = 0
    folded = _folded
    for chunk_match in _CHUNK.finditer(text):
        chunk = chunk_match.group()
        if chunk.isascii() and chunk.isalnum():
            word = chunk.lower()
            if len(word) < MIN_WORD or word in STOP_WORDS:
                if keep_stops:
                    start, end = chunk_match.span()
                    append((word, pos, start, end, "word", True))
                continue
            start, end = chunk_match.span()
            append((word, pos, start, end, "word", False))
            pos += 1
            continue
        base = chunk_match.start()
        for match in _token_re().finditer(chunk):
            kind = match.lastgroup
            start, raw = base + match.start(), match.group(0)
            if kind == "word":
                word = folded.get(raw) or fold(raw)
                if len(word) < MIN_WORD or word in STOP_WORDS:
                    if keep_stops:
                        append((word, pos, start, base + match.end(), "word", True))
                    continue
                append((word, pos, start, base + match.end(), "word", False))
                pos += 1
                continue
            if kind == "cjk":
                for offset, gram in enumerate(bigrams(raw)):
                    append((gram, pos, start + offset, start + offset + len(gram), "cjk", False))
                    pos += 1
                continue
            stripped = raw.rstrip(_TRAILING)
            end = start + len(stripped)
            if kind == "email":
                address = fold(stripped)
                append((address, pos, start, end, "email", False))
                if not query:
                    local, _, domain = address.partition("@")
                    for extra in (local, domain, *_host_extras(domain)):
                        if extra:
                            append((extra, pos, start, end, "extra", False))
                pos += 1
                continue
            # url or host[/path]
            scheme, _, body = stripped.rpartition("://")
            host, slash, path = body.partition("/")
            host = fold(host.split("@")[-1].split(":")[0]).strip(".")
            if host:
                append((host, pos, start, end, "host", False))
                if not query:
                    # The scheme too: a pasted "https x.org" (punctuation dropped) finds it.
                    for extra in (*_host_extras(host), *([fold(scheme)] if scheme else [])):
                        append((extra, pos, start, end, "extra", False))
                pos += 1
            if slash:
                for word_match in _path_word_re().finditer(path):
                    part = fold(word_match.group(0))
                    for gram in bigrams(part) if is_cjk(part) else [part]:
                        append((gram, pos, start, end, "path", False))
                        pos += 1
    return found


def words(text: str, *, query: bool = True) -> list[str]:
    """The main-stream token texts of a text (a query's words)."""
    return [t.text for t in tokenize(text, query=query)]


def positioned(text: str) -> list[list[str]]:
    """An indexed text's tokens grouped by position: each main-stream token, then the extras
    at its place (a URL's host labels, an address's parts), for engines that take the
    tokens already analysed. Main-stream positions run 0, 1, 2, ... without gaps, so the
    i-th group is at position i."""
    groups: list[list[str]] = []
    for text_, pos, _start, _end, _kind, _stopped in indexed_rows(text):
        if pos == len(groups):
            groups.append([text_])
        else:
            groups[pos].append(text_)
    return groups
