"""Bounded reading of untrusted edge-list bytes.

An edge-list path can be anything a user typed: a binary file, a sparse file that is 10 GB of
holes, a line of megabytes, an archive that decompresses to terabytes. :class:`GuardedReader`
sits between the (decompressed) byte stream and every consumer (the layout sniffer, pandas,
the error-path line finder), hands bytes on in chunks of at most :data:`MAX_LINE_BYTES`, and
refuses, naming the 1-based line, as soon as a chunk shows

* a NUL byte: no text edge list holds one, while binary files and the holes of a sparse file
  are full of them (so a 10 GB sparse file fails on its first chunk, in constant memory);
* a line longer than :data:`MAX_LINE_BYTES` (an edge line is a few short fields; without the
  cap, reading "one line" of a newline-free file would read the whole file into memory);
* a carriage return that is not followed by a line feed: pandas ends a line there and Python
  does not, so line numbers in messages would be wrong (CRLF files are fine);
* more than :func:`max_decompressed_bytes` bytes out of a compressed file (a decompression
  bomb); :func:`scan` runs this check over a whole archive before pandas builds any column.

The checks are byte searches in C (``bytes.find``, numpy compares) on each 64 KiB chunk, so a
valid file costs a few vectorised passes over its bytes, no Python loop over lines.
"""
from __future__ import annotations

import io
import os
import re
from pathlib import Path
from typing import BinaryIO

import numpy as np

from gnn_sparse.data.errors import DataError, EdgeListFormatError

MAX_LINE_BYTES = 64 * 1024
MAX_DECOMPRESSED_ENV = "GNN_SPARSE_MAX_DECOMPRESSED_BYTES"
DEFAULT_MAX_DECOMPRESSED = 1 << 30  # 1 GiB; wiki-talk, the largest registered graph: 7.8 M lines of ~25 bytes
_LONE_CR = re.compile(rb"\r(?!\n)")
_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def max_decompressed_bytes() -> int:
    """The cap on the bytes a compressed edge-list file may expand to: ``$GNN_SPARSE_MAX_DECOMPRESSED_BYTES``
    (an integer with an optional ``K``/``M``/``G``/``T`` binary suffix, e.g. ``8G``), else 1 GiB.

    Raises:
        DataError: the variable is set but is not a positive size.
    """
    text = os.environ.get(MAX_DECOMPRESSED_ENV, "").strip().upper().removesuffix("B").removesuffix("I")
    if not text:
        return DEFAULT_MAX_DECOMPRESSED
    unit = text[-1] if text[-1] in _UNITS else ""
    number = text[: len(text) - len(unit)]
    if not number.isdigit() or int(number) == 0:
        raise DataError(f"${MAX_DECOMPRESSED_ENV}={os.environ[MAX_DECOMPRESSED_ENV]!r} is not a positive "
                         "size in bytes (e.g. 4294967296 or 4G)")
    return int(number) * _UNITS[unit]


class GuardedReader(io.RawIOBase):
    """A raw stream over ``source`` that refuses NUL bytes, over-long lines, lone carriage
    returns and (when ``limit`` is given) more than ``limit`` bytes; see the module docstring.

    Args:
        source: the decompressed bytes, read from the start.
        path: the file, for error messages.
        limit: the most bytes ``source`` may yield (``None``: no cap, for plain files, whose
            size is what it is on disk).
    """

    def __init__(self, source: BinaryIO, path: Path, limit: int | None = None):
        super().__init__()
        self._source, self._path, self._limit = source, path, limit
        self._offset = 0  # bytes handed on so far
        self._lines = 0  # line feeds handed on so far
        self._run = 0  # bytes since the last line feed
        self._cr_pending = False  # the previous chunk ended in a carriage return

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        view = memoryview(buffer).cast("B")[:MAX_LINE_BYTES]
        count = self._source.readinto(view)
        if not count:
            if self._cr_pending:
                self._refuse_lone_cr(-1, b"")
            return 0
        self._check(bytes(view[:count]))
        return count

    def _check(self, chunk: bytes) -> None:
        nul = chunk.find(b"\0")
        if nul >= 0:
            raise EdgeListFormatError(
                self._path, f"NUL byte at byte offset {self._offset + nul:,}: this is a binary file (or a sparse "
                            "file's hole), not a text edge list", self._line_at(chunk, nul))
        first_lf = chunk.find(b"\n")
        head = first_lf if first_lf >= 0 else len(chunk)
        if self._run + head > MAX_LINE_BYTES:  # lines wholly inside one chunk are shorter than the cap
            raise EdgeListFormatError(
                self._path, f"line longer than {MAX_LINE_BYTES:,} bytes (an edge line is a few short fields): "
                            "a binary or corrupt file?", self._lines + 1)
        self._check_carriage_returns(chunk)
        if self._limit is not None and self._offset + len(chunk) > self._limit:
            raise EdgeListFormatError(
                self._path, f"decompresses to more than {self._limit:,} bytes, the cap against decompression "
                            f"bombs; if the file is genuine, raise it with {MAX_DECOMPRESSED_ENV} (e.g. =8G)")
        self._run = len(chunk) - chunk.rfind(b"\n") - 1 if first_lf >= 0 else self._run + len(chunk)
        self._lines += _count(chunk, b"\n")
        self._offset += len(chunk)

    def _check_carriage_returns(self, chunk: bytes) -> None:
        if self._cr_pending and not chunk.startswith(b"\n"):
            self._refuse_lone_cr(-1, chunk)
        self._cr_pending = chunk.endswith(b"\r")
        if b"\r" not in chunk:
            return
        body = np.frombuffer(chunk, dtype=np.uint8)
        crlf = np.count_nonzero((body[:-1] == 13) & (body[1:] == 10))
        if _count(chunk, b"\r") - self._cr_pending != crlf:  # the regex runs on the error path only
            self._refuse_lone_cr(_LONE_CR.search(chunk[:-1] if self._cr_pending else chunk).start(), chunk)

    def _refuse_lone_cr(self, index: int, chunk: bytes) -> None:
        line = self._lines + 1 if index < 0 else self._line_at(chunk, index)
        raise EdgeListFormatError(
            self._path, "carriage return not followed by a line feed (classic Mac line endings?); lines must "
                        "end in LF or CRLF", line)

    def _line_at(self, chunk: bytes, index: int) -> int:
        return self._lines + _count(chunk[:index], b"\n") + 1


def _count(chunk: bytes, byte: bytes) -> int:
    """Occurrences of one ``byte`` in ``chunk``: numpy's SIMD compare is ~4x ``bytes.count``."""
    return int(np.count_nonzero(np.frombuffer(chunk, dtype=np.uint8) == ord(byte)))


def guarded(source: BinaryIO, path: Path, limit: int | None = None) -> io.BufferedReader:
    """``source`` behind a :class:`GuardedReader`, buffered (``readline``, iteration, ``read(n)``)."""
    return io.BufferedReader(GuardedReader(source, path, limit), buffer_size=MAX_LINE_BYTES)


def scan(stream: BinaryIO) -> None:
    """Read ``stream`` (a :func:`guarded` one) to the end in bounded memory, so that a bomb or a
    binary member of an archive is refused before pandas parses anything."""
    while stream.read(MAX_LINE_BYTES):
        pass
