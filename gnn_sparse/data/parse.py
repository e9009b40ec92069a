"""Read any temporal edge-list file into integer node ids and float timestamps.

Accepted input:

* plain text, or ``.gz`` / ``.bz2`` / ``.zip`` (recognised by their magic bytes, not the
  file name; a zip must hold exactly one edge file besides README/licence/HTML files);
* comment lines starting with ``#`` or ``%`` and blank lines;
* MatrixMarket ``coordinate`` files (``%%MatrixMarket`` header, then a ``rows cols nnz`` size
  line; the number of entries is checked against ``nnz``);
* one event per line, two or more columns separated by commas, tabs or runs of whitespace,
  auto-detected from the first data line (comma, else tab, else whitespace);
* node ids that are integers or arbitrary strings, remapped to ``0..n-1`` in sorted order of
  the original ids over the whole file (so ``n`` = number of distinct ids that occur); unless
  every id is an int64 (or every id a uint64), ids are compared as the exact text of the file,
  so ids beyond int64 are never rounded through float64 and ``1.0`` is not ``1``;
* timestamps that are integers or floats, negative ones included (times before 1970, or
  relative times); NaN and infinite times are refused;
* LF or CRLF line endings.

Refused, with the file and the 1-based line where there is one (checks in
:mod:`gnn_sparse.data.guard`, in bounded memory): NUL bytes (binary files, the holes of a
sparse file), lines over 64 KiB, a carriage return not followed by a line feed, text that is
not UTF-8, a line with too few fields (the message names the other separator when the line
uses one: one file, one separator, though tabs and spaces mix freely when the first data line
has neither a comma nor a tab),
and a compressed file that unpacks to more than 1 GiB (``$GNN_SPARSE_MAX_DECOMPRESSED_BYTES``
raises the cap, e.g. ``=8G``; a compressed file is read through once in bounded memory before
pandas parses it). Quoted text in messages is cut to 120 characters.

Column roles default to ``src, dst`` for two columns (the file order then serves as time:
event ``i`` gets time ``i``) and ``src, dst, ..., time`` (the *last* column is the time) for
three or more (:func:`~gnn_sparse.data.load.load_dataset` warns when that column holds one
value only, as the weight of a ``src dst time weight`` file does). ``columns="src,dst,time,weight"`` overrides them; roles are ``src``, ``dst``,
``time``, ``weight`` and ``_`` (``weight`` and ``_`` columns are not read: the link predictor
is unweighted). Columns after the last named role are ignored, as are extra fields on a line.

Parsing is one ``pandas.read_csv`` call on the C engine (a second one, of the two id columns
as text, when the ids are not all integers); Python loops run only on the error path, to find
the 1-based line number of the first bad row for the message.
"""
from __future__ import annotations

import bz2
import contextlib
import gzip
import io
import os
import re
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterator, Sequence

import numpy as np
import pandas as pd

from gnn_sparse.data.errors import DataError, DataFileNotFoundError, EdgeListFormatError
from gnn_sparse.data.guard import MAX_DECOMPRESSED_ENV, guarded, max_decompressed_bytes, scan

ROLES = ("src", "dst", "time", "weight", "_")
COMMENT_CHARS = ("#", "%")
_NOT_EDGE_FILES = re.compile(r"(^|/)(\.|__MACOSX/|readme|licen[cs]e)|\.(md|html?|pdf|json|xml|png|jpe?g)$", re.I)
_SEP_NAMES = {",": "commas", "\t": "tabs", r"\s+": "whitespace"}
_CORRUPT = (EOFError, zlib.error, zipfile.BadZipFile, OSError)


@dataclass(frozen=True)
class EdgeList:
    """Parsed temporal edges: event ``i`` is ``src[i] -> dst[i]`` at ``time[i]``, in file order.

    Attributes:
        src: ``int64`` node indices in ``[0, num_nodes)``.
        dst: ``int64`` node indices in ``[0, num_nodes)``.
        time: ``float64`` timestamps (file order when the file has no time column).
        num_nodes: number of distinct node ids in the file.
        time_column: the 1-based column of the file read as time, ``None`` when there is
            none (the file order is the time) or the events were not read from a file.
    """

    src: np.ndarray
    dst: np.ndarray
    time: np.ndarray
    num_nodes: int
    time_column: int | None = None

    @property
    def num_events(self) -> int:
        return len(self.src)


