"""Permanent alias: indexes written before the backend seam pickle ``search.codec.GovCodec``.

Each segment in a Whoosh TOC pickles its codec by module path; see ``search/schema.py``.
"""

from backends.whoosh.codec import GovCodec

__all__ = ["GovCodec"]
