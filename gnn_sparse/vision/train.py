r"""One training epoch and one evaluation pass for image classifiers.

Per batch :math:`(x, y)` of size :math:`B`, the training step is

.. math::
    \ell = h\Big(\frac{1}{B} \sum_i \mathrm{CE}(f_\theta(x_i), y_i)\Big), \qquad
    \theta \leftarrow \text{optimizer}(\theta, \nabla_\theta \ell), \qquad
    \text{sparsifier.step()}

with :math:`h` the optional ``loss_hook`` (identity by default; ``ADMMRunner.add_penalty``
for ADMM). The loop knows nothing about checkpoints or logging; a runner wraps it.
"""
from __future__ import annotations

import time
from typing import Callable, Iterable, Protocol

import torch
from torch import nn

from gnn_sparse.training.distributed import SINGLE_PROCESS, SingleProcess, unwrap


class Steppable(Protocol):
    """Anything called once after every ``optimizer.step()``: a
    :class:`~gnn_sparse.sparsity.DynamicSparsifier` or a :class:`baselines.ADMMRunner`."""

    def step(self) -> None: ...


def train_epoch(
    model: nn.Module,
    loader: Iterable[tuple[torch.Tensor, torch.Tensor]],
    optimizer: torch.optim.Optimizer,
    sparsifier: Steppable | None,
    device: torch.device | str,
    loss_hook: Callable[[torch.Tensor], torch.Tensor] | None = None,
    shard: SingleProcess = SINGLE_PROCESS,
    probe: Callable[[torch.Tensor, Callable[[], torch.Tensor]], None] | None = None,
) -> dict[str, float]:
    """Train ``model`` for one pass over ``loader``.

    Each batch: ``zero_grad``, cross-entropy (through ``loss_hook``), ``backward``,
    ``optimizer.step()``, then ``sparsifier.step()`` when a sparsifier is given. The model
    is put in train mode.

    Args:
        model (torch.nn.Module): the classifier, already on ``device``.
        loader (iterable): ``(images, labels)`` batches, e.g. :class:`ImageBatches`.
        optimizer (torch.optim.Optimizer): the optimizer of ``model``.
        sparsifier (optional): called after every optimizer step (``None`` for dense training).
        device (torch.device or str): where the batches go.
        loss_hook (callable, optional): maps the mean batch loss to the loss that is
            back-propagated (e.g. ``runner.add_penalty``); the reported ``loss`` is the
            cross-entropy before the hook.
        shard: under ``torchrun``, which part of each (global) batch this process trains on
            and the weight of its mean loss (default: all of it, weight 1; see
            :mod:`gnn_sparse.training.distributed`). ``loader`` must then yield the same
            batches on every rank; ``model`` is the DDP-wrapped module.
        probe (callable, optional): ``probe(loss, closure)`` after each ``optimizer.step()``
            and before ``sparsifier.step()``, ``closure()`` recomputing the batch's loss with
            the current weights (the exploitation probe,
            :class:`~gnn_sparse.sparsity.exploitation.ExploitationProbe`; e.g.
            ``method.observe_step``).

    Returns:
        ``{"loss": mean cross-entropy, "accuracy": fraction correct (under the weights as
        they were at each forward pass), "samples": int, "steps": int, "seconds": float}``,
        over all ranks' shares (``shard.all_sum``).

    Raises:
        ValueError: ``loader`` yields no batch.
        FloatingPointError: the loss is not finite.
    """
    model.train()
    device = torch.device(device)
    total_loss = torch.zeros((), dtype=torch.float64, device=device)
    correct = torch.zeros((), dtype=torch.long, device=device)
    samples = steps = 0
    start = time.perf_counter()
    for x, y in loader:
        global_size = len(y)
        idx, weight = shard.local(torch.arange(global_size))
        if idx.numel() != global_size:
            x, y = x[idx], y[idx]
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        optimizer.zero_grad(set_to_none=True)
        logits = model(x)
        loss = _cross_entropy(logits, y)
        weighted = loss if weight == 1.0 or not len(y) else loss * weight  # |B_r| W / |B|: DDP's average = global mean
        (loss_hook(weighted) if loss_hook is not None else weighted).backward()
        optimizer.step()
        if probe is not None:  # on every rank, even with an empty share: the probe's state must agree
            probe(loss, lambda x=x, y=y: _cross_entropy(unwrap(model)(x), y))
        if sparsifier is not None:
            sparsifier.step()
        total_loss += loss.detach() * len(y)
        correct += (logits.detach().argmax(1) == y).sum()
        samples += global_size
        steps += 1
    return _finish("train_epoch", shard.all_sum(total_loss), shard.all_sum(correct), samples,
                   start) | {"steps": steps}


def _cross_entropy(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The mean cross-entropy; an empty share of a last batch smaller than the world has no
    loss, but DDP needs a backward: ``logits.sum()`` (0) then."""
    return nn.functional.cross_entropy(logits, y) if len(y) else logits.sum()


@torch.no_grad()
def evaluate(
    model: nn.Module, loader: Iterable[tuple[torch.Tensor, torch.Tensor]], device: torch.device | str
) -> dict[str, float]:
    """Mean cross-entropy and accuracy of ``model`` on ``loader`` in eval mode (BatchNorm
    uses running statistics); the model's train/eval mode is restored afterwards.

    Returns:
        ``{"loss": float, "accuracy": float, "samples": int, "seconds": float}``.

    Raises:
        ValueError: ``loader`` yields no batch.
        FloatingPointError: the loss is not finite.
    """
    was_training = model.training
    model.eval()
    device = torch.device(device)
    total_loss = torch.zeros((), dtype=torch.float64, device=device)
    correct = torch.zeros((), dtype=torch.long, device=device)
    samples = 0
    start = time.perf_counter()
    try:
        for x, y in loader:
            x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
            logits = model(x)
            total_loss += nn.functional.cross_entropy(logits, y, reduction="sum")
            correct += (logits.argmax(1) == y).sum()
            samples += len(y)
    finally:
        model.train(was_training)
    return _finish("evaluate", total_loss, correct, samples, start)


def _finish(owner: str, total_loss: torch.Tensor, correct: torch.Tensor, samples: int, start: float) -> dict:
    if samples == 0:
        raise ValueError(f"{owner}: the loader yielded no batch")
    loss = float(total_loss) / samples  # the only host-device synchronisation of the pass
    if loss != loss or loss in (float("inf"), float("-inf")):
        raise FloatingPointError(f"{owner}: the mean loss is not finite ({loss})")
    return {"loss": loss, "accuracy": int(correct) / samples, "samples": samples,
            "seconds": time.perf_counter() - start}
