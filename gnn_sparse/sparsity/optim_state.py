"""Keep optimizer state consistent with the masks without touching the optimizer's code."""
from __future__ import annotations

import torch


def mask_optimizer_state(optimizer: torch.optim.Optimizer, param: torch.Tensor, keep: torch.Tensor) -> None:
    """Zero every per-element optimizer state entry of ``param`` where ``keep`` is False.

    Covers SGD's ``momentum_buffer``, Adam/AdamW's ``exp_avg``, ``exp_avg_sq`` and
    ``max_exp_avg_sq`` and any other state tensor of the parameter's shape. Scalars (such as
    Adam's ``step``) are shared by the whole tensor and left alone.

    Raises:
        ValueError: a state tensor has neither the parameter's shape nor a single element
            (for example a factored second moment), so it cannot be masked element-wise.
    """
    state = optimizer.state.get(param)
    if not state:
        return
    for key, value in state.items():
        if not isinstance(value, torch.Tensor) or value.numel() == 1 and value.shape != param.shape:
            continue
        if value.shape != param.shape:
            raise ValueError(
                f"{type(optimizer).__name__} keeps state '{key}' of shape {tuple(value.shape)} for a "
                f"parameter of shape {tuple(param.shape)}; the sparsifier can only reset per-element "
                "state, so this optimizer is not supported"
            )
        value.mul_(keep)
