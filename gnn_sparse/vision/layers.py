r"""Which layers of a CNN are sparse, and their ERK sparsities, following RigL's convention.

**Convention (RigL, Evci et al. 2020).** The first layer (the input convolution) is *not
masked*: it stays dense and is left out of the sparsity budget, so the global sparsity
:math:`s` is the fraction of zeros among the masked weights only. Every other Conv2d kernel
(shortcut 1x1 convs included) and the last layer (the classifier ``Linear``) are masked, and
ERK shares the budget among them. Biases and BatchNorm parameters are never masked.

Source: google-research/rigl. ``rigl/cifar_resnet/resnet_train_eval.py`` defines
``prune_first_layer=False`` and ``prune_last_layer=True``;
``rigl/imagenet_resnet/imagenet_train_eval.py`` defines ``first_layer_sparsity=0``
("If 0, layer is not pruned or masked") and ``last_layer_sparsity=-1`` ("the default
sparsity is applied"). A layer that is not masked is not among the masks that the ERK
budget is solved over (``rigl/sparse_utils.py``). ITOP/GraNet-style PyTorch code masks every
conv and linear weight instead; ``prune_first_layer=True`` gives that.

The first and last layer are the first and last weight of
:func:`gnn_sparse.sparsity.select_parameters` (Conv/Linear weights in module registration
order), which for :class:`~gnn_sparse.vision.VGG`, :class:`~gnn_sparse.vision.ResNet` and
:class:`~gnn_sparse.vision.DigitsCNN` are the input conv and the classifier.
"""
from __future__ import annotations

from torch import nn

from gnn_sparse.sparsity import erk, select_parameters


def masked_layers(model: nn.Module, prune_first_layer: bool = False, prune_last_layer: bool = True) -> list[str]:
    """Names of the weights to mask, in model order (RigL's convention by default).

    Args:
        model (torch.nn.Module): the CNN.
        prune_first_layer (bool): mask the first layer too (default: ``False``, as RigL).
        prune_last_layer (bool): mask the last layer (default: ``True``, as RigL).

    :rtype: list of parameter names, to pass as ``params=`` to a sparsifier or
        :class:`baselines.ADMMPruner`.

    Raises:
        ValueError: no layer is left to mask.
    """
    names = list(select_parameters(model))
    first, last = names[0], names[-1]
    kept = [n for n in names if (prune_first_layer or n != first) and (prune_last_layer or n != last)]
    if not kept:
        raise ValueError(
            f"masked_layers: {type(model).__name__} has only {names}; with prune_first_layer="
            f"{prune_first_layer} and prune_last_layer={prune_last_layer} no layer is left to mask"
        )
    return kept


def erk_sparsities(
    model: nn.Module,
    sparsity: float,
    prune_first_layer: bool = False,
    prune_last_layer: bool = True,
    power_scale: float = 1.0,
) -> dict[str, float]:
    r"""Per-layer ERK sparsities of the masked layers of :func:`masked_layers`.

    A masked kernel of shape :math:`(n_1, \dots, n_k)` (for a conv
    :math:`(c_{out}, c_{in}, k_h, k_w)`) gets density

    .. math::
        p_l = \min\Big(1,\ \epsilon \Big(\frac{\sum_i n_i}{\prod_i n_i}\Big)^{\text{power\_scale}}\Big),
        \qquad \sum_l p_l N_l = (1 - s) \sum_l N_l,

    the sum running over the masked layers only (see :func:`gnn_sparse.sparsity.erk`).

    Use the result as the explicit distribution of a sparsifier or ADMM pruner, with the
    same names as ``params``::

        dist = erk_sparsities(model, 0.9)
        sparsifier = DSTEE(model, optimizer, distribution=dist, params=list(dist), ...)

    Args:
        model (torch.nn.Module): the CNN.
        sparsity (float): global sparsity :math:`s \in [0, 1)` of the masked weights.
        prune_first_layer (bool): as in :func:`masked_layers` (default: ``False``).
        prune_last_layer (bool): as in :func:`masked_layers` (default: ``True``).
        power_scale (float): ERK exponent (default: ``1.0``).

    :rtype: ``{parameter name: sparsity}``, ``0.0`` for layers that ERK makes dense.
    """
    params = dict(model.named_parameters())
    names = masked_layers(model, prune_first_layer, prune_last_layer)
    return erk({n: tuple(params[n].shape) for n in names}, sparsity, power_scale=power_scale)


CNN_SPARSIFY_SCOPES = ("rigl", "all")
"""``--sparsify`` scopes of the image runner: ``rigl`` masks every Conv/Linear weight but the
first (RigL's convention, the default); ``all`` masks the first layer too (ITOP/GraNet-style)."""


class SparsifiableCNN:
    """Mixin giving a CNN the ``sparsifiable(scope)`` method that the trainer's methods
    (:mod:`gnn_sparse.training.methods`) call to choose the weights to mask."""

    def sparsifiable(self, scope: str = "rigl") -> list[str]:
        """Names of the weights to mask under ``scope`` (:data:`CNN_SPARSIFY_SCOPES`), in model order.

        Raises:
            ValueError: an unknown scope.
        """
        if scope not in CNN_SPARSIFY_SCOPES:
            raise ValueError(f"{type(self).__name__}.sparsifiable: scope must be one of "
                             f"{', '.join(CNN_SPARSIFY_SCOPES)}, got {scope!r}")
        return masked_layers(self, prune_first_layer=scope == "all")