@dataclass(frozen=True)
class _Layout:
    """What the first lines of a file say about the rest."""

    skiprows: int  # lines before the first data line
    first_data_line: int  # its 1-based number
    sep: str
    num_columns: int
    comment: str
    mm_entries: int | None  # declared entry count of a MatrixMarket file


def parse_columns(columns: str | Sequence[str] | None, num_columns: int) -> dict[str, int]:
    """Map roles to 0-based column indices.

    Args:
        columns: roles in column order (``"src,dst,time"`` or a sequence), or ``None`` for
            the default (``src,dst`` for 2 columns; first two and the last for 3+).
        num_columns: columns on the first data line.

    Returns:
        ``{"src": i, "dst": j}`` plus ``"time": k`` when there is a time column.

    Raises:
        ValueError: unknown role, ``src``/``dst`` missing or repeated, ``time`` repeated, or
            more roles than columns.
    """
    if columns is None:
        roles = ["src", "dst"] + ["_"] * (num_columns - 3) + ["time"] * (num_columns > 2)
    else:
        roles = columns.split(",") if isinstance(columns, str) else list(columns)
        roles = [r.strip().lower() for r in roles]
    unknown = sorted(set(roles) - set(ROLES))
    if unknown:
        raise ValueError(f"columns={columns!r}: unknown role(s) {unknown}; allowed roles are {list(ROLES)}")
    for role in ("src", "dst", "time"):
        count = roles.count(role)
        if count > 1 or (count == 0 and role != "time"):
            raise ValueError(f"columns={columns!r}: role {role!r} must appear exactly once"
                             + (" or not at all" if role == "time" else ""))
    if len(roles) > num_columns:
        raise ValueError(f"columns={columns!r} names {len(roles)} columns but the file has {num_columns}")
    return {role: i for i, role in enumerate(roles) if role in ("src", "dst", "time")}


def read_edge_list(path: str | os.PathLike, columns: str | Sequence[str] | None = None) -> EdgeList:
    """Parse a temporal edge-list file (format rules in the module docstring).

    Args:
        path: the file.
        columns: column roles (see :func:`parse_columns`), ``None`` for the default.

    Returns:
        :class:`EdgeList` in file order, node ids remapped to ``0..n-1``.

    Raises:
        DataFileNotFoundError: ``path`` does not exist.
        EdgeListFormatError: empty file, only comments, a line with too few columns, an
            empty/NA node id, a non-numeric, NaN or infinite time, a truncated or corrupt
            archive, a zip with no or several edge files, a MatrixMarket size mismatch, and
            the hostile input of the module docstring (binary, long lines, lone CRs, not
            UTF-8, over the decompression cap).
        DataError: ``$GNN_SPARSE_MAX_DECOMPRESSED_BYTES`` is not a size.
    """
    path = Path(path)
    layout = check_edge_file(path, scan_all=True)
    try:
        roles = parse_columns(columns, layout.num_columns)
    except ValueError as e:
        raise EdgeListFormatError(path, str(e), layout.first_data_line) from None
    frame = _read_frame(path, layout, sorted(roles.values()))
    if layout.mm_entries is not None and len(frame) != layout.mm_entries:
        raise EdgeListFormatError(
            path, f"MatrixMarket size line declares {layout.mm_entries} entries but the file has {len(frame)}"
        )
    src, dst = frame[roles["src"]], frame[roles["dst"]]
    _check_present(path, layout, roles, src.isna().to_numpy() | dst.isna().to_numpy(), "node id")
    time = _parse_time(path, layout, roles, frame[roles["time"]]) if "time" in roles else None

    src, dst = src.to_numpy(), dst.to_numpy()
    if not (src.dtype == dst.dtype and src.dtype.kind in "iu"):
        # Not all ids are int64 (or all uint64): compare them as the exact text of the file. Casting
        # would merge ids: int64 + uint64 or a float column go through float64 (2**63 == 2**63 + 1),
        # and "1.0" == "1" as floats.
        ids = _read_frame(path, layout, sorted([roles["src"], roles["dst"]]), dtype=str)
        src, dst = ids[roles["src"]].to_numpy(dtype=object), ids[roles["dst"]].to_numpy(dtype=object)
    codes, num_nodes = remap_ids(np.concatenate([src, dst]))
    num_events = len(frame)
    if time is None:
        time = np.arange(num_events, dtype=np.float64)
    return EdgeList(src=codes[:num_events], dst=codes[num_events:], time=time, num_nodes=num_nodes,
                    time_column=roles["time"] + 1 if "time" in roles else None)


