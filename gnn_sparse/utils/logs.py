"""Logging set up by the command lines.

The package logs through the standard :mod:`logging` module (``gnn_sparse.sparsity``: one
line per mask update; ``baselines.admm``: one per Z/U update; warnings such as skipped
updates). A command line shows those lines on stderr at the chosen level, printed through
``tqdm.write`` so that they do not break the progress bars; other libraries' loggers stay at
WARNING, so gensim and friends do not flood the terminal. Python warnings (a corrupt cache
rebuilt, a constant time column) print as one line each.
"""
from __future__ import annotations

import logging
import sys
import warnings

from tqdm.auto import tqdm

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
PACKAGE_LOGGERS = ("gnn_sparse", "baselines")
FORMAT = "%(levelname)s %(name)s: %(message)s"


class _TqdmHandler(logging.Handler):
    """Writes records with ``tqdm.write`` (above any progress bar) to stderr."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            tqdm.write(self.format(record), file=sys.stderr)
        except Exception:  # logging must never stop a run
            self.handleError(record)


def configure_logging(level: str) -> None:
    """Show this package's log lines at ``level`` and above, other loggers' at WARNING and
    above. Calling it again replaces the previous set-up (no duplicated lines)."""
    if level not in LOG_LEVELS:
        raise ValueError(f"log level must be one of {LOG_LEVELS}, got {level!r}")
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, _TqdmHandler)]:
        root.removeHandler(handler)
    handler = _TqdmHandler()
    handler.setFormatter(logging.Formatter(FORMAT))
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    for name in PACKAGE_LOGGERS:
        logging.getLogger(name).setLevel(level)
    warnings.formatwarning = _one_line_warning


def _one_line_warning(message, category, filename, lineno, line=None) -> str:
    """A warning as one line (``RuntimeWarning: <message>``): what went wrong, not where in
    the code (e.g. a corrupt cache that is rebuilt)."""
    return f"{category.__name__}: {' '.join(str(message).split())}\n"
