"""Batched image augmentation with plain tensor ops (no torchvision)."""
from __future__ import annotations

import torch


def random_crop_flip(
    images: torch.Tensor, padding: int = 4, flip: bool = True, generator: torch.Generator | None = None
) -> torch.Tensor:
    r"""Random crop with zero padding and random horizontal flip, one draw per image.

    Each image is zero-padded by ``padding`` pixels on every side and cropped back to
    :math:`H \times W` at an offset :math:`(o_y, o_x)` drawn uniformly from
    :math:`\{0, \dots, 2p\}^2`; then, with probability 1/2, mirrored left-right:

    .. math::
        y_{c,i,j} = \tilde x_{c,\, i + o_y,\, f(j) + o_x}, \qquad
        f(j) = j \text{ or } W - 1 - j

    (:math:`\tilde x` the padded image), as torchvision's ``RandomCrop(32, padding=4)`` and
    ``RandomHorizontalFlip()``. Apply it *before* normalisation, so the padding is black.
    The whole batch is done with one gather; random draws come from ``generator`` (on the
    CPU) and are moved to the images' device.

    Args:
        images (torch.Tensor): a batch :math:`(B, C, H, W)`.
        padding (int): :math:`p \ge 0` (default: ``4``).
        flip (bool): also flip at random (default: ``True``).
        generator (torch.Generator, optional): a CPU generator for the draws.

    :rtype: :class:`torch.Tensor` of the same shape, dtype and device.

    Raises:
        ValueError: ``images`` is not 4-D or ``padding`` is negative.
    """
    if images.dim() != 4:
        raise ValueError(f"random_crop_flip: images must be (B, C, H, W), got shape {tuple(images.shape)}")
    if isinstance(padding, bool) or not isinstance(padding, int) or padding < 0:
        raise ValueError(f"random_crop_flip: padding must be an integer >= 0, got {padding!r}")
    b, _, h, w = images.shape
    offsets = torch.randint(0, 2 * padding + 1, (2, b, 1), generator=generator)
    cols = torch.arange(w).expand(b, w)
    if flip:
        mirrored = torch.rand(b, 1, generator=generator) < 0.5
        cols = torch.where(mirrored, w - 1 - cols, cols)
    rows = (offsets[0] + torch.arange(h)).to(images.device)
    cols = (offsets[1] + cols).to(images.device)
    padded = torch.nn.functional.pad(images, (padding,) * 4)
    batch = torch.arange(b, device=images.device)
    # advanced indices (batch, rows, cols) around the channel slice: result is (B, H, W, C)
    return padded[batch[:, None, None], :, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2).contiguous()