def check_edge_file(path: str | os.PathLike, scan_all: bool = False) -> _Layout:
    """Check that ``path`` starts like a text edge list and return what its first lines say.

    Cheap (the first 64 KiB or so, decompressed): :func:`~gnn_sparse.data.load.load_dataset`
    calls it before hashing the file, so an empty, binary or sparse file is refused at once
    rather than after reading gigabytes. With ``scan_all``, a gzip or bzip2 file is then read
    to its end in bounded memory (NUL bytes, line lengths, the decompression cap), so that a
    bomb is refused before pandas builds columns from it.

    Raises:
        DataFileNotFoundError: ``path`` does not exist.
        EdgeListFormatError: as :func:`read_edge_list`, for what the checked bytes show.
    """
    path = Path(path)
    if not path.is_file():
        raise DataFileNotFoundError(f"{path}: no such file")
    with _reading(path), _open_binary(path) as stream:
        layout = _sniff(stream, path)
        if scan_all and _compression(path) in ("gz", "bz2"):  # a zip member stops at its checked declared size
            scan(stream)
    return layout


def _read_frame(path: Path, layout: _Layout, usecols: list[int], dtype=None) -> pd.DataFrame:
    """The data lines of ``path`` (columns ``usecols``), parsed by one ``pandas.read_csv`` call."""
    with _reading(path), _open_binary(path) as stream:
        return pd.read_csv(stream, sep=layout.sep, header=None, skiprows=layout.skiprows,
                           comment=layout.comment, usecols=usecols, dtype=dtype, engine="c")


@contextlib.contextmanager
def _reading(path: Path) -> Iterator[None]:
    """Turn what a hostile file makes the readers raise into one :class:`EdgeListFormatError`.

    The guard's own error may reach here as itself or, raised inside pandas' C reader, wrapped
    or re-raised by type; it is found again on ``__context__``/``__cause__``.
    """
    try:
        yield
    except DataError:  # the guard's refusals, a bad $GNN_SPARSE_MAX_DECOMPRESSED_BYTES
        raise
    except UnicodeDecodeError as e:
        line = _first_undecodable_line(path)
        raise EdgeListFormatError(path, f"not UTF-8 text, so not a text edge list ({e.reason}: "
                                        f"{e.object[e.start:e.start + 1]!r})", line) from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError, *_CORRUPT) as e:
        inner = e
        while inner is not None and not isinstance(inner, DataError):
            inner = inner.__cause__ or inner.__context__
        if inner is not None:
            raise inner from None
        if isinstance(e, _CORRUPT):
            raise EdgeListFormatError(
                path, f"cannot read: truncated or corrupt file ({type(e).__name__}: {excerpt(str(e))})") from None
        raise EdgeListFormatError(path, f"cannot parse: {excerpt(str(e))}") from None


