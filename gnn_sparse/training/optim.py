r"""SGD whose sparse-gradient parameters (a node embedding trained on sampled batches) are
updated lazily: only the rows a step touched.

Why: at wiki-talk size the embedding is 1.14M x 64 = 73M floats. Dense SGD with momentum,
Nesterov and weight decay reads and writes all of them (and the momentum buffer) every step,
although a sampled batch touches a few thousand rows; that dense pass alone costs more than
the rest of a sampled step (``benchmarks/bench_scale.py``, stage ``embedding``). With a
sparse gradient :math:`g` on rows :math:`R`, for :math:`r \in R` only:

.. math::
    d_r = g_r + \lambda w_r, \qquad b_r \leftarrow \mu b_r + d_r, \qquad
    w_r \leftarrow w_r - \eta\,(d_r + \mu b_r \text{ (Nesterov) or } b_r)

which is exactly SGD's update on those rows; untouched rows keep their weight and momentum
(the *lazy* approximation of TensorFlow's LazyAdam: dense SGD would keep moving them by their
momentum and shrink them by weight decay every step). Dense-gradient parameters get
:class:`torch.optim.SGD`'s own update, so state dicts, LR schedulers and the sparsifier's
optimizer-state reset work unchanged.

With numba installed, float32 CPU rows are updated in one compiled pass
(:mod:`~gnn_sparse.training.sgd_rows_numba`: the same floats as the torch ops, checked on
first use), otherwise by those torch ops.
"""
from __future__ import annotations

import warnings
from functools import cache

import torch


class LazySGD(torch.optim.SGD):
    """:class:`torch.optim.SGD` plus lazy row updates for sparse gradients (module docstring).

    Takes SGD's arguments; ``dampening`` and ``maximize`` must keep their defaults for the
    sparse parameters.
    """

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        sparse = [p for group in self.param_groups for p in group["params"] if p.grad is not None and p.grad.is_sparse]
        grads = [p.grad for p in sparse]
        for p in sparse:  # hide them from SGD's dense update
            p.grad = None
        try:
            super().step()
        finally:
            for p, g in zip(sparse, grads):
                p.grad = g
        hidden = {id(p) for p in sparse}
        for group in self.param_groups:
            if group["dampening"] or group["maximize"]:
                if any(id(p) in hidden for p in group["params"]):
                    raise ValueError(f"'{type(self).__name__}' supports sparse gradients only with "
                                     "dampening=0 and maximize=False")
            for p in group["params"]:
                if id(p) in hidden:
                    self._lazy_update(p, group)
        return loss

    def _lazy_update(self, p: torch.Tensor, group: dict) -> None:
        rows, values = touched_rows(p.grad)
        momentum = group["momentum"]
        buf = None
        if momentum:
            state = self.state[p]
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = torch.zeros_like(p)
        kernel = _fused_kernel() if _fusable(p, buf, rows, values) else None
        (kernel or sgd_rows)(p, p.new_empty(0, 0) if buf is None else buf, rows, values, group["lr"], momentum,
                             group["weight_decay"], group["nesterov"])


def sgd_rows(weight: torch.Tensor, buf: torch.Tensor, rows: torch.Tensor, values: torch.Tensor, lr: float,
             momentum: float, weight_decay: float, nesterov: bool) -> None:
    """SGD's update on rows ``rows`` (distinct) of ``weight`` and of its momentum ``buf``
    (unused when ``momentum`` is 0), in place, with gradient rows ``values``: the torch ops
    the compiled pass reproduces."""
    weights = weight.index_select(0, rows)
    if weight_decay:
        values = values.add(weights, alpha=weight_decay)
    if momentum:
        rows_buf = buf.index_select(0, rows).mul_(momentum).add_(values)
        buf.index_copy_(0, rows, rows_buf)
        values = values.add(rows_buf, alpha=momentum) if nesterov else rows_buf
    weight.index_copy_(0, rows, weights.add_(values, alpha=-lr))


def _fusable(p: torch.Tensor, buf: torch.Tensor | None, rows: torch.Tensor, values: torch.Tensor) -> bool:
    """Whether the compiled pass applies: 2-D float32 CPU rows in range (it does not check
    bounds itself), contiguous, and enough of them to repay numba's import."""
    tensors = (p, values) if buf is None else (p, buf, values)
    return (values.numel() >= FUSED_MIN_ELEMENTS and p.dim() == 2 and rows.dtype == torch.long
            and all(t.device.type == "cpu" and t.dtype == torch.float32 and t.is_contiguous() for t in tensors)
            and 0 <= int(rows.min()) and int(rows.max()) < p.size(0))


FUSED_MIN_ELEMENTS = 1 << 16
"""Smaller updates keep the torch ops (numba's import would cost more than it saves)."""


@cache
def _fused_kernel():
    try:
        from gnn_sparse.training.sgd_rows_numba import fused_kernel
    except ImportError:  # numba is optional
        return None
    try:
        return fused_kernel(sgd_rows)
    except Exception as error:  # a numba that cannot compile it: the torch ops are the same update
        warnings.warn(f"LazySGD: the compiled row update is unavailable ({type(error).__name__}: {error}); "
                      "using the torch ops", RuntimeWarning, stacklevel=2)
        return None


def touched_rows(grad: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(rows, values)`` of a sparse gradient with one entry per distinct row.

    An embedding looked up with distinct ids (a sampled subgraph's ``n_id``) has a gradient
    whose rows are already distinct: then its own indices and values are used as they are,
    in their order. Only repeated rows are summed (:func:`torch.unique` and ``index_add_``,
    in the order of the entries, as ``coalesce()`` sums them). ``coalesce()`` itself also
    sorts and copies every row; at wiki-talk size that cost more than the whole update, and
    scattering rows in sorted order was measured no faster (``benchmarks/bench_scale.py``,
    stage ``embedding``)."""
    if grad.is_coalesced():
        return grad.indices()[0], grad.values()
    indices, values = grad._indices()[0], grad._values()
    if _distinct(indices, grad.size(0)):
        return indices, values
    rows, inverse = torch.unique(indices, return_inverse=True)
    return rows, values.new_zeros((rows.numel(), *values.shape[1:])).index_add_(0, inverse, values)


def _distinct(indices: torch.Tensor, num_rows: int) -> bool:
    """Whether ``indices`` (in ``[0, num_rows)``) has no repeat: marks each row and counts the
    marks, a third of :func:`torch.unique`'s time at wiki-talk size."""
    marks = torch.zeros(num_rows, dtype=torch.uint8, device=indices.device)
    marks.index_fill_(0, indices, 1)
    return int(marks.sum()) == indices.numel()
