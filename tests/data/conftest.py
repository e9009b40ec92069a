"""Fixtures for the data tests: small edge-list files written on the fly, the shared graphs."""
from __future__ import annotations

import bz2
import gzip
import zipfile
from pathlib import Path

import pytest

from gnn_sparse.data.registry import shared_data_dir


@pytest.fixture
def write(tmp_path):
    """``write(name, text, compress=None|"gz"|"bz2"|"zip")`` -> path of a new file in ``tmp_path``."""

    def _write(name: str, text: str | bytes, compress: str | None = None) -> Path:
        data = text.encode() if isinstance(text, str) else text
        path = tmp_path / name
        if compress == "gz":
            path.write_bytes(gzip.compress(data))
        elif compress == "bz2":
            path.write_bytes(bz2.compress(data))
        elif compress == "zip":
            with zipfile.ZipFile(path, "w") as z:
                z.writestr(Path(name).stem, data)
        else:
            path.write_bytes(data)
        return path

    return _write


@pytest.fixture
def root(tmp_path, monkeypatch):
    """An empty data root; the shared folder is pointed at an empty directory too."""
    data_root = tmp_path / "root"
    data_root.mkdir()
    empty = tmp_path / "no-shared"
    empty.mkdir()
    monkeypatch.setenv("GNN_SPARSE_SHARED_DATA", str(empty))
    return data_root


@pytest.fixture
def shared():
    """The shared real graphs (``$GNN_SPARSE_SHARED_DATA``); skip when that folder is absent."""
    folder = shared_data_dir()
    if folder is None or not (folder / "email-Eu-core-temporal.txt.gz").is_file():
        pytest.skip(f"shared data not found at {folder} (set GNN_SPARSE_SHARED_DATA)")
    return folder


@pytest.fixture
def files_under():
    """``files_under(folder)`` -> every file below ``folder`` (to check a failure wrote nothing)."""

    def _files(folder: Path) -> list[str]:
        return sorted(str(p.relative_to(folder)) for p in Path(folder).rglob("*") if p.is_file())

    return _files


@pytest.fixture
def http_dir(tmp_path, monkeypatch):
    """A local HTTP server on 127.0.0.1 serving ``tmp_path / "www"``; yields ``(folder, base_url)``."""
    import functools
    import threading
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    folder = tmp_path / "www"
    folder.mkdir()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(folder)))
    threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True).start()
    yield folder, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def manifest(tmp_path, monkeypatch):
    """``manifest(**entries)`` replaces the registry with ``entries`` (name -> DatasetSpec fields)."""
    import json

    from gnn_sparse.data import registry

    def _manifest(**entries):
        path = tmp_path / "manifest.json"
        path.write_text(json.dumps({"format": 1, "datasets": entries}))
        monkeypatch.setattr(registry, "MANIFEST", path)
        return path

    return _manifest
