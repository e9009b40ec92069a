"""Per-epoch checkpoints: written atomically with a content checksum (verified on load),
loaded on the CPU, RNG states included."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from gnn_sparse.utils.io import atomic_torch_save, checked_torch_load

CHECKPOINT_FORMAT = 1


def rng_state(shuffle: torch.Generator) -> dict[str, Any]:
    """The global torch RNG (CPU and, if initialised, CUDA) and the shuffling generator."""
    state = {"torch": torch.get_rng_state(), "shuffle": shuffle.get_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any], shuffle: torch.Generator) -> None:
    torch.set_rng_state(state["torch"])
    shuffle.set_state(state["shuffle"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(path: str | os.PathLike, state: dict[str, Any]) -> None:
    """Write ``state`` (plus the format version) so that a crash never leaves half a file."""
    atomic_torch_save({"format": CHECKPOINT_FORMAT, **state}, path)


def load_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """Load a checkpoint onto the CPU (states are moved to the model's device when loaded).

    Raises :class:`~gnn_sparse.utils.io.CorruptFileError` for a truncated or altered file."""
    state = checked_torch_load(Path(path), map_location="cpu", weights_only=False)
    if state.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{path}: checkpoint format {state.get('format')!r}, expected {CHECKPOINT_FORMAT}")
    return state
