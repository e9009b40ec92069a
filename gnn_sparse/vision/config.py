"""The configuration of one image-classification run: every option, its default and its checks.

:class:`ImageRunConfig` carries the same optimisation and sparsity fields, with the same
names, as the link-prediction :class:`~gnn_sparse.training.RunConfig`, so the trainer's
pluggable methods (:mod:`gnn_sparse.training.methods`: dense, DST-EE, RigL, SET, static)
run on it unchanged. Options left ``None`` take their dataset's default
(:data:`DATASET_DEFAULTS`) in :meth:`ImageRunConfig.resolved`; the resolved values are what
the results JSON records and what resume compares.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any

from gnn_sparse.sparsity.rules import DST_EE_C_DECAY, DST_EE_C_DECAY_INTERVAL, DST_EE_EPS
from gnn_sparse.training.config import (
    MAX_COUNT,
    MAX_EPOCHS,
    MAX_SEED,
    MAX_WIDTH,
    ConfigError,
    DictConfig,
    check_finite,
    check_int,
)
from gnn_sparse.vision.layers import CNN_SPARSIFY_SCOPES

IMAGE_DATASETS = ("digits", "cifar10", "cifar100")
IMAGE_MODELS = ("digits-cnn", "vgg19", "resnet50")
DEFAULT_WIDTH = {"digits-cnn": 32, "vgg19": 64, "resnet50": 64}
"""Channels of the first conv of each model at its standard size."""

DATASET_DEFAULTS: dict[str, dict[str, Any]] = {
    # about 40 steps per epoch: trains in well under a minute on two CPU cores
    "digits": {"model": "digits-cnn", "epochs": 30, "batch_size": 32, "lr": 0.05, "weight_decay": 5e-4,
               "update_interval": 50, "augment": False,
               "pretrain_epochs": 10, "admm_epochs": 10, "retrain_epochs": 10},
    # the paper (DST-EE, Table I) and ITOP/GraNet CIFAR code: SGD, batch 128, lr 0.1, cosine, 160 epochs
    # ADMM gets the same 160 epochs in all: 60 dense pretraining, 50 ADMM, 50 masked retraining
    "cifar10": {"model": "vgg19", "epochs": 160, "batch_size": 128, "lr": 0.1, "weight_decay": 5e-4,
                "update_interval": 1000, "augment": True, "val_size": 5000,
                "pretrain_epochs": 60, "admm_epochs": 50, "retrain_epochs": 50},
    "cifar100": {"model": "vgg19", "epochs": 160, "batch_size": 128, "lr": 0.1, "weight_decay": 5e-4,
                 "update_interval": 1000, "augment": True, "val_size": 5000,
                 "pretrain_epochs": 60, "admm_epochs": 50, "retrain_epochs": 50},
}
"""Per-dataset defaults of the options that are ``None`` in :class:`ImageRunConfig`."""


@dataclass(frozen=True)
class ImageRunConfig(DictConfig):
    """Everything that determines an image-classification run's result.

    Data: ``dataset`` (``digits``, ``cifar10``, ``cifar100``), ``cifar_root`` (folder of the
    python-pickle batches, required for CIFAR), ``val_size`` (CIFAR training images held out
    for validation; digits always uses its fixed 70/15/15 split), ``split_seed`` (seeds the
    split, fixed across runs so every method and seed sees the same test set), ``augment``
    (random crop with 4-pixel padding and horizontal flip).
    Model: ``model`` (``digits-cnn``, ``vgg19``, ``resnet50``), ``width`` (channels of the
    first conv; VGG-19 and ResNet-50 scale every layer by ``width / 64``).
    Optimisation (every method): SGD with ``lr``, ``momentum``, ``nesterov``,
    ``weight_decay``; ``lr_schedule`` (cosine to 0 over the epochs, or constant); ``epochs``;
    ``batch_size`` images per step.
    Sparsity: ``method``, ``sparsity`` (global fraction of zeros among the masked weights),
    ``sparsify`` (``rigl``: every Conv/Linear weight but the first layer, RigL's convention;
    ``all``: the first layer too), ``distribution`` (``erk`` or ``uniform``); mask updates
    every ``update_interval`` steps until ``end_fraction`` of the steps, moving
    ``drop_fraction`` (``drop_schedule``) of the active weights; DST-EE's ``c`` x ``c_decay``
    every ``c_decay_interval`` steps and ``eps``.
    ADMM (``method="admm"``, the link-prediction trainer's method,
    :mod:`baselines.link_prediction`): ``pretrain_epochs``, ``admm_epochs``,
    ``retrain_epochs`` (its run has their sum, not ``epochs``), ``rho``, ``rho_factor``; it
    uses its own optimizer (SGD lr 0.05, no momentum or weight decay, as the original).
    ``exploitation_probe``: measure :math:`L_g` per mask update (one extra forward per update;
    off for timing runs).
    ``method_options``: extra options of a plug-in method.
    ``device``: where the run happened (not compared on resume).
    """

    dataset: str = "digits"
    cifar_root: str | None = None
    val_size: int | None = None
    split_seed: int = 0
    augment: bool | None = None

    model: str | None = None
    width: int | None = None

    method: str = "dst-ee"
    sparsity: float = 0.9
    sparsify: str = "rigl"
    distribution: str = "erk"

    epochs: int | None = None
    batch_size: int | None = None
    lr: float | None = None
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float | None = None
    lr_schedule: str = "cosine"

    update_interval: int | None = None
    end_fraction: float = 0.75
    drop_fraction: float = 0.5
    drop_schedule: str = "cosine"
    c: float = 1e-3
    c_decay: float = DST_EE_C_DECAY
    c_decay_interval: int = DST_EE_C_DECAY_INTERVAL
    eps: float = DST_EE_EPS
    pretrain_epochs: int | None = None
    admm_epochs: int | None = None
    retrain_epochs: int | None = None
    rho: float = 0.01
    rho_factor: float = 1.0
    exploitation_probe: bool = True

    method_options: dict[str, Any] = field(default_factory=dict)
    seed: int = 0
    device: str = "cpu"

    def __post_init__(self):
        if self.dataset not in IMAGE_DATASETS:
            raise ConfigError(f"dataset must be one of {', '.join(IMAGE_DATASETS)}, got {self.dataset!r}")
        ranges = {"epochs": (1, MAX_EPOCHS), "batch_size": (1, MAX_COUNT), "width": (1, MAX_WIDTH),
                  "update_interval": (1, MAX_COUNT), "c_decay_interval": (1, MAX_COUNT), "val_size": (0, MAX_COUNT),
                  "split_seed": (0, MAX_SEED), "seed": (0, MAX_SEED),
                  **{n: (0, MAX_EPOCHS) for n in ("pretrain_epochs", "admm_epochs", "retrain_epochs")}}
        for name, (low, high) in ranges.items():
            if getattr(self, name) is not None:  # None: the dataset's default
                check_int(name, getattr(self, name), low, high)
        for name in ("sparsity", "lr", "momentum", "weight_decay", "end_fraction", "drop_fraction", "c", "c_decay",
                     "eps", "rho", "rho_factor"):
            if getattr(self, name) is not None:
                check_finite(name, getattr(self, name))
        checks = [
            ("sparsity", 0 <= self.sparsity < 1, "in [0, 1)"),
            ("lr", self.lr is None or self.lr > 0, "> 0"),
            ("momentum", 0 <= self.momentum < 1, "in [0, 1)"),
            ("weight_decay", self.weight_decay is None or self.weight_decay >= 0, ">= 0"),
            ("end_fraction", 0 < self.end_fraction <= 1, "in (0, 1]"),
            ("drop_fraction", 0 <= self.drop_fraction <= 1, "in [0, 1]"),
            ("c", self.c >= 0, ">= 0"),
            ("c_decay", 0 < self.c_decay <= 1, "in (0, 1]"),
            ("eps", self.eps > 0, "> 0"),
            ("rho", self.rho > 0, "> 0"),
            ("rho_factor", self.rho_factor > 0, "> 0"),
        ]
        for name, ok, rule in checks:
            if not ok:
                raise ConfigError(f"{name} must be {rule}, got {getattr(self, name)!r}")
        if self.nesterov and self.momentum == 0:
            raise ConfigError("nesterov needs momentum > 0 (pass --no-nesterov or --momentum > 0)")
        choices = {"lr_schedule": ("cosine", "constant"), "drop_schedule": ("cosine", "constant"),
                   "distribution": ("uniform", "erk"), "sparsify": CNN_SPARSIFY_SCOPES,
                   "model": (None, *IMAGE_MODELS)}
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                shown = ", ".join(a for a in allowed if a is not None)
                raise ConfigError(f"{name} must be one of {shown}, got {getattr(self, name)!r}")
        if self.dataset.startswith("cifar"):
            if not self.cifar_root:
                raise ConfigError(f"dataset {self.dataset} needs --cifar-root DIR, the folder that holds the "
                                  f"extracted python-pickle batches ({_cifar_folder(self.dataset)}/) or that "
                                  "folder itself")
            if self.model == "digits-cnn":
                raise ConfigError("model digits-cnn is for 8x8 digits; use vgg19 or resnet50 on CIFAR")
            if self.val_size == 0:
                raise ConfigError("val_size must be >= 1 on CIFAR: the best epoch is chosen on validation")
        else:
            if self.model not in (None, "digits-cnn"):
                raise ConfigError(f"model {self.model} expects 32x32 CIFAR images; use digits-cnn on digits")
            if self.val_size is not None:
                raise ConfigError("val_size is for CIFAR; digits has a fixed, stratified 70/15/15 split")

    def resolved(self) -> "ImageRunConfig":
        """This config with every ``None`` replaced by its dataset's default (idempotent)."""
        defaults = DATASET_DEFAULTS[self.dataset]
        values = {k: v for k, v in defaults.items() if getattr(self, k) is None}
        model = values.get("model", self.model)
        if self.width is None:
            values["width"] = DEFAULT_WIDTH[model]
        return replace(self, **values) if values else self

    def run_id(self) -> str:
        """Default name: dataset, method, model, sparsify scope, sparsity, seed
        (e.g. ``digits-dst-ee-digits-cnn-rigl-s0.9-seed0``)."""
        cfg = self.resolved()
        sparsity = 0.0 if cfg.method == "dense" else cfg.sparsity
        model = cfg.model if cfg.width == DEFAULT_WIDTH[cfg.model] else f"{cfg.model}w{cfg.width}"
        name = f"{cfg.dataset}-{cfg.method}-{model}-{cfg.sparsify}-s{sparsity:g}-seed{cfg.seed}"
        return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)


def _cifar_folder(dataset: str) -> str:
    return "cifar-10-batches-py" if dataset == "cifar10" else "cifar-100-python"
