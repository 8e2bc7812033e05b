"""backends/whoosh/buffers.py reads a mapped index file exactly as BytesIO would, without copying it."""

from __future__ import annotations

import io
import mmap
import pickle
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from whoosh.filedb.structfile import BufferFile

from backends.whoosh.buffers import BufferReader

operations = st.lists(
    st.one_of(
        st.tuples(st.just("read"), st.integers(-1, 300)),
        st.tuples(st.just("readline"), st.integers(-1, 300)),
        st.tuples(st.just("readinto"), st.integers(0, 300)),
        st.tuples(st.just("seek0"), st.integers(0, 1200)),
        st.tuples(st.just("seek1"), st.integers(-50, 400)),
        st.tuples(st.just("seek2"), st.integers(-1200, 10)),
        st.tuples(st.just("tell"), st.just(0)),
    ),
    max_size=40,
)


def _apply(stream: object, name: str, argument: int) -> object:
    if name == "read":
        return stream.read(argument)  # type: ignore[attr-defined]
    if name == "readline":
        return stream.readline(argument)  # type: ignore[attr-defined]
    if name == "readinto":
        target = bytearray(argument)
        count = stream.readinto(target)  # type: ignore[attr-defined]
        return count, bytes(target[:count])
    if name == "tell":
        return stream.tell()  # type: ignore[attr-defined]
    whence = int(name[-1])
    try:
        return stream.seek(argument, whence)  # type: ignore[attr-defined]
    except ValueError:
        return "ValueError"


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=1000), lines=st.integers(0, 30), ops=operations)
def test_same_as_bytesio_for_any_reads_and_seeks(data: bytes, lines: int, ops: list) -> None:
    data = b"\n".join([data[i :: max(1, lines)] for i in range(lines)]) + data
    ours, theirs = BufferReader(memoryview(data)), io.BytesIO(data)
    for name, argument in ops:
        assert _apply(ours, name, argument) == _apply(theirs, name, argument), (name, argument)
    assert list(ours) == list(theirs)


def test_pickles_load_from_a_mapped_file_and_buffer_files_do_not_copy(tmp_path: Path) -> None:
    values = [{"n": n, "text": "ligne\n" * n, "bytes": bytes(range(n % 256))} for n in range(50)]
    path = tmp_path / "pickles"
    with path.open("wb") as out:
        for protocol in (0, 2, 5):
            for value in values:
                pickle.dump(value, out, protocol)
    with path.open("rb") as src, mmap.mmap(src.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
        view = memoryview(mapped)
        try:
            stored = BufferFile(view[3:], name="pickles")
            assert isinstance(stored.file, BufferReader)
            stored.seek(0)
            assert stored.read(0) == b""
            buffered = BufferFile(view, name="pickles")
            loaded = [buffered.read_pickle() for _ in range(3 * len(values))]
            assert loaded == values * 3
            assert buffered.read(1) == b""
            assert buffered.get(0, 2) == bytes(view[:2])
            buffered.close()
            stored.close()
            del stored, buffered
        finally:
            view.release()