def remap_ids(ids: np.ndarray) -> tuple[np.ndarray, int]:
    """Codes ``0..n-1`` of ``ids`` in sorted order of the distinct ids, and ``n``.

    Non-negative integer ids up to ``8 * len(ids)`` (the usual SNAP / Network Repository
    case) use a presence table, :math:`\\text{code}(i) = \\sum_{j < i} [j \\text{ occurs}]`,
    which is linear in time and 2-5x faster than hashing; anything else (strings, negative or
    huge integers, floats) goes through ``pandas.factorize(sort=True)``.
    """
    if ids.dtype.kind in "iu" and len(ids) and ids.min() >= 0 and ids.max() < 8 * len(ids) + 1024:
        present = np.zeros(int(ids.max()) + 1, dtype=bool)
        present[ids] = True
        code_of = np.cumsum(present, dtype=np.int64) - 1
        return code_of[ids], int(code_of[-1]) + 1
    codes, uniques = pd.factorize(ids, sort=True)
    return codes.astype(np.int64, copy=False), len(uniques)


@contextlib.contextmanager
def _open_binary(path: Path) -> Iterator[BinaryIO]:
    """Open ``path`` decompressed, behind a :func:`~gnn_sparse.data.guard.guarded` reader
    (compressed data capped at :func:`~gnn_sparse.data.guard.max_decompressed_bytes`)."""
    kind = _compression(path)
    limit = max_decompressed_bytes() if kind is not None else None
    if kind == "gz":
        with gzip.open(path, "rb") as source:
            yield guarded(source, path, limit)
    elif kind == "bz2":
        with bz2.open(path, "rb") as source:
            yield guarded(source, path, limit)
    elif kind == "zip":
        with zipfile.ZipFile(path) as archive:
            members = [m for m in archive.infolist() if not m.is_dir() and not _NOT_EDGE_FILES.search(m.filename)]
            if len(members) != 1:
                names = ", ".join(m.filename for m in archive.infolist()) or "nothing"
                problem = "no edge file" if not members else f"{len(members)} edge files"
                raise EdgeListFormatError(
                    path, f"zip archive holds {problem} (members: {excerpt(names)}); it must hold exactly one "
                          "(README, licence, HTML, PDF and JSON files are ignored)"
                )
            if members[0].file_size > limit:  # zipfile stops at the declared size, so it is a bound
                raise EdgeListFormatError(
                    path, f"zip member {excerpt(members[0].filename)!r} declares {members[0].file_size:,} bytes "
                          f"unpacked, over the {limit:,}-byte cap against decompression bombs; if the file is "
                          f"genuine, raise it with {MAX_DECOMPRESSED_ENV} (e.g. =8G)")
            with archive.open(members[0]) as source:
                yield guarded(source, path, limit)
    else:
        with open(path, "rb") as source:
            yield guarded(source, path)


def _compression(path: Path) -> str | None:
    """``"gz"``, ``"bz2"``, ``"zip"`` or ``None`` (plain), from the magic bytes, not the name."""
    with open(path, "rb") as f:
        magic = f.read(4)
    if magic[:2] == b"\x1f\x8b":
        return "gz"
    if magic[:3] == b"BZh":
        return "bz2"
    return "zip" if magic in (b"PK\x03\x04", b"PK\x05\x06") else None


def excerpt(text: str, limit: int = 120) -> str:
    """``text`` cut to ``limit`` characters for an error message (a hostile line can be megabytes)."""
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text):,} characters)"


def _first_undecodable_line(path: Path) -> int | None:
    """1-based number of the first line that is not UTF-8 (error path only: a Python loop)."""
    with _open_binary(path) as stream:
        for number, raw in enumerate(stream, start=1):
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError:
                return number
    return None


