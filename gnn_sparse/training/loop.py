"""One training epoch and one evaluation: no globals, everything on the model's device."""
from __future__ import annotations

from typing import Any, Callable

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.profiler import record_function

from gnn_sparse.training.distributed import SINGLE_PROCESS, SingleProcess, unwrap
from gnn_sparse.training.methods import Method
from gnn_sparse.training.metrics import link_metrics
from gnn_sparse.training.ranking import RankingCandidates, evaluate_ranking
from gnn_sparse.utils.denormals import flush_denormals

EVAL_CHUNK = 1 << 16
"""Pairs scored per forward pass of the head at evaluation (bounds memory on big splits)."""


def train_epoch(model, graph, pairs: Tensor, labels: Tensor, optimizer: torch.optim.Optimizer,
                method: Method, batch_size: int, generator: torch.Generator,
                on_batch: Callable[[], None] | None = None, shard: SingleProcess = SINGLE_PROCESS,
                sampling: tuple[Any, torch.Generator] | None = None) -> float:
    r"""One pass over the labelled training pairs in a random order; returns the mean BCE.

    Every mini-batch recomputes the full-graph encoder (or, with ``sampling``, the encoder
    on its sampled computation graph), so the GNN weights and node embeddings are trained
    end to end with exact gradients:

    .. math::
        \mathcal{L} = \frac{1}{|B|}\sum_{(u,v) \in B} \mathrm{BCE}\big(\hat y_{uv}(\mathrm{Enc}(E, \mathcal{G})), y_{uv}\big)
        + \mathrm{penalty}

    Args:
        model: a :class:`~gnn_sparse.models.LinkPredictor` (or anything with ``forward(graph, pairs)``),
            possibly wrapped in ``DistributedDataParallel`` (``method.penalty`` gets the inner module).
        graph: the prepared message-passing graph, on the model's device.
        pairs: ``[2, P]`` node pairs and ``labels`` ``[P]`` 0/1, on the model's device.
        optimizer: the phase's optimizer; ``method.observe_step(loss, closure)`` (the
            exploitation probe) and ``method.after_step()`` run after each step.
        method: supplies ``penalty(model)``, ``observe_step(...)`` and ``after_step()``.
        batch_size: labelled pairs per step (the global batch, all ranks together).
        generator: CPU generator of the shuffling order (checkpointed by the runner); under
            ``torchrun`` it must draw the same order on every rank.
        on_batch: called after each step (progress bars).
        shard: which part of each global batch this process trains on, and the weight of its
            mean loss (default: all of it; see :mod:`~gnn_sparse.training.distributed`).
        sampling: ``(sampler, generator)`` to encode only each batch's sampled computation
            graph (:class:`~gnn_sparse.models.sampling.NeighborSampler`; ``graph`` is then its
            graph) instead of the full graph; each process samples its own share.

    Each part of a step is labelled for :mod:`torch.profiler` (``train.sample``,
    ``train.forward``, ``train.backward``, ``train.optimizer``, ``train.method``: the mask
    update and the exploitation probe), so a profile says where a step's time goes
    (``benchmarks/bench_scale.py``, stage ``gcn-ddp``).
    """
    model.train()
    order = torch.randperm(pairs.size(1), generator=generator).to(pairs.device)
    total = torch.zeros((), device=pairs.device)
    for start in range(0, pairs.size(1), batch_size):
        idx, weight = shard.local(order[start:start + batch_size])
        optimizer.zero_grad(set_to_none=True)
        with record_function("train.sample"):
            inputs = (graph, pairs[:, idx]) if sampling is None else sampling[0].sample_pairs(pairs[:, idx], sampling[1])
        with record_function("train.forward"):
            logits = model(*inputs)
            loss = _bce(logits, labels[idx])
            weighted = loss if weight == 1.0 or not idx.numel() else loss * weight
            penalty = method.penalty(unwrap(model))
        with record_function("train.backward"):  # under torchrun: DDP's gradient all-reduce included
            (weighted if penalty is None else weighted + penalty).backward()
        with record_function("train.optimizer"):
            optimizer.step()
        with record_function("train.method"):
            method.observe_step(loss, lambda idx=idx, inputs=inputs: _bce(unwrap(model)(*inputs), labels[idx]))
            method.after_step()
        total += loss.detach() * idx.numel()
        if on_batch is not None:
            on_batch()
    return float(shard.all_sum(total)) / pairs.size(1)


def _bce(logits: Tensor, labels: Tensor) -> Tensor:
    """The mean BCE; an empty share of a last batch smaller than the world has no loss, but
    DDP needs a backward: ``logits.sum()`` (0) then."""
    return F.binary_cross_entropy_with_logits(logits, labels) if labels.numel() else logits.sum()


@torch.no_grad()
def predict(model, graph, pairs: Tensor, chunk: int = EVAL_CHUNK) -> Tensor:
    """Logits of ``pairs`` (``[2, P]``); the encoder runs once, the head in chunks."""
    model.eval()
    return _decode_in_chunks(model, model.encode(graph), pairs, chunk)


def _decode_in_chunks(model, z: Tensor, pairs: Tensor, chunk: int = EVAL_CHUNK) -> Tensor:
    return torch.cat([model.decode(z, pairs[:, i:i + chunk]) for i in range(0, pairs.size(1), chunk)])


@torch.no_grad()
def evaluate(model, graph, pairs: Tensor, labels: Tensor,
             ranking: RankingCandidates | None = None) -> dict[str, float | None]:
    """Accuracy (%), ROC-AUC and AP of the model on labelled pairs (see :func:`link_metrics`),
    and with ``ranking`` MRR and Hits@k of the split's positives against their negatives
    (:mod:`~gnn_sparse.training.ranking`); the encoder runs once for both. Denormal floats
    are flushed to zero meanwhile (:mod:`~gnn_sparse.utils.denormals`: decayed weights of
    pruned units would make it up to 10x slower)."""
    model.eval()
    with flush_denormals():
        z = model.encode(graph)
        metrics = link_metrics(_decode_in_chunks(model, z, pairs), labels)
        if ranking is not None:
            metrics.update(evaluate_ranking(model, z, ranking))
    return metrics
