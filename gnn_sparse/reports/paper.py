"""The paper's reported link-prediction accuracies (Tables III-IV), as project data.

The figures live in ``paper_results.json`` next to this module, with their source; only
``ia-email`` (Table IV) and ``wiki-talk`` (Table III) have reported numbers.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from gnn_sparse.reports.grid import normalise_sparsity

PAPER_RESULTS = Path(__file__).with_name("paper_results.json")


@dataclass(frozen=True)
class ReportedRow:
    """One method's row of a paper table: epochs (``None`` for dense) and accuracy % per sparsity."""

    method: str
    epochs: int | None
    accuracy: dict[float, float]


@lru_cache(maxsize=None)
def _paper_data() -> dict[str, Any]:
    with open(PAPER_RESULTS, encoding="utf-8") as f:
        return json.load(f)


def paper_source() -> str:
    """The citation of the reported numbers."""
    return _paper_data()["source"]


def paper_note() -> str:
    """How the reported numbers were obtained (selection on test, no AUC, ADMM epochs)."""
    return _paper_data()["note"]


def reported_rows(dataset: str) -> list[ReportedRow]:
    """The paper's rows for ``dataset``, or ``[]`` for a dataset the paper did not use."""
    entry = _paper_data()["datasets"].get(dataset)
    if entry is None:
        return []
    return [ReportedRow(row["method"], row["epochs"],
                        {normalise_sparsity(float(s)): float(v) for s, v in row["accuracy"].items()})
            for row in entry["rows"]]


def paper_table(dataset: str) -> str | None:
    """Which table of the paper holds ``dataset`` (``"III"``/``"IV"``), ``None`` if none."""
    entry = _paper_data()["datasets"].get(dataset)
    return None if entry is None else entry["table"]
