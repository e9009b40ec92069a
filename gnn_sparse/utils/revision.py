"""The source revision a run was produced with, so a report can say which code made its numbers.

Library versions alone cannot tell two checkouts of gnn_sparse 0.1.0 apart, and results
written by different revisions of the same version may differ (a changed walk generator, a
fixed count): reports list the revision of every run next to the library versions.
"""
from __future__ import annotations

import functools
import subprocess
from pathlib import Path


@functools.lru_cache(maxsize=4)
def source_revision(directory: str | Path | None = None) -> str | None:
    """``git`` commit of the checkout holding ``directory`` (default: the gnn_sparse package),
    with ``+dirty`` when tracked files are modified.

    ``None`` when it is not in a git checkout (an installed wheel) or git is absent.
    """
    where = Path(directory) if directory is not None else Path(__file__).resolve().parents[1]
    try:
        commit = _git(where, "rev-parse", "--short=12", "HEAD")
        dirty = _git(where, "status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return None
    return commit + ("+dirty" if dirty else "")


def _git(cwd: Path, *args: str) -> str:
    out = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10, check=True)
    return out.stdout.strip()
