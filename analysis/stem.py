"""Language-tagged light stems: Snowball (PyStemmer) per language, the field's words kept apart.

A stem is tagged with the language whose stemmer made it (``en:cooper``, ``fr:gouvern``),
so one language's stem never collides with another's word. A query word is stemmed in
every language the index holds and matches any of them (``stems``). The exceptions of
``vocabulary.toml`` come first: ``governance`` and ``government`` keep distinct stems while
``governments`` still joins ``government``.
"""

from __future__ import annotations

import threading
import tomllib
from collections.abc import Iterable
from functools import cache
from importlib import resources
from typing import Any

from analysis.lang import UNDETERMINED
from analysis.text import Row, indexed_rows

# ISO 639-1 -> Snowball algorithm name (PyStemmer).
SNOWBALL: dict[str, str] = {
    "en": "english", "fr": "french", "es": "spanish", "de": "german", "pt": "portuguese",
    "it": "italian", "nl": "dutch", "ru": "russian", "ar": "arabic", "tr": "turkish",
    "pl": "polish", "sv": "swedish", "da": "danish", "no": "norwegian", "fi": "finnish",
    "ro": "romanian", "hu": "hungarian", "el": "greek", "ca": "catalan", "id": "indonesian",
}
# Languages without a stemmer here (Chinese, Japanese, Korean, undetermined) stem their
# Latin words as English, the lists' common language.
FALLBACK = "en"
# Between a stem's language and its base (``en:cooper``): every stem of a language sorts
# together in a field's term index, which is how an engine finds a language's few stems.
TAG_SEPARATOR = ":"
_CACHE_MAX = 200_000


def stem_language(lang: str | None) -> str:
    return lang if lang in SNOWBALL else FALLBACK


@cache
def exceptions() -> dict[str, dict[str, str]]:
    """language -> word -> stem, from vocabulary.toml, "all" merged into each language."""
    raw = tomllib.loads(resources.files("analysis").joinpath("vocabulary.toml").read_text("utf-8"))
    common = {w: stem for stem, ws in raw.get("all", {}).items() for w in ws}
    table: dict[str, dict[str, str]] = {}
    for lang in SNOWBALL:
        own = {w: stem for stem, ws in raw.get(lang, {}).items() for w in ws}
        table[lang] = {**common, **own}
    return table


class Stemmers:
    """One PyStemmer object per language (not thread-safe: one Stemmers per thread/process)."""

    def __init__(self) -> None:
        self._stemmers: dict[str, Any] = {}
        self._cache: dict[tuple[str, str], str] = {}
        # language -> stemmable word -> tagged stem (``frequencies``' table).
        self._tagged: dict[str, dict[str, str]] = {}

    def _stemmer(self, lang: str) -> Any:
        found = self._stemmers.get(lang)
        if found is None:
            import Stemmer

            found = self._stemmers[lang] = Stemmer.Stemmer(SNOWBALL[lang])
        return found

    def stem(self, word: str, lang: str | None) -> str:
        """The tagged stem of a folded word in a message of language ``lang``."""
        lang = stem_language(lang)
        key = (lang, word)
        found = self._cache.get(key)
        if found is None:
            base = exceptions()[lang].get(word)
            if base is None:
                base = self._stemmer(lang).stemWord(word)
            if len(self._cache) >= _CACHE_MAX:
                self._cache.clear()
            found = self._cache[key] = f"{lang}{TAG_SEPARATOR}{base}"
        return found

    def frequencies(self, found: Iterable[Row], lang: str | None) -> dict[str, int]:
        """Stem -> frequency over the stemmable tokens of ``rows`` (a text's, in one language).

        The same stems, in the same first-seen order, as ``stem`` over each stemmable row;
        each distinct word is looked up once, from a per-language table, instead of once a
        token (words repeat: a message's tokens are about twice its vocabulary).
        """
        lang = stem_language(lang)
        words: dict[str, int] = {}
        get = words.get
        for word, _pos, _start, _end, kind, _stopped in found:
            if kind == "word":
                words[word] = get(word, 0) + 1
        table = self._tagged.get(lang)
        if table is None:
            table = self._tagged[lang] = {}
        counts: dict[str, int] = {}
        for word, count in words.items():
            tagged = table.get(word)
            if tagged is None:
                if not word.isalpha():
                    continue
                if len(table) >= _CACHE_MAX:
                    table.clear()
                tagged = table[word] = self.stem(word, lang)
            counts[tagged] = counts.get(tagged, 0) + count
        return counts

    def stems(self, word: str, languages: tuple[str, ...]) -> list[str]:
        """A query word's stems in every given language (deduplicated, in order)."""
        seen: dict[str, None] = {}
        for lang in dict.fromkeys(stem_language(x) for x in languages):
            seen[self.stem(word, lang)] = None
        return list(seen)


_local = threading.local()


def stemmers() -> Stemmers:
    """This thread's stemmers (PyStemmer objects must not be shared between threads)."""
    found = getattr(_local, "stemmers", None)
    if found is None:
        found = _local.stemmers = Stemmers()
    return found


def stemmable(token_text: str, kind: str) -> bool:
    """Words of letters are stemmed; CJK grams, hosts, addresses and numbers are not."""
    return kind == "word" and token_text.isalpha()


def indexed_stems(text: str, lang: str | None) -> list[str]:
    """The stems a text field's stem sub-field indexes, in order, for a message in ``lang``."""
    stem = stemmers().stem
    return [stem(word, lang) for word, _pos, _start, _end, kind, _stopped in indexed_rows(text)
            if stemmable(word, kind)]


def query_word(text: str, languages: tuple[str, ...],
               stemmed: bool) -> tuple[list[str], tuple[str, ...]]:
    """What a bare query word of a text field matches, for every backend alike: its tokens
    (several: a phrase of them, as CJK bigrams or a URL's parts are indexed) and, for one
    stemmable word of a field with a stem sub-field (``stemmed``), its language-tagged stems
    in each of ``languages`` (Xapian's STEM_SOME; the exact form is the one token)."""
    from analysis.text import tokenize

    found = list(tokenize(text, query=True))
    tokens = [t.text for t in found]
    if len(found) != 1 or not stemmed or not stemmable(found[0].text, found[0].kind):
        return tokens, ()
    return tokens, tuple(stemmers().stems(found[0].text, languages))


__all__ = ["FALLBACK", "SNOWBALL", "TAG_SEPARATOR", "Stemmers", "UNDETERMINED", "exceptions", "indexed_stems", "stem_language",
           "query_word",
           "stemmable", "stemmers"]
