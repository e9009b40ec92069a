"""PyG's layer classes, for the checks that recognise them, without importing PyG.

The core runs without PyG (the ``graph`` extra). A model that holds a PyG layer has imported
PyG already, so a check of a model's layers only needs the classes of a PyG that is loaded:
an image model, or any model without PyG layers, never pays PyG's import.
"""
from __future__ import annotations

import sys


def loaded_pyg_classes(*names: str) -> tuple[type, ...]:
    """The classes ``names`` of ``torch_geometric.nn`` (e.g. ``"Linear"``, ``"GCNConv"``)
    when PyG is already imported, else ``()``."""
    module = sys.modules.get("torch_geometric.nn")
    if module is None:
        return ()
    return tuple(getattr(module, name) for name in names)
