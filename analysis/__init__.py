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
