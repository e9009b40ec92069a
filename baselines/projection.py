r"""Euclidean projection onto the tensors with at most :math:`k` non-zeros.

The ADMM pruner's :math:`Z`-update and its hard pruning both keep the :math:`k` entries of
largest magnitude. Selection is an exact ``torch.topk``, never a threshold, so ties cannot
keep more (or fewer) than :math:`k` entries.
"""
from __future__ import annotations

import torch


def keep_count(numel: int, sparsity: float) -> int:
    r"""Number of entries a layer of ``numel`` weights keeps at ``sparsity``.

    .. math::
        k = \operatorname{round}\big((1 - s)\, N\big)

    (the same rounding as the sparse-training core, so a baseline and a sparse run of the
    same layer have the same number of non-zeros).

    Raises:
        ValueError: ``sparsity`` is outside :math:`[0, 1)`.
    """
    if not 0.0 <= sparsity < 1.0:
        raise ValueError(f"keep_count: sparsity must be in [0, 1), got {sparsity!r}")
    return round((1.0 - sparsity) * numel)


def magnitude_mask(weight: torch.Tensor, k: int) -> torch.Tensor:
    r"""Boolean mask of the ``k`` entries of ``weight`` with the largest :math:`|w|`.

    Exactly ``k`` entries are ``True``; every kept :math:`|w|` is :math:`\ge` every dropped
    one. Among equal magnitudes at the boundary ``torch.topk`` decides, deterministically
    for a given input and device.

    Args:
        weight (torch.Tensor): a tensor of any shape.
        k (int): number of entries to keep, :math:`0 \le k \le` ``weight.numel()``.

    :rtype: :class:`torch.Tensor` (``bool``, the shape and device of ``weight``)

    Raises:
        ValueError: ``k`` is out of range.
    """
    numel = weight.numel()
    if not 0 <= k <= numel:
        raise ValueError(f"magnitude_mask: k must be in [0, {numel}], got {k}")
    mask = torch.zeros(numel, dtype=torch.bool, device=weight.device)
    if k > 0:
        mask[torch.topk(weight.detach().reshape(-1).abs(), k, sorted=False).indices] = True
    return mask.view(weight.shape)


def project(weight: torch.Tensor, k: int) -> torch.Tensor:
    r"""Project ``weight`` onto :math:`S_k = \{Z : \|Z\|_0 \le k\}` in the Frobenius norm.

    .. math::
        \Pi_k(W) = \arg\min_{Z \in S_k} \|Z - W\|_F = W \odot M_k(W),

    where :math:`M_k(W)` keeps the :math:`k` largest :math:`|w|` (:func:`magnitude_mask`).
    A new tensor is returned (detached from autograd); ``weight`` is not changed.

    Example:
        >>> project(torch.tensor([0.5, -3.0, 1.0, 2.0]), 2)
        tensor([ 0., -3.,  0.,  2.])
    """
    weight = weight.detach()
    return torch.where(magnitude_mask(weight, k), weight, torch.zeros((), dtype=weight.dtype, device=weight.device))
