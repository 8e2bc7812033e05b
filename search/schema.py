"""Permanent alias: indexes written before the backend seam pickle ``search.schema.TextAnalyzer``.

Whoosh stores the schema, analyzers included, as a pickle in each index's TOC, naming
classes by module path. Removing this module would make every such index unopenable
(``tests/backends/whoosh/test_old_index.py`` opens one).
"""

from backends.whoosh.schema import TextAnalyzer

__all__ = ["TextAnalyzer"]
