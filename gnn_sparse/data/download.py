"""Streamed, resumable, atomic download of one file over HTTP(S).

Why not ``urllib.request.urlretrieve``: it has no timeout, writes straight to the target
(a failed transfer leaves a half file that later looks like data) and cannot resume.

Here the body is streamed in chunks to a hidden temporary file next to the target, with a
progress bar. A dropped connection is retried, asking the server for the missing bytes with
``Range: bytes=<have>-``; a server that ignores the range (status 200 instead of 206) makes
the transfer start over. Only a complete file — its length equals ``Content-Length`` and its
sha256 matches when one is known — is renamed over the target (``os.replace`` is atomic on
one file system). Any failure removes the temporary file, so the data root never holds a
partial download.
"""
from __future__ import annotations

import contextlib
import http.client
import os
import re
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

from tqdm.auto import tqdm

from gnn_sparse.data.errors import DownloadError
from gnn_sparse.utils.io import sha256_file

_CONTENT_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)")


def download_file(
    url: str,
    dest: str | os.PathLike,
    *,
    sha256: str | None = None,
    timeout: float = 60.0,
    retries: int = 3,
    chunk_size: int = 1 << 20,
    progress: bool = True,
) -> Path:
    """Download ``url`` to ``dest`` atomically, resuming after dropped connections.

    Args:
        url: HTTP(S) URL.
        dest: target file; its folder is created.
        sha256: expected hex digest of the complete file, or ``None`` to skip the check.
        timeout: seconds without data before a connection counts as dropped.
        retries: extra attempts after the first, each resuming where the last one stopped.
        chunk_size: bytes per read.
        progress: show a ``tqdm`` progress bar (on stderr).

    Returns:
        ``dest`` as a :class:`~pathlib.Path`.

    Raises:
        DownloadError: after the last attempt failed, on an HTTP error status, or on a
            checksum mismatch. The message names the URL, the target and the cause.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    tmp = Path(tmp_name)
    os.close(fd)
    try:
        cause = None
        for _ in range(retries + 1):
            try:
                if _transfer(url, tmp, timeout, chunk_size, progress, dest.name):
                    break
                cause = "the connection closed before the whole file arrived"
            except urllib.error.HTTPError as e:
                raise DownloadError(f"could not download {url} to {dest}: HTTP {e.code} {e.reason}") from e
            except (urllib.error.URLError, http.client.HTTPException, OSError) as e:
                cause = f"{type(e).__name__}: {getattr(e, 'reason', e)}"
        else:
            raise DownloadError(
                f"could not download {url} to {dest} after {retries + 1} attempt(s): {cause}"
            )
        if sha256 is not None:
            digest = sha256_file(tmp)
            if digest != sha256.lower():
                raise DownloadError(
                    f"downloaded {url} but its sha256 is {digest}, expected {sha256}; not saved to {dest}"
                )
        os.replace(tmp, dest)
        return dest
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def _transfer(url: str, tmp: Path, timeout: float, chunk_size: int, progress: bool, label: str) -> bool:
    """One request appending to ``tmp``; returns whether the file is now complete.

    Resumes from ``tmp``'s size when it is not empty. Raises on connection errors (the
    caller retries); a short body with no error returns ``False``.
    """
    have = tmp.stat().st_size
    request = urllib.request.Request(url, headers={"Range": f"bytes={have}-"} if have else {})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        total = _expected_total(response, have)
        if response.status != 206:  # full body: the server ignored the range
            have = 0
        with open(tmp, "r+b" if have else "wb") as f, tqdm(
            total=total, initial=have, unit="B", unit_scale=True, desc=label, disable=not progress
        ) as bar:
            f.seek(have)
            f.truncate()
            while True:
                try:
                    block = response.read(chunk_size)
                except http.client.IncompleteRead as e:  # keep what arrived, then resume
                    f.write(e.partial)
                    return False
                if not block:
                    break
                f.write(block)
                bar.update(len(block))
            size = f.tell()
    return total is None or size == total


def _expected_total(response, have: int) -> int | None:
    """Full file length from ``Content-Range`` (status 206) or ``Content-Length`` (200)."""
    if response.status == 206:
        match = _CONTENT_RANGE.match(response.headers.get("Content-Range", ""))
        if match and match.group(3) != "*":
            return int(match.group(3))
        length = response.headers.get("Content-Length")
        return have + int(length) if length is not None else None
    length = response.headers.get("Content-Length")
    return int(length) if length is not None else None
