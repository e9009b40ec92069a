"""The configuration of one image-classification run: its groups, their defaults and checks.

:class:`ImageRunConfig` shares the optimisation, sparsity and ADMM groups
(:class:`~gnn_sparse.training.config_groups.OptimConfig`, ``SparsityConfig``,
``AdmmConfig``) with the link-prediction :class:`~gnn_sparse.training.RunConfig`, so the
trainer's pluggable methods (:mod:`gnn_sparse.training.methods`: dense, DST-EE, RigL, SET,
static) and the ADMM baseline run on it unchanged; data and model are its own groups.
Options left ``None`` take their dataset's default (:data:`DATASET_DEFAULTS`) in
:meth:`ImageRunConfig.resolved`; the resolved values are what the results JSON records and
what resume compares.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from gnn_sparse.training.config_checks import (
    MAX_COUNT,
    MAX_SEED,
    MAX_WIDTH,
    ConfigError,
    check_choice,
    check_fields,
    check_int,
)
from gnn_sparse.training.config_groups import AdmmConfig, GroupedConfig, OptimConfig, SparsityConfig, method_label
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
"""Per-dataset defaults of the options that are ``None`` in :class:`ImageRunConfig` (flat keys)."""


@dataclass(frozen=True)
class ImageDataConfig:
    """The images and their split: ``dataset`` (``digits``, ``cifar10``, ``cifar100``),
    ``cifar_root`` (folder of the python-pickle batches, required for CIFAR), ``val_size``
    (CIFAR training images held out for validation; digits always uses its fixed 70/15/15
    split), ``split_seed`` (seeds the split, fixed across runs so every method and seed sees
    the same test set), ``augment`` (random crop with 4-pixel padding and horizontal flip)."""

    dataset: str = "digits"
    cifar_root: str | None = None
    val_size: int | None = None
    split_seed: int = 0
    augment: bool | None = None

    def __post_init__(self):
        check_choice("dataset", self.dataset, IMAGE_DATASETS)
        check_fields(self, ints={"val_size": (0, MAX_COUNT), "split_seed": (0, MAX_SEED)}, unset=("val_size",))
        if self.dataset.startswith("cifar"):
            if not self.cifar_root:
                raise ConfigError(f"dataset {self.dataset} needs --cifar-root DIR, the folder that holds the "
                                  f"extracted python-pickle batches ({_cifar_folder(self.dataset)}/) or that "
                                  "folder itself")
            if self.val_size == 0:
                raise ConfigError("val_size must be >= 1 on CIFAR: the best epoch is chosen on validation")
        elif self.val_size is not None:
            raise ConfigError("val_size is for CIFAR; digits has a fixed, stratified 70/15/15 split")


@dataclass(frozen=True)
class ImageModelConfig:
    """The CNN: ``model`` (``digits-cnn``, ``vgg19``, ``resnet50``), ``width`` (channels of
    the first conv; VGG-19 and ResNet-50 scale every layer by ``width / 64``)."""

    model: str | None = None
    width: int | None = None

    def __post_init__(self):
        check_fields(self, ints={"width": (1, MAX_WIDTH)}, choices={"model": (None, *IMAGE_MODELS)}, unset=("width",))


@dataclass(frozen=True)
class ImageRunConfig(GroupedConfig):
    """Everything that determines an image-classification run's result, in groups: ``data``
    (:class:`ImageDataConfig`), ``network`` (:class:`ImageModelConfig`), ``optim``,
    ``sparse``, ``admm`` (the link-prediction runner's groups, with the image defaults
    below); plus ``seed`` and ``device`` (where the run happened; not compared on resume).

    Build it from flat options, ``ImageRunConfig.from_dict({"method": "rigl", "epochs": 2})``.
    ``sparse.sparsify``: ``rigl`` (every Conv/Linear weight but the first layer, RigL's
    convention) or ``all`` (the first layer too); ``sparse.distribution`` defaults to ``erk``.
    ADMM uses its own optimizer (SGD lr 0.05, no momentum or weight decay, as the original)
    unless ``admm_optimizer="run"``.
    ``None`` values take their dataset's default in :meth:`resolved`.
    """

    data: ImageDataConfig = field(default_factory=ImageDataConfig)
    network: ImageModelConfig = field(default_factory=ImageModelConfig)
    optim: OptimConfig = field(default_factory=lambda: OptimConfig(
        epochs=None, batch_size=None, lr=None, weight_decay=None))
    sparse: SparsityConfig = field(default_factory=lambda: SparsityConfig(
        sparsify="rigl", distribution="erk", update_interval=None, c=1e-3))
    admm: AdmmConfig = field(default_factory=lambda: AdmmConfig(
        pretrain_epochs=None, admm_epochs=None, retrain_epochs=None))
    seed: int = 0
    device: str = "cpu"

    def __post_init__(self):
        check_int("seed", self.seed, 0, MAX_SEED)
        check_choice("sparsify", self.sparse.sparsify, CNN_SPARSIFY_SCOPES)
        model = self.network.model
        if self.data.dataset.startswith("cifar"):
            if model == "digits-cnn":
                raise ConfigError("model digits-cnn is for 8x8 digits; use vgg19 or resnet50 on CIFAR")
        elif model not in (None, "digits-cnn"):
            raise ConfigError(f"model {model} expects 32x32 CIFAR images; use digits-cnn on digits")

    def resolved(self) -> "ImageRunConfig":
        """This config with every ``None`` replaced by its dataset's default (idempotent)."""
        flat = self.to_dict()
        values = {k: v for k, v in DATASET_DEFAULTS[self.data.dataset].items() if flat[k] is None}
        if flat["width"] is None:
            values["width"] = DEFAULT_WIDTH[values.get("model", flat["model"])]
        return self.updated(**values) if values else self

    def run_id(self) -> str:
        """Default name: dataset, method, model, sparsify scope, sparsity, seed
        (e.g. ``digits-dst-ee-digits-cnn-rigl-s0.9-seed0``)."""
        cfg = self.resolved()
        sparse, net = cfg.sparse, cfg.network
        sparsity = 0.0 if sparse.method == "dense" else sparse.sparsity
        model = net.model if net.width == DEFAULT_WIDTH[net.model] else f"{net.model}w{net.width}"
        name = f"{cfg.data.dataset}-{method_label(sparse, cfg.admm)}-{model}-{sparse.sparsify}-s{sparsity:g}-seed{cfg.seed}"
        return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)


def _cifar_folder(dataset: str) -> str:
    return "cifar-10-batches-py" if dataset == "cifar10" else "cifar-100-python"
