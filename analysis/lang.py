"""The language of a message's own words, by py3langid (a well-kept, numpy-only langid.py).

Detection is restricted to the languages of the lists (restricting also makes short texts
less often taken for a language nobody writes there). Kana or Hangul settle Japanese and
Korean at once; a text too short or too uncertain to tell is ``und``, which the stemmer
treats as English, the lists' common language.
"""

from __future__ import annotations

import re
import string
import threading
from typing import Any

LANGUAGES: tuple[str, ...] = (
    "en", "fr", "es", "de", "pt", "it", "nl", "ru", "ar", "zh", "ja", "ko", "tr", "pl", "sv",
)
UNDETERMINED = "und"
# Fewer letters than this say too little.
MIN_LETTERS = 12
MIN_PROBABILITY = 0.6
# The opening is enough: detection cost grows with the text, its answer does not.
SAMPLE_CHARS = 2000
_KANA = re.compile(r"[\u3040-\u30ff]")
_HANGUL = re.compile(r"[\uac00-\ud7af]")
_LETTER = re.compile(r"[^\W\d_]")
_ASCII_LETTERS = string.ascii_letters.encode("ascii")
_lock = threading.Lock()
_identifier: Any = None


def _model() -> Any:
    global _identifier
    with _lock:
        if _identifier is None:
            import numpy as np
            from py3langid.langid import MODEL_DIR, MODEL_FILE, LanguageIdentifier
            from py3langid.modelio import load_model

            # Built from the lists' languages alone: ``set_languages`` keeps the whole
            # model's 142-column table besides the restricted one (27 MB a process, for a
            # reset govmail never asks for).
            ptc, pc, classes, nextmove, row, output = load_model(MODEL_DIR / MODEL_FILE)
            kept = [i for i, code in enumerate(classes) if code in LANGUAGES]
            _identifier = LanguageIdentifier(
                np.ascontiguousarray(ptc[:, kept]), np.asarray(pc)[kept],
                [classes[i] for i in kept], nextmove, output, norm_probs=True, tk_row=row)
        return _identifier


def detect(text: str) -> str:
    """An ISO 639-1 code from LANGUAGES, or ``und``."""
    sample = text[:SAMPLE_CHARS]
    if sample.isascii():
        # Most mail: the letters are A-Z and a-z (what the pattern counts in ASCII) and
        # there is no Kana or Hangul to count; three regex scans cost a tenth of a model run.
        raw = sample.encode("ascii")
        letters = len(raw) - len(raw.translate(None, _ASCII_LETTERS))
        if letters < MIN_LETTERS:
            return UNDETERMINED
    else:
        letters = len(_LETTER.findall(sample))
        if letters < MIN_LETTERS:
            return UNDETERMINED
        if len(_HANGUL.findall(sample)) * 4 > letters:
            return "ko"
        if len(_KANA.findall(sample)) * 8 > letters:
            return "ja"
    lang, probability = _model().classify(sample)
    return str(lang) if probability >= MIN_PROBABILITY else UNDETERMINED
