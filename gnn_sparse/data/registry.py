"""Dataset registry: which temporal graphs have a name, and where their file is found.

The registry is declarative: ``manifest.json`` of this package (``gnn_sparse/data/``, shipped
in the wheel) lists, per name, the source URL, the file name, the column layout and the
published node / event counts (checked after every load). ``synthetic`` and
``wiki-talk-twin`` are the names without a file: they are generated (see
:mod:`gnn_sparse.data.synthetic` and :mod:`gnn_sparse.data.twin`).

Locations, none of them relative to the installed package:

* **data root** (downloads in ``raw/``, processed splits in ``processed/``): the ``root=``
  argument (``--data-root``), else ``$GNN_SPARSE_DATA``, else the user's cache folder
  (:func:`user_cache_dir`: ``$XDG_CACHE_HOME/gnn-sparse``, else ``~/.cache/gnn-sparse``;
  ``%LOCALAPPDATA%/gnn-sparse`` on Windows);
* **shared real graphs**: ``$GNN_SPARSE_SHARED_DATA``, a folder of already downloaded files
  (none when unset).

A registered file is looked up in this order: an explicit path, the raw cache under the data
root, the shared folder (when ``$GNN_SPARSE_SHARED_DATA`` names one, for graphs that have a
``shared_file``), then a download.
"""
from __future__ import annotations

import json
import os
import sys
import warnings
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from gnn_sparse.data.download import download_file
from gnn_sparse.data.errors import DataFileNotFoundError, DownloadError
from gnn_sparse.utils.io import sha256_file

MANIFEST = files(__package__) / "manifest.json"
"""The registry file, read from the installed package."""
SYNTHETIC = "synthetic"
TWIN = "wiki-talk-twin"
APP_NAME = "gnn-sparse"


@dataclass(frozen=True)
class DatasetSpec:
    """One registered temporal graph (an entry of the manifest, :data:`MANIFEST`).

    Args:
        name: registry name, e.g. ``"ia-email"``.
        url: where the publisher serves the file.
        file: name of the downloaded file under ``<data root>/raw/``.
        columns: column roles, e.g. ``"src,dst,weight,time"``.
        num_nodes: published number of nodes (checked after loading).
        num_events: published number of temporal edges (checked after loading).
        sha256: digest of the downloaded file, checked after a download (``None`` = unknown).
        shared_file: name of the graph in the shared folder, or ``None``.
        description: one line on what the graph is.
    """

    name: str
    url: str
    file: str
    columns: str
    num_nodes: int
    num_events: int
    sha256: str | None = None
    shared_file: str | None = None
    description: str = ""


def load_manifest(path: str | os.PathLike | None = None) -> dict[str, DatasetSpec]:
    """Read the manifest (default :data:`MANIFEST`) into ``{name: DatasetSpec}``."""
    source = Path(path) if path is not None else MANIFEST
    entries = json.loads(source.read_text(encoding="utf-8"))["datasets"]
    return {name: DatasetSpec(name=name, **entry) for name, entry in entries.items()}


def known_names() -> list[str]:
    """All names :func:`~gnn_sparse.data.load_dataset` accepts besides file paths."""
    return sorted(load_manifest()) + [SYNTHETIC, TWIN]


def user_cache_dir() -> Path:
    """The per-user cache folder of gnn-sparse: ``$XDG_CACHE_HOME/gnn-sparse``, else
    ``~/.cache/gnn-sparse`` (on Windows ``%LOCALAPPDATA%/gnn-sparse``)."""
    if sys.platform == "win32" and os.environ.get("LOCALAPPDATA"):
        return Path(os.environ["LOCALAPPDATA"]) / APP_NAME
    base = os.environ.get("XDG_CACHE_HOME")
    return (Path(base) if base else Path.home() / ".cache") / APP_NAME


def data_root(root: str | os.PathLike | None = None) -> Path:
    """The data root: ``root`` if given, else ``$GNN_SPARSE_DATA``, else :func:`user_cache_dir`."""
    if root is not None:
        return Path(root)
    env = os.environ.get("GNN_SPARSE_DATA")
    return Path(env) if env else user_cache_dir()


def shared_data_dir() -> Path | None:
    """The shared folder of real graphs, ``$GNN_SPARSE_SHARED_DATA``; ``None`` when unset."""
    env = os.environ.get("GNN_SPARSE_SHARED_DATA")
    return Path(env) if env else None


def _intact(raw: Path, spec: DatasetSpec) -> bool:
    """Whether a downloaded file still has the manifest's sha256 (unknown digest: assumed).
    A file that changed on disk is reported, deleted and downloaded again, never parsed."""
    if spec.sha256 is None:
        return True
    digest = sha256_file(raw)
    if digest == spec.sha256.lower():
        return True
    warnings.warn(f"{raw}: sha256 {digest[:16]}... differs from the manifest's {spec.sha256[:16]}... for "
                  f"{spec.name!r} (a damaged download); deleting it and downloading it again", RuntimeWarning,
                  stacklevel=3)
    raw.unlink()
    return False


def resolve_file(
    spec: DatasetSpec,
    path: str | os.PathLike | None = None,
    root: str | os.PathLike | None = None,
    download: bool = True,
    timeout: float = 60.0,
) -> Path:
    """Find the file of a registered dataset, downloading it as a last resort.

    Order: ``path`` (must exist) → ``<root>/raw/<file>`` (if it has the manifest's sha256;
    else it is deleted, with a warning) → ``$GNN_SPARSE_SHARED_DATA`` → download to ``<root>/raw/<file>``. With ``download=False``, or when the download fails, the error
    says which URL to fetch and where to save it.
    """
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise DataFileNotFoundError(f"{path}: no such file (given as the file of {spec.name!r})")
        return path
    cached = data_root(root) / "raw" / spec.file
    if cached.is_file() and _intact(cached, spec):
        return cached
    folder = shared_data_dir()
    if spec.shared_file is not None and folder is not None and (folder / spec.shared_file).is_file():
        return folder / spec.shared_file
    how = (
        f"download {spec.url} and save it as {cached.resolve()} "
        f"(or pass its path explicitly with path=...)"
    )
    if spec.shared_file is not None:
        how += f", or point $GNN_SPARSE_SHARED_DATA at a folder holding {spec.shared_file}"
    if not download:
        raise DataFileNotFoundError(f"{spec.name!r} is not available locally: {how}")
    try:
        return download_file(spec.url, cached, sha256=spec.sha256, timeout=timeout)
    except DownloadError as e:
        raise DownloadError(f"{e}\nTo fix: {how}") from e
