"""Errors raised by the data pipeline.

Every error is a :class:`ValueError` subclass (``except ValueError`` catches them all) and
its message names the file and, where there is one, the 1-based line number, so a user can
open the file at the offending line. Missing files and network failures additionally
subclass :class:`FileNotFoundError` and :class:`ConnectionError` so that generic ``OSError``
handlers keep working.
"""
from __future__ import annotations

import os


class DataError(ValueError):
    """Base class of all data-pipeline errors."""


class EdgeListFormatError(DataError):
    """An edge-list file cannot be parsed (empty, too few columns, bad time, corrupt archive).

    Args:
        path: the file that failed to parse.
        message: what is wrong.
        line: 1-based line number in the (decompressed) file, or ``None``.
    """

    def __init__(self, path: str | os.PathLike, message: str, line: int | None = None):
        self.path = str(path)
        self.line = line
        where = f"{self.path}, line {line}" if line is not None else self.path
        super().__init__(f"{where}: {message}")


class DataFileNotFoundError(DataError, FileNotFoundError):
    """An explicitly given data file does not exist."""


class UnknownDatasetError(DataError):
    """A name is neither a registered dataset nor an existing file."""


class SplitError(DataError):
    """The requested split or negative sampling is impossible for this graph."""


class CountMismatchError(DataError):
    """A registered dataset does not have its published number of nodes or events."""


class DownloadError(DataError, ConnectionError):
    """A download failed; the message says which URL to fetch by hand and where to put it."""


class ConstantTimeWarning(UserWarning):
    """The time column of an edge list holds a single value, so a "chronological" split
    would follow the file order; the message names the file and the column."""