def _sniff(stream: BinaryIO, path: Path) -> _Layout:
    """Read up to the first data line: comments, MatrixMarket header, separator, column count."""
    comment, matrix_market, mm_entries, seen_text = None, False, None, False
    for number, raw in enumerate(stream, start=1):
        line = raw.decode("utf-8", errors="replace").strip()
        if number == 1 and line.lower().startswith("%%matrixmarket"):
            header = line.lower().split()
            if len(header) < 3 or header[2] != "coordinate":
                raise EdgeListFormatError(path, "only MatrixMarket 'coordinate' files are edge lists", 1)
            matrix_market, comment = True, "%"
            continue
        if not line:
            continue
        seen_text = True
        if line[0] in COMMENT_CHARS:
            comment = comment or line[0]
            continue
        if matrix_market and mm_entries is None:
            size = line.split()
            if len(size) != 3 or not all(s.isdigit() for s in size):
                raise EdgeListFormatError(
                    path, f"MatrixMarket size line must be 'rows cols entries', got {excerpt(line)!r}", number
                )
            mm_entries = int(size[2])
            continue
        sep = "," if "," in line else "\t" if "\t" in line else r"\s+"
        num_columns = len(line.split(sep)) if sep != r"\s+" else len(line.split())
        if num_columns < 2:
            raise EdgeListFormatError(path, f"an edge needs at least 2 columns (src dst), found 1: {excerpt(line)!r}", number)
        return _Layout(number - 1, number, sep, num_columns, comment or "#", mm_entries)
    if not seen_text:
        raise EdgeListFormatError(path, "file is empty")
    raise EdgeListFormatError(path, "file has only comments (or a header) and no edges")


def _parse_time(path: Path, layout: _Layout, roles: dict[str, int], column: pd.Series) -> np.ndarray:
    """The time column as ``float64``; errors name the first missing / non-numeric / NaN row."""
    numeric = column if pd.api.types.is_numeric_dtype(column.dtype) else pd.to_numeric(column, errors="coerce")
    time = numeric.to_numpy(dtype=np.float64, na_value=np.nan)
    _check_present(path, layout, roles, column.isna().to_numpy(), "time")
    bad = ~np.isfinite(time)
    if bad.any():
        row = int(np.argmax(bad))
        line, text = _locate_row(path, layout, row)
        raise EdgeListFormatError(
            path, f"time {excerpt(_field(text, layout.sep, roles['time']), 40)!r} is not a finite number: "
                  f"{excerpt(text)!r}", line
        )
    return time


def _check_present(path: Path, layout: _Layout, roles: dict[str, int], missing: np.ndarray, what: str) -> None:
    """Raise for the first row where a needed field is missing: too few columns, or NA/NaN."""
    if not missing.any():
        return
    line, text = _locate_row(path, layout, int(np.argmax(missing)))
    fields = len(_split(text, layout.sep))
    needed = max(roles.values()) + 1
    if fields < needed:
        names = ", ".join(sorted(roles, key=roles.get))
        message = f"too few columns: {fields} found, {needed} needed for {names}: {excerpt(text)!r}"
        other = [name for sep, name in _SEP_NAMES.items() if sep != layout.sep and len(_split(text, sep)) >= needed]
        if other:
            message += (f"; this line is separated by {other[0]}, but the file's separator, from its first data "
                        f"line ({layout.first_data_line}), is {_SEP_NAMES[layout.sep]}: use one separator throughout")
    else:
        message = f"{what} is empty, NA or NaN: {excerpt(text)!r}"
    raise EdgeListFormatError(path, message, line)


def _locate_row(path: Path, layout: _Layout, row: int) -> tuple[int, str]:
    """1-based line number and text of data row ``row`` (error path only: a Python loop)."""
    start = row
    with _open_binary(path) as stream:
        for number, raw in enumerate(io.TextIOWrapper(stream, encoding="utf-8", errors="replace"), start=1):
            if number <= layout.skiprows:
                continue
            text = raw.strip()
            if not text or text[0] == layout.comment:
                continue
            if row == 0:
                return number, text
            row -= 1
    raise EdgeListFormatError(path, f"pandas reports a bad value in data row {start + 1:,}, which a line-by-line "
                                    "scan cannot find: is a quoted field (\") spanning several lines?")


def _split(text: str, sep: str) -> list[str]:
    return text.split() if sep == r"\s+" else text.split(sep)


def _field(text: str, sep: str, index: int) -> str:
    fields = _split(text, sep)
    return fields[index] if index < len(fields) else ""
