"""Run one image-classification configuration end to end: data, model, method, epochs,
checkpoints, results, with the link-prediction trainer's machinery.

Reused from :mod:`gnn_sparse.training`: the pluggable methods and their protocol
(:mod:`~gnn_sparse.training.methods`, ADMM from :mod:`baselines.link_prediction`), the run
options, the finished-run and resume checks and their errors
(:mod:`~gnn_sparse.training.runner`), the atomic checkpoints
(:mod:`~gnn_sparse.training.checkpoint`) and the results JSON, its required keys and the
``index.jsonl`` (:mod:`~gnn_sparse.training.results`). What is specific to images: the
data (:mod:`~gnn_sparse.vision.data`), the models, the batch loop
(:func:`~gnn_sparse.vision.train_epoch`) and the metrics (:mod:`~gnn_sparse.vision.metrics`).

Per epoch: one pass over the training images (order and augmentation seeded by
``(seed, epoch)`` in :class:`~gnn_sparse.vision.ImageBatches`, so nothing about the data
order has to be checkpointed), the LR-scheduler step, validation and test evaluation, then
an atomic checkpoint (model, optimizer, scheduler, method state, RNG state, the epoch log).
Under ``torchrun`` the hooks of :mod:`gnn_sparse.training.distributed` make it data-parallel
(DDP; ``--batch-size`` is the global batch, every rank trains on its share of each batch,
rank 0 alone writes; see ``docs/distributed.md``).
The best epoch is chosen on validation accuracy (ties: macro AUC) among selectable epochs,
and its test metrics are reported. A resumed run's results equal an uninterrupted run's
(CPU).
"""
from __future__ import annotations

import hashlib
import time
from dataclasses import replace
from datetime import datetime, timezone
from typing import Any, Callable

import torch

from gnn_sparse.sparsity.flops import count_forward_flops
from gnn_sparse.training.config import ConfigError
from gnn_sparse.training.device import describe_device
from gnn_sparse.training.distributed import data_parallel
from gnn_sparse.training.epochs import EpochLoop
from gnn_sparse.training.flops import run_flops
from gnn_sparse.training.results import build_results, checkpoint_path, write_results
from gnn_sparse.training.run_files import metrics_path
from gnn_sparse.training.lifecycle import RunOptions, begin_run, run_lock
from gnn_sparse.training.runner import layer_sparsity
from gnn_sparse.vision.augment import random_crop_flip
from gnn_sparse.vision.batches import ImageBatches
from gnn_sparse.vision.config import DEFAULT_WIDTH, ImageRunConfig
from gnn_sparse.vision.data import ImageSplits, load_cifar, load_digits_splits
from gnn_sparse.vision.digits_cnn import DigitsCNN
from gnn_sparse.vision.methods import build_image_method
from gnn_sparse.vision.metrics import evaluate_split
from gnn_sparse.vision.resnet import ResNet
from gnn_sparse.vision.train import train_epoch
from gnn_sparse.vision.vgg import VGG, VGG19_CFG
from gnn_sparse.utils.memory import PeakMemory

EVAL_BATCH = 1000
"""Images per forward pass at evaluation."""

__all__ = ["run_image", "load_image_splits", "build_image_model", "RunOptions", "EVAL_BATCH"]


def load_image_splits(config: ImageRunConfig) -> ImageSplits:
    """The train / val / test splits of ``config`` (:class:`ConfigError` naming the expected
    files when CIFAR is not found)."""
    data = config.resolved().data
    if data.dataset == "digits":
        return load_digits_splits(seed=data.split_seed)
    try:
        return load_cifar(data.cifar_root, 10 if data.dataset == "cifar10" else 100,
                          val_size=data.val_size, seed=data.split_seed)
    except FileNotFoundError as err:
        raise ConfigError(str(err).removeprefix("load_cifar: ")) from None
    except ValueError as err:
        raise ConfigError(str(err)) from None


def build_image_model(config: ImageRunConfig, num_classes: int, in_channels: int) -> torch.nn.Module:
    """The model of ``config``: DigitsCNN, VGG-19 or ResNet-50 (CIFAR forms), every layer
    scaled by ``width`` relative to the standard width."""
    net = config.resolved().network
    if net.model == "digits-cnn":
        return DigitsCNN(num_classes, in_channels, net.width)
    scale = net.width / DEFAULT_WIDTH[net.model]
    if net.model == "vgg19":
        cfg = [c if c == "M" else max(1, round(c * scale)) for c in VGG19_CFG]
        return VGG(cfg, num_classes=num_classes, in_channels=in_channels)
    return ResNet((3, 4, 6, 3), num_classes=num_classes, in_channels=in_channels, width=net.width)


class _AfterStep:
    """Adapts a method to :func:`~gnn_sparse.vision.train_epoch`'s ``sparsifier`` argument."""

    def __init__(self, method):
        self.method = method

    def step(self) -> None:
        self.method.after_step()


