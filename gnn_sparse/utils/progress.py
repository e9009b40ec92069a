"""Progress notes for stages without a natural counter (parsing, splitting), on stderr.

They follow the runner's conventions: ``tqdm.write`` to stderr (so an open bar is not
broken), silenced by ``--quiet``. Stages with a counter (walks, skip-gram epochs, training
epochs and batches) show ``tqdm`` bars instead.
"""
from __future__ import annotations

import contextlib
import sys
import time
from typing import Iterator

from tqdm.auto import tqdm


@contextlib.contextmanager
def stage(what: str, enabled: bool = True) -> Iterator[None]:
    """Write ``what ...`` when the stage starts and ``what: X.X s`` when it ends (if ``enabled``)."""
    if not enabled:
        yield
        return
    tqdm.write(f"{what} ...", file=sys.stderr)
    start = time.perf_counter()
    yield
    tqdm.write(f"{what}: {time.perf_counter() - start:.1f} s", file=sys.stderr)
