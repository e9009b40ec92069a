r"""The lazy SGD row update (:class:`~gnn_sparse.training.optim.LazySGD`) as one numba pass.

Why: at wiki-talk size a sampled step touches about 108k rows of a 1.14M x 64 embedding. The
torch update gathers the rows of the weights and of the momentum, runs five elementwise ops
on compact copies and writes both back with ``index_copy_``, which moves one element at a
time: about nine passes over 27 MB, 50-70 ms on one core. This kernel reads each touched row
of the weights and the momentum once and writes it once.

It computes *the same floats* as the torch update, op for op:

.. math::
    d = \operatorname{madd}(w, \lambda, g), \quad b \leftarrow \operatorname{rnd}(\mu b) + d,
    \quad v = \operatorname{madd}(b, \mu, d) \text{ (Nesterov) or } b, \quad
    w \leftarrow \operatorname{madd}(v, -\eta, w)

where :math:`\operatorname{madd}(x, \alpha, y)` is ``y.add(x, alpha=α)``. torch evaluates that
as a fused multiply-add (one rounding) where its CPU kernels are vectorised with FMA, and as a
multiply then an add elsewhere; :func:`fused_kernel` probes which one this machine's torch
does, on shapes that exercise both its vector body and its scalar tail, and returns the
kernel only when it reproduces the torch ops bit for bit (otherwise ``LazySGD`` keeps them).
So a run's numbers do not depend on whether numba is installed.
"""
from __future__ import annotations

from functools import cache

import numba
import numpy as np
import torch
from numba import types
from numba.extending import intrinsic


@intrinsic
def _fma(typingctx, x, alpha, y):
    """``x * alpha + y`` rounded once (LLVM's ``llvm.fma``, exact on every target)."""
    if not (isinstance(x, types.Float) and x == alpha == y):
        return None

    def codegen(context, builder, signature, args):
        return builder.fma(*args)

    return x(x, alpha, y), codegen


@numba.njit(inline="always")
def _madd(x, alpha, y, fused):
    return _fma(x, alpha, y) if fused else y + alpha * x


@numba.njit(boundscheck=False, nogil=True, cache=True)
def _sgd_rows(weight, buf, rows, grad, lr, momentum, weight_decay, nesterov, fused):  # pragma: no cover - compiled
    """In place on ``weight`` and ``buf`` (``[N, D]``), rows ``rows`` with gradient ``grad``
    (``[R, D]``); ``momentum == 0`` leaves ``buf`` untouched (it may be empty)."""
    neg_lr = -lr
    for i in range(rows.shape[0]):
        r = rows[i]
        for j in range(weight.shape[1]):
            w = weight[r, j]
            d = grad[i, j]
            if weight_decay != 0:
                d = _madd(w, weight_decay, d, fused)
            if momentum != 0:
                b = buf[r, j] * momentum + d
                buf[r, j] = b
                d = _madd(b, momentum, d, fused) if nesterov else b
            weight[r, j] = _madd(d, neg_lr, w, fused)


def _reproduces(reference, fused: bool) -> bool:
    generator = torch.Generator().manual_seed(0)
    for num_rows, dim, touched in ((300, 64, 131), (40, 3, 7), (50, 17, 33)):  # vector body and scalar tails
        for nesterov, weight_decay, momentum in ((True, 5e-4, 0.9), (False, 0.0, 0.9), (False, 5e-4, 0.0)):
            weight = torch.randn(num_rows, dim, generator=generator)
            buf = torch.randn(num_rows, dim, generator=generator)
            rows = torch.randperm(num_rows, generator=generator)[:touched]
            grad = torch.randn(touched, dim, generator=generator) * 1e-3
            ours_w, ours_b = weight.clone(), buf.clone()
            args = (0.1, momentum, weight_decay, nesterov)
            reference(weight, buf, rows, grad, *args)
            _sgd_rows(ours_w.numpy(), ours_b.numpy(), rows.numpy(), grad.numpy(), *map(np.float32, args[:3]),
                      nesterov, fused)
            if not (torch.equal(weight, ours_w) and torch.equal(buf, ours_b)):
                return False
    return True


@cache
def fused_kernel(reference):
    """The compiled update with ``reference``'s signature (:func:`~gnn_sparse.training.optim.sgd_rows`,
    the torch ops) for float32 CPU tensors, or ``None`` where neither rounding mode reproduces
    ``reference`` bit for bit on this machine."""
    for fused in (True, False):
        if _reproduces(reference, fused):
            def update(weight, buf, rows, grad, lr, momentum, weight_decay, nesterov, fused=fused):
                _sgd_rows(weight.detach().numpy(), buf.detach().numpy(), rows.numpy(), grad.numpy(),
                          np.float32(lr), np.float32(momentum), np.float32(weight_decay), bool(nesterov), fused)
                torch.autograd.graph.increment_version(weight)
                torch.autograd.graph.increment_version(buf)

            return update
    return None
