r"""A trained sparse model as a sparse model: export its masked weights in ``torch.sparse_csr``
form and load them back into modules that run inference with sparse matrix products.

:func:`export_sparse` writes one file (``torch.save``, read back with
``weights_only=True``): every masked weight as a CSR matrix (conv kernels flattened to
``(out_channels, in_channels * kernel)``), everything else of the ``state_dict`` dense, and
free-form metadata (e.g. how to rebuild the model). :func:`load_sparse` loads it into a
freshly built model of the same architecture and swaps each masked layer for a sparse one:

* ``nn.Linear`` and ``torch_geometric.nn.Linear`` (e.g. ``GCNConv.lin``) ->
  :class:`SparseLinear`: :math:`y = (W x^\top)^\top + b` with ``torch.sparse.addmm``;
* ``nn.Conv2d`` (``groups=1``, zero padding) -> :class:`SparseConv2d`: im2col
  (``F.unfold``) then one sparse product :math:`W_{(C_{out}, C_{in} k_h k_w)} \cdot
  \mathrm{cols}`.

Other masked layers (Conv1d/3d, grouped convs) are refused, or kept dense with their
zeros when ``allow_dense=True``. Predictions equal the masked dense model's up to float
rounding (the sum order differs).
"""
from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any, Mapping

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gnn_sparse.sparsity.pyg import loaded_pyg_classes
from gnn_sparse.utils.io import CorruptFileError, atomic_torch_save, verify_content

EXPORT_FORMAT = "gnn-sparse/sparse-model"
EXPORT_VERSION = 1


class ExportError(ValueError):
    """A model that cannot be exported, or a file that is not a usable export."""


def _masks(sparsifier) -> dict[str, Tensor]:
    if sparsifier is None:
        return {}
    masks = getattr(sparsifier, "masks", sparsifier)
    return dict(masks() if callable(masks) else masks)


