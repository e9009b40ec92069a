"""The methods of the image runner: exactly the link-prediction trainer's registry.

Dense, DST-EE, RigL, SET, static (:mod:`gnn_sparse.training.methods`) and ADMM
(:mod:`baselines.link_prediction`, registered by the command lines with ``register_admm()``) run on an
:class:`~gnn_sparse.vision.config.ImageRunConfig` unchanged: they mask
``model.sparsifiable(config.sparse.sparsify)`` (every CNN of :mod:`gnn_sparse.vision` has it, see
:class:`~gnn_sparse.vision.layers.SparsifiableCNN`) at ``config.sparse.sparsity`` with
``config.sparse.distribution``; with the default ERK that is exactly
:func:`~gnn_sparse.vision.erk_sparsities` (RigL's convention: first layer dense).
"""
from __future__ import annotations

from gnn_sparse.training.methods import METHODS, Method, build_method


def image_method_names() -> list[str]:
    """The ``--method`` choices: the trainer's registry."""
    return list(METHODS)


def build_image_method(config) -> Method:
    """The registered method named by ``config.sparse.method`` (:class:`ConfigError` for an unknown name)."""
    return build_method(config)
