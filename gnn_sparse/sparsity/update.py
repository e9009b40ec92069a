"""The shared drop-and-grow step: exact top-k, nonzero count kept fixed."""
from __future__ import annotations

import torch


def drop_and_grow(mask: torch.Tensor, drop_scores: torch.Tensor, grow_scores: torch.Tensor, k: int) -> torch.Tensor:
    """Return a new mask: drop the ``k`` active entries with the lowest ``drop_scores``, then
    grow the ``k`` entries with the highest ``grow_scores`` among those inactive after the drop.

    Entries just dropped are candidates for regrowth in the same update (as in RigL); an
    entry dropped and regrown is simply kept. Selection is by exact ``torch.topk``, never by a
    threshold, so ties cannot over- or under-prune: the result has exactly as many active
    entries as ``mask``.
    """
    return drop_and_grow_sets(mask, drop_scores, grow_scores, k)[0]


def drop_and_grow_sets(mask: torch.Tensor, drop_scores: torch.Tensor, grow_scores: torch.Tensor,
                       k: int) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
    """:func:`drop_and_grow` with the two chosen sets: ``(new mask, dropped, grown)``, the
    last two flat index tensors of ``k`` entries each (``None`` when ``k <= 0``). ``grown``
    counts every growth slot, so an entry in both sets was dropped and regrown."""
    if k <= 0:
        return mask.clone(), None, None
    kept, dropped = drop_set(mask, drop_scores, k)
    grown = grow_set(kept, grow_scores, k)
    return kept.view_as(mask), dropped, grown


def drop_set(mask: torch.Tensor, drop_scores: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``(kept, dropped)``: the flat mask without the ``k`` active entries of lowest
    ``drop_scores``, and their flat indices. The grow candidates are ``~kept``."""
    flat_mask = mask.reshape(-1)
    active = flat_mask.nonzero().squeeze(1)
    # top-k over the active entries only: at high sparsity a small fraction of the layer.
    dropped = active[torch.topk(_as_float(drop_scores)[active], k, largest=False, sorted=False).indices]
    kept = flat_mask.clone()
    kept[dropped] = False
    return kept, dropped


def grow_set(kept: torch.Tensor, grow_scores: torch.Tensor, k: int) -> torch.Tensor:
    """Activate, in the flat mask ``kept`` (in place), the ``k`` inactive entries of highest
    ``grow_scores``; returns their flat indices."""
    grow = _as_float(grow_scores).masked_fill(kept, float("-inf"))
    grown = torch.topk(grow, k, largest=True, sorted=False).indices
    kept[grown] = True
    return grown


def _as_float(scores: torch.Tensor) -> torch.Tensor:
    """Flattened scores in a dtype that holds +-inf sentinels without losing precision."""
    scores = scores.reshape(-1)
    return scores if scores.dtype in (torch.float32, torch.float64) else scores.float()
