"""Text analysis shared by every backend: words as researchers mean them, in every script.

``text`` folds and tokenizes (accent- and case-free words, CJK bigrams, URL and address
parts), ``lang`` says which language a message is written in and ``stem`` gives a word's
language-tagged light stem, with the field's vocabulary kept apart (vocabulary.toml).
Imports only the standard library and its own libraries, so any engine can build its
analyzers from it.
"""

# Bumped whenever a token this package yields for some text changes: an index keeps the
# version it was built with, and one built with another must be rebuilt, never mixed.
ANALYSIS_VERSION = 2

# How a query word weighs its matches, the same in every backend's translator: an exact-form
# match weighs EXACT_BOOST more than a stem-only one ("governments" ranks messages that say
# "governments" above those that say "government"). A word matches twice (exact and stem), a
# phrase once (exact forms): phrases weigh PHRASE_WEIGHT, so a pasted run still ranks its
# message above scattered words as it did with one stemmed field.
EXACT_BOOST = 2.0
PHRASE_WEIGHT = EXACT_BOOST + 1.0
# The stems a query word is given when the index names no language.
DEFAULT_LANGUAGES: tuple[str, ...] = ("en",)
