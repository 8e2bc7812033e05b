"""Every change govmail makes to Whoosh's own classes, applied by one explicit call.

Each patch replaces a Whoosh method whose body depends on Whoosh's private layout, so it
is only right for the version it was written against: :func:`apply` refuses any other
with one clear line, instead of a wrong count or a crash deep in a query later.
"""

from __future__ import annotations

from typing import Any

import whoosh
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, W3PerDocReader, _lenfield, byte_to_length
from whoosh.filedb.structfile import BufferFile

from backends.whoosh.buffers import _buffer_file_init
from core.errors import GovmailError

# The whoosh-reloaded release these patches were written and tested against (pyproject pins it).
PINNED = (2, 7, 5)
_applied = False


def _cached_reader(self: W3PerDocReader, fieldname: str, column: Any) -> Any:
    """``W3PerDocReader._cached_reader`` that also remembers a missing column.

    Whoosh caches only the columns it found, so at commit every posting of a field
    without lengths (each ID and KEYWORD field: about 20 postings a message) asked the
    filesystem again (one ``stat`` a posting, 9% of the commit). A segment's files never
    change once written, so the answer "no such column" holds for the reader's life.
    """
    readers = self._readers
    if fieldname in readers:
        return readers[fieldname]
    reader = self.column_reader(fieldname, column) if self.has_column(fieldname) else None
    readers[fieldname] = reader
    return reader


_whoosh_doc_field_length = W3PerDocReader.doc_field_length
# Segments up to this many documents get their lengths decoded once into a list: the
# segments a commit writes (MAX_BATCH / 2 documents each); readers of big segments keep
# Whoosh's per-call lookup rather than paying a full column decode on a first query.
_LENGTHS_TABLE_MAX = 50_000


def _doc_field_length(
    self: W3PerDocReader, docnum: int, fieldname: str, default: int = 0
) -> int | None:
    """``W3PerDocReader.doc_field_length`` from a list decoded once per field.

    A commit asks the length of (document, field) for every posting it writes: through
    Whoosh's column reader that was a chain of five calls a posting, ~15% of the commit.
    Same values, including Whoosh's None for a zero length byte.
    """
    if self._doccount > _LENGTHS_TABLE_MAX:
        return _whoosh_doc_field_length(self, docnum, fieldname, default)
    tables = self.__dict__.setdefault("_govmail_lengths", {})
    table = tables.get(fieldname)
    if table is None:
        reader = self._cached_reader(_lenfield(fieldname), LENGTHS_COLUMN)
        table = tables[fieldname] = (
            () if reader is None
            else [byte_to_length(b) if b else None for b in map(reader.__getitem__,
                                                                range(self._doccount))]
        )
    if not table and self._doccount:
        return default
    if 0 <= docnum < len(table):
        return table[docnum]
    return _whoosh_doc_field_length(self, docnum, fieldname, default)


def apply() -> None:
    """Install the patches once per process; refuse a Whoosh they were not written for."""
    global _applied
    if _applied:
        return
    if tuple(whoosh.__version__) != PINNED:
        found = ".".join(map(str, whoosh.__version__))
        wanted = ".".join(map(str, PINNED))
        raise GovmailError(
            f"govmail needs whoosh-reloaded {wanted}, found {found}: "
            f"pip install whoosh-reloaded=={wanted}"
        )
    # Mapped index files read in place, not copied whole when a segment opens.
    BufferFile.__init__ = _buffer_file_init  # type: ignore[method-assign]
    W3PerDocReader._cached_reader = _cached_reader  # type: ignore[method-assign]
    W3PerDocReader.doc_field_length = _doc_field_length  # type: ignore[method-assign]
    _applied = True
