"""Edge features from node embeddings: the original pipeline's concatenation.

For a candidate link :math:`(s, d)` and node embeddings :math:`\\mathbf{Z} \\in
\\mathbb{R}^{N \\times k}`,

.. math::
    \\mathbf{x}_{(s, d)} = \\big[\\, \\mathbf{z}_s \\,\\|\\, \\mathbf{z}_d \\,\\big] \\in \\mathbb{R}^{2k},

ordered (source first), so a directed link and its reverse get different features.
"""
from __future__ import annotations

import torch


def pair_features(embeddings: torch.Tensor, edge_label_index: torch.Tensor) -> torch.Tensor:
    """Concatenate the source and destination embeddings of each candidate link.

    Args:
        embeddings: ``[N, k]`` node embeddings.
        edge_label_index: ``LongTensor [2, P]`` candidate links (source row, destination row).

    Returns:
        ``[P, 2k]`` features, same dtype and device as ``embeddings``.

    Raises:
        ValueError: wrong shapes, a non-integer index, or a node id outside ``[0, N)``.

    Example:
        >>> z = torch.arange(6.0).view(3, 2)
        >>> pair_features(z, torch.tensor([[0, 2], [1, 0]]))
        tensor([[0., 1., 2., 3.],
                [4., 5., 0., 1.]])
    """
    if embeddings.dim() != 2:
        raise ValueError(f"pair_features: embeddings must be [N, k], got shape {tuple(embeddings.shape)}")
    if edge_label_index.dim() != 2 or edge_label_index.size(0) != 2:
        raise ValueError(f"pair_features: edge_label_index must be [2, P], got shape {tuple(edge_label_index.shape)}")
    if edge_label_index.dtype.is_floating_point or edge_label_index.dtype == torch.bool:
        raise ValueError(f"pair_features: edge_label_index must hold integers, got {edge_label_index.dtype}")
    n = embeddings.size(0)
    if edge_label_index.numel() and (edge_label_index.min() < 0 or edge_label_index.max() >= n):
        raise ValueError(
            f"pair_features: node ids must be in [0, {n}), found "
            f"{int(edge_label_index.min())}..{int(edge_label_index.max())}"
        )
    index = edge_label_index.to(device=embeddings.device, dtype=torch.long)
    return torch.cat([embeddings[index[0]], embeddings[index[1]]], dim=1)