def run_image(config: ImageRunConfig, options: RunOptions = RunOptions(), splits: ImageSplits | None = None,
              on_epoch_end: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """Train, evaluate and record one image-classification run; return its results dict.

    Args:
        config: what to run (``None`` options take the dataset's defaults; ``device`` may be
            ``auto``; the resolved values are recorded).
        options: how to run (results folder, run name, resume, force, quiet).
        splits: already loaded data for ``config`` (default: :func:`load_image_splits`).
        on_epoch_end: called with each epoch's record after its checkpoint is written.

    Raises:
        ConfigError: bad options, missing CIFAR files, an unwritable results folder, a
            finished or checkpointed run with a different config, or an existing checkpoint
            without ``resume``/``force``.
    """
    started = time.perf_counter()
    config = config.resolved()
    dp = data_parallel(config.device, config.optim.batch_size)  # under torchrun: process group, this rank's device
    device = dp.device
    if not dp.is_writer:
        options = replace(options, quiet=True)  # progress and notes from rank 0 only
    config = config.resolved().updated(device=str(device))
    method = build_image_method(config)
    run_id = options.run_name or config.run_id()
    data = splits if splits is not None else load_image_splits(config)  # missing files: fail before any write
    if data.val is None:
        raise ConfigError(f"{config.data.dataset}: no validation split (the best epoch is chosen on validation)")
    with run_lock(options, run_id, dp):  # a second process of this run waits, then reuses it
        done, ckpt = begin_run(options, run_id, config, dp, "image-classification")
        if done is not None:
            return done
        memory = PeakMemory(device)

        torch.manual_seed(config.seed)
        model = build_image_model(config, data.num_classes, data.in_channels).to(device)
        train = ImageBatches(data.train, config.optim.batch_size, shuffle=True,
                             augment=random_crop_flip if config.data.augment else None, seed=config.seed)
        val, test = ImageBatches(data.val, EVAL_BATCH), ImageBatches(data.test, EVAL_BATCH)
        steps_per_epoch = len(train)
        rng_holder = torch.Generator()  # the batches need no RNG state; the global torch RNG is saved

        after_step = _AfterStep(method)
        if hasattr(method, "bind_validation"):  # ADMM logs the validation accuracy of the pruned model
            method.bind_validation(lambda: evaluate_split(model, val, device))

        def loss_hook(loss: torch.Tensor) -> torch.Tensor:
            penalty = method.penalty(model)
            return loss if penalty is None else loss + penalty

        def train_one(train_model, optimizer, epoch: int) -> dict[str, Any]:
            train.set_epoch(epoch)
            stats = train_epoch(train_model, train, optimizer, after_step, device, loss_hook=loss_hook, shard=dp,
                                probe=method.observe_step)
            return {"train_loss": stats["loss"], "train_accuracy": 100.0 * stats["accuracy"]}

        loop = EpochLoop(method, model, dp, steps_per_epoch, rng_holder, checkpoint_path(options.results_dir, run_id),
                         {"run_id": run_id, "config": config.to_dict()}, desc=run_id, quiet=options.quiet,
                         started=started, metrics_file=metrics_path(options.results_dir, run_id))
        history = loop.run(
            train_one,
            lambda: {"val": evaluate_split(model, val, device), "test": evaluate_split(model, test, device)},
            ckpt=ckpt, on_epoch_end=on_epoch_end)
        elapsed_before = loop.elapsed_before
        resumed_from = None if ckpt is None else len(ckpt["history"])
        report = method.report()
        flops = _flops(model, method, history, data, config.optim.batch_size, device, report)

        results = build_results(
            run_id=run_id, config=config.to_dict(), method_name=config.sparse.method,
            target_sparsity=method.target_sparsity, dataset=_dataset_info(config, data, model), history=history,
            layer_sparsity=layer_sparsity(model, config.sparse.sparsify), method_report=report,
            wall_time_s=elapsed_before + time.perf_counter() - started, device=describe_device(device),
            extra={"task": "image-classification", "steps_per_epoch": steps_per_epoch,
                   "threads": torch.get_num_threads(), **dp.describe(), "resumed_from_epoch": resumed_from,
                   "train_flops_ratio": flops["train_ratio"], "inference_flops_ratio": flops["inference_ratio"],
                   "flops": flops, "peak_memory": memory.read(),
                   "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds")},
        )
        dp.on_writer(lambda: write_results(options.results_dir, results))
        return results


def _flops(model, method, history, data: ImageSplits, batch_size: int, device, report) -> dict[str, Any]:
    """FLOPs per image, counted from the layers' shapes on one image (eval mode), times the
    training images per epoch and the batch per step; inference is per image, as in the
    paper's Table II (:mod:`gnn_sparse.training.flops`)."""
    was_training = model.training
    model.eval()
    x, _ = data.val.batch(torch.arange(1), None, torch.Generator())
    try:
        image = count_forward_flops(model, lambda: model(x.to(device)))
    finally:
        model.train(was_training)
    epoch = {k: f * len(data.train) for k, f in image.items()}
    step = {k: f * batch_size for k, f in image.items()}
    probe = (report.get("exploitation_probe") or {}).get("forwards", 0)
    flops = run_flops(method, history, epoch, step, image, probe)
    flops["inference_unit"] = "one image"
    return flops


def _dataset_info(config: ImageRunConfig, data: ImageSplits, model: torch.nn.Module) -> dict[str, Any]:
    """Sizes, the model's size and a sha256 of the split tensors (the data fingerprint)."""
    digest = hashlib.sha256()
    for split in (data.train, data.val, data.test):
        digest.update(split.images.contiguous().numpy().tobytes())
        digest.update(split.labels.contiguous().numpy().tobytes())
    masked = model.sparsifiable(config.sparse.sparsify)
    params = dict(model.named_parameters())
    return {
        "name": config.data.dataset, "sha256": digest.hexdigest(),
        "source_path": config.data.cifar_root if config.data.dataset != "digits" else "sklearn.datasets.load_digits",
        "num_classes": data.num_classes, "image_shape": list(data.train.images.shape[1:]),
        "train_images": len(data.train), "val_images": len(data.val), "test_images": len(data.test),
        "model": config.network.model, "width": config.network.width,
        "parameters": sum(p.numel() for p in model.parameters()),
        "masked_layers": masked, "masked_weights": sum(params[n].numel() for n in masked),
    }