def export_sparse(model: nn.Module, sparsifier, path: str | os.PathLike | None = None,
                  meta: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The export of ``model`` with the masks of ``sparsifier``; written to ``path`` (atomically) if given.

    Args:
        model: the trained model (not DDP-wrapped).
        sparsifier: a :class:`~gnn_sparse.sparsity.DynamicSparsifier`, anything with ``masks``,
            or a ``{parameter name: bool mask}`` dict.
        path: where to write the export (optional).
        meta: JSON-like metadata stored with it (tensors allowed).

    Raises:
        ExportError: no sparsifier or no mask (a dense model), or every mask fully dense.
    """
    masks = _masks(sparsifier)
    if not masks or all(bool(m.all()) for m in masks.values()):
        raise ExportError("export_sparse: the model is dense (no masked weight has a zero): there is nothing "
                          "to export in sparse form; export a run trained with dst-ee, rigl, set, static or admm")
    params = dict(model.named_parameters())
    unknown = sorted(set(masks) - set(params))
    if unknown:
        raise ExportError(f"export_sparse: masks name {unknown}, which are not parameters of the model")
    sparse, shapes = {}, {}
    for name, mask in masks.items():
        weight = params[name].detach() * mask.to(params[name].device)
        shapes[name] = list(weight.shape)
        with warnings.catch_warnings():  # torch flags every CSR construction as beta
            warnings.filterwarnings("ignore", "Sparse CSR tensor support is in beta", UserWarning)
            sparse[name] = weight.reshape(weight.shape[0], -1).cpu().to_sparse_csr()
    dense = {k: v.detach().cpu() for k, v in model.state_dict().items() if k not in masks}
    payload = {"format": EXPORT_FORMAT, "version": EXPORT_VERSION, "sparse": sparse, "shapes": shapes,
               "dense": dense, "meta": dict(meta or {})}
    if path is not None:
        atomic_torch_save(payload, path)
    return payload


def read_export(path: str | os.PathLike) -> dict[str, Any]:
    """Read and check an export file (:class:`ExportError` naming the file and the problem)."""
    path = Path(path)
    if not path.is_file():
        raise ExportError(f"{path}: no such export file")
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "Sparse CSR tensor support is in beta", UserWarning)
            payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # a truncated, corrupted or foreign file
        raise ExportError(f"{path}: not a readable gnn-sparse export ({type(err).__name__}: "
                          f"{str(err).splitlines()[0] if str(err) else 'no detail'})") from None
    if not isinstance(payload, dict) or payload.get("format") != EXPORT_FORMAT:
        raise ExportError(f"{path}: not a gnn-sparse sparse-model export (expected format {EXPORT_FORMAT!r}; "
                          "a training checkpoint or results file is not an export)")
    try:
        payload = verify_content(payload, path)
    except CorruptFileError as err:  # a flipped byte in a weight loads fine: refuse it here
        raise ExportError(f"{path}: corrupted export ({str(err).removeprefix(f'{path}: ')})") from None
    if payload.get("version") != EXPORT_VERSION:
        raise ExportError(f"{path}: export version {payload.get('version')!r}, this gnn-sparse reads {EXPORT_VERSION}")
    missing = [k for k in ("sparse", "shapes", "dense", "meta") if k not in payload]
    bad = [n for n, w in payload.get("sparse", {}).items()
           if not isinstance(w, Tensor) or w.layout != torch.sparse_csr or n not in payload.get("shapes", {})]
    if missing or bad:
        raise ExportError(f"{path}: corrupted export ({'missing ' + str(missing) if missing else ''}"
                          f"{'; bad sparse weights ' + str(bad) if bad else ''})")
    return payload


class SparseLinear(nn.Module):
    r"""A Linear layer whose weight is a ``torch.sparse_csr`` matrix:
    :math:`y = (W x^\top)^\top + b`, one ``torch.sparse.addmm`` per call.

    Args:
        weight: ``(out_features, in_features)`` CSR matrix.
        bias: ``(out_features,)`` or ``None``.
    """

    def __init__(self, weight: Tensor, bias: Tensor | None = None):
        super().__init__()
        if weight.layout != torch.sparse_csr or weight.dim() != 2:
            raise ValueError(f"'{type(self).__name__}' needs a 2-d sparse CSR weight, got {weight.layout}")
        self.out_features, self.in_features = weight.shape
        self.register_buffer("weight", weight)
        self.register_buffer("bias", None if bias is None else bias.detach().clone())

    def forward(self, x: Tensor) -> Tensor:
        rows = x.reshape(-1, self.in_features).T
        if self.bias is None:
            out = torch.sparse.mm(self.weight, rows)
        else:
            out = torch.sparse.addmm(self.bias.unsqueeze(1).expand(-1, rows.size(1)), self.weight, rows)
        return out.T.reshape(*x.shape[:-1], self.out_features)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, nnz={self.weight._nnz()}"


class SparseConv2d(nn.Module):
    r"""A ``Conv2d`` (``groups=1``, zero padding) with a CSR kernel: im2col, then
    :math:`Y = W_{(C_{out}, C_{in} k_h k_w)} \cdot \mathrm{cols} + b`.

    Args:
        conv: the dense layer (its geometry and bias are copied).
        weight: the kernel as a ``(out_channels, in_channels * kh * kw)`` CSR matrix.
    """

    def __init__(self, conv: nn.Conv2d, weight: Tensor):
        super().__init__()
        if conv.groups != 1 or conv.padding_mode != "zeros" or isinstance(conv.padding, str):
            raise ValueError(f"'{type(self).__name__}' covers groups=1 convolutions with numeric zero padding")
        self.kernel_size, self.stride = conv.kernel_size, conv.stride
        self.padding, self.dilation, self.out_channels = conv.padding, conv.dilation, conv.out_channels
        self.register_buffer("weight", weight)
        self.register_buffer("bias", None if conv.bias is None else conv.bias.detach().clone())

    def forward(self, x: Tensor) -> Tensor:
        n, _, h, w = x.shape
        cols = F.unfold(x, self.kernel_size, self.dilation, self.padding, self.stride)  # (N, C k k, L)
        out_h = (h + 2 * self.padding[0] - self.dilation[0] * (self.kernel_size[0] - 1) - 1) // self.stride[0] + 1
        out_w = (w + 2 * self.padding[1] - self.dilation[1] * (self.kernel_size[1] - 1) - 1) // self.stride[1] + 1
        flat = cols.transpose(0, 1).reshape(cols.size(1), -1)  # (C k k, N L)
        out = torch.sparse.mm(self.weight, flat)  # (C_out, N L)
        if self.bias is not None:
            out = out + self.bias.unsqueeze(1)
        return out.reshape(self.out_channels, n, out_h, out_w).transpose(0, 1)

    def extra_repr(self) -> str:
        return (f"out_channels={self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, "
                f"padding={self.padding}, nnz={self.weight._nnz()}")


def _linear_types() -> tuple[type, ...]:
    return (nn.Linear, *loaded_pyg_classes("Linear"))


def load_sparse(export: str | os.PathLike | Mapping[str, Any], model: nn.Module,
                allow_dense: bool = False) -> nn.Module:
    """Load an export into ``model`` (a freshly built model of the same architecture) and
    swap every masked layer for its sparse form; returns ``model`` (in eval mode).

    Args:
        export: a path written by :func:`export_sparse`, or its returned dict.
        model: the architecture to fill; its ``state_dict`` must match the export exactly.
        allow_dense: keep masked layers without a sparse form (Conv1d/3d, grouped convs)
            dense, with their zeros, instead of raising.

    Raises:
        ExportError: a bad file, or an export of another architecture (names or shapes differ),
            or a masked layer without a sparse form (unless ``allow_dense``).
    """
    payload = read_export(export) if not isinstance(export, Mapping) else export
    where = export if not isinstance(export, Mapping) else "export"
    sparse, shapes = payload["sparse"], payload["shapes"]
    expected = model.state_dict()
    theirs = set(payload["dense"]) | set(sparse)
    if theirs != set(expected):
        raise ExportError(f"{where}: the export is of another model: it has {sorted(theirs - set(expected))} "
                          f"that this model lacks and lacks {sorted(set(expected) - theirs)}")
    wrong = [n for n, s in shapes.items() if list(expected[n].shape) != list(s)]
    wrong += [n for n, t in payload["dense"].items() if tuple(t.shape) != tuple(expected[n].shape)]
    if wrong:
        raise ExportError(f"{where}: the export is of another model: shapes differ for {sorted(wrong)}")
    state = dict(payload["dense"])
    state.update({n: w.to_dense().reshape(shapes[n]) for n, w in sparse.items()})
    model.load_state_dict(state, strict=True)
    linear = _linear_types()
    for name, weight in sparse.items():
        module_name, _, attr = name.rpartition(".")
        if not module_name:
            raise ExportError(f"{where}: the masked layer is the model itself; load it inside a container module")
        module = model.get_submodule(module_name)
        if attr != "weight":
            replacement = None
        elif isinstance(module, linear):
            replacement = SparseLinear(weight, module.bias)
        elif isinstance(module, nn.Conv2d) and module.groups == 1 and module.padding_mode == "zeros" \
                and not isinstance(module.padding, str):
            replacement = SparseConv2d(module, weight)
        else:
            replacement = None
        if replacement is None:
            if allow_dense:
                continue
            raise ExportError(f"{where}: '{name}' ({type(module).__name__}) has no sparse form (covered: Linear, "
                              "PyG Linear, Conv2d with groups=1); pass allow_dense=True to keep it dense")
        parent_name, _, child = module_name.rpartition(".")
        setattr(model.get_submodule(parent_name), child, replacement.to(_device_of(module)))
    return model.eval()


def _device_of(module: nn.Module) -> torch.device:
    for t in module.parameters():
        return t.device
    return torch.device("cpu")


def sparse_layers(model: nn.Module) -> list[str]:
    """Names of the modules of ``model`` that run sparse products (after :func:`load_sparse`)."""
    return [n for n, m in model.named_modules() if isinstance(m, (SparseLinear, SparseConv2d))]
