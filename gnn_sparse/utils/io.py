"""Atomic, checksummed file writes: a reader never sees a half-written result, cache or
checkpoint, and never silently uses one whose bytes changed after it was written.

Why a checksum: ``torch.load`` of a file with a flipped byte inside a tensor's data succeeds
and returns wrong numbers. :func:`atomic_torch_save` therefore stores, inside the saved dict
(key :data:`CHECKSUM_KEY`), a sha256 of its content (every tensor's bytes, every number and
string, in order), and :func:`checked_torch_load` recomputes it and raises
:class:`CorruptFileError` on a mismatch. The digest lives in the same file, so one atomic
rename publishes both (a side file could be left stale by a kill between two renames), and
a plain ``torch.load`` still reads the file.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Iterator


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "w", **kwargs) -> Iterator[Any]:
    """Open a temporary file next to ``path`` and rename it over ``path`` on success.

    On any exception the temporary file is removed and ``path`` is left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, mode, **kwargs) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_write_json(path: str | os.PathLike, obj: Any) -> None:
    with atomic_write(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2, sort_keys=False, default=_json_default)
        f.write("\n")


CHECKSUM_KEY = "_content_sha256"
"""The key under which :func:`atomic_torch_save` stores the digest of the rest of the dict."""


class CorruptFileError(ValueError):
    """A saved file that does not load or whose content does not match its checksum."""


def atomic_torch_save(obj: dict[str, Any], path: str | os.PathLike) -> None:
    """``torch.save`` a dict atomically, with its :func:`content_sha256` under :data:`CHECKSUM_KEY`."""
    import torch

    if not isinstance(obj, dict):
        raise TypeError(f"atomic_torch_save stores a dict (with its checksum), got {type(obj).__name__}")
    payload = {k: v for k, v in obj.items() if k != CHECKSUM_KEY}
    payload[CHECKSUM_KEY] = content_sha256(payload)
    with atomic_write(path, "wb") as f:
        out = _WriteErrors(f)
        try:
            torch.save(payload, out)
        except RuntimeError:
            if out.error is not None:  # torch reports a failed write (a full disk) as a bare RuntimeError
                raise out.error from None
            raise


class _WriteErrors:
    """A binary file whose failed ``write`` is remembered, so that the ``OSError`` (``ENOSPC``)
    that ``torch.save`` turns into "unexpected pos" can be raised as what it is."""

    def __init__(self, f):
        self.f, self.error = f, None

    def write(self, data) -> int:
        try:
            return self.f.write(data)
        except OSError as err:
            self.error = err
            raise

    def flush(self) -> None:
        self.f.flush()


def checked_torch_load(path: str | os.PathLike, **load_kwargs) -> dict[str, Any]:
    """``torch.load(path, **load_kwargs)`` of a file written by :func:`atomic_torch_save`,
    without its checksum key.

    Raises:
        CorruptFileError: the file does not load, is not a dict, has no checksum, or its
            content differs from its checksum. The message is one line naming ``path``.
        FileNotFoundError: there is no file.
    """
    import torch

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    try:
        blob = torch.load(path, **load_kwargs)
    except Exception as err:  # truncated, overwritten, foreign: whatever the reader raised
        first = (str(err).strip().splitlines() or ["no detail"])[0][:200]
        raise CorruptFileError(f"{path}: unreadable ({type(err).__name__}: {first})") from None
    return verify_content(blob, path)


def verify_content(blob: Any, path: str | os.PathLike) -> dict[str, Any]:
    """``blob`` (a loaded :func:`atomic_torch_save` dict) without its checksum key, if the
    checksum matches; else :class:`CorruptFileError` naming ``path``."""
    if not isinstance(blob, dict) or CHECKSUM_KEY not in blob:
        raise CorruptFileError(f"{path}: no content checksum (not written by this gnn-sparse, or damaged)")
    blob = dict(blob)
    stored = blob.pop(CHECKSUM_KEY)
    if stored != content_sha256(blob):
        raise CorruptFileError(f"{path}: content does not match its checksum (the file changed after it was written)")
    return blob


def content_sha256(obj: Any) -> str:
    """A sha256 of a nested structure of dicts, lists, tuples, tensors, arrays and scalars:
    keys in order, each tensor's dtype, shape and bytes (sparse ones by their components)."""
    h = hashlib.sha256()
    _digest(obj, h)
    return h.hexdigest()


def _digest(obj: Any, h) -> None:
    import numpy as np
    import torch

    if isinstance(obj, torch.Tensor):
        t = obj.detach().cpu()
        h.update(f"T{t.dtype}{tuple(t.shape)}{t.layout}".encode())
        if t.layout == torch.sparse_csr:
            for part in (t.crow_indices(), t.col_indices(), t.values()):
                _digest(part, h)
        elif t.is_sparse:
            t = t.coalesce()
            _digest(t.indices(), h)
            _digest(t.values(), h)
        else:
            h.update(t.contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
    elif isinstance(obj, np.ndarray):
        h.update(f"A{obj.dtype}{obj.shape}".encode())
        h.update(np.ascontiguousarray(obj).tobytes())
    elif isinstance(obj, dict):
        h.update(f"D{len(obj)}".encode())
        for key, value in obj.items():
            _digest(key, h)
            _digest(value, h)
    elif isinstance(obj, (set, frozenset)):
        h.update(f"Z{sorted(map(repr, obj))}".encode())
    elif isinstance(obj, (list, tuple)):
        h.update(f"L{type(obj).__name__}{len(obj)}".encode())
        for value in obj:
            _digest(value, h)
    else:
        h.update(f"S{type(obj).__name__}:{obj!r};".encode())


def sha256_file(path: str | os.PathLike, chunk_size: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk_size), b""):
            h.update(block)
    return h.hexdigest()


def _json_default(obj: Any) -> Any:
    import numpy as np

    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating,)):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")
