"""VGG-19 with batch normalisation in its CIFAR form (32x32 inputs, one linear classifier)."""
from __future__ import annotations

from typing import Sequence, Union

import torch
from torch import nn

from gnn_sparse.vision.digits_cnn import _check_positive
from gnn_sparse.vision.layers import SparsifiableCNN

#: VGG-19 layer plan: output channels of each 3x3 conv, ``"M"`` for a 2x2 max-pool. The
#: fifth pool is replaced by a 2x2 average pool before the classifier (CIFAR form used by
#: "Rethinking the Value of Network Pruning", ITOP, GraNet and the DST-EE CIFAR runs).
VGG19_CFG: tuple[Union[int, str], ...] = (
    64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512,
)


class VGG(SparsifiableCNN, nn.Module):
    r"""VGG with BatchNorm for 32x32 images.

    Each integer :math:`c` of ``cfg`` is ``Conv2d(3x3, padding 1, no bias) -> BatchNorm2d ->
    ReLU`` with :math:`c` output channels; ``"M"`` halves the resolution with a max-pool.
    Four pools take :math:`32 \to 2`; a final 2x2 average pool gives a
    :math:`c_{last}`-vector, classified by one ``Linear(c_last, num_classes)``. With
    :data:`VGG19_CFG` there are 16 conv layers and 20.0M weights (10 classes).

    Args:
        cfg (sequence): the layer plan (default: :data:`VGG19_CFG`).
        num_classes (int): number of classes (default: ``10``).
        in_channels (int): input channels (default: ``3``).

    Shapes:
        - input: :math:`(B, C_{in}, 32, 32)`
        - output: :math:`(B, \text{num\_classes})`

    Raises:
        ValueError: ``cfg`` does not have exactly four ``"M"`` or holds something else than
            positive integers and ``"M"``.
    """

    def __init__(self, cfg: Sequence[Union[int, str]] = VGG19_CFG, num_classes: int = 10, in_channels: int = 3):
        super().__init__()
        name = type(self).__name__
        _check_positive(name, num_classes=num_classes, in_channels=in_channels)
        if list(cfg).count("M") != 4:
            raise ValueError(f"{name}: cfg must hold exactly four 'M' (32x32 -> 2x2), got {list(cfg)}")
        layers: list[nn.Module] = []
        channels = in_channels
        for item in cfg:
            if item == "M":
                layers.append(nn.MaxPool2d(2))
                continue
            if isinstance(item, bool) or not isinstance(item, int) or item < 1:
                raise ValueError(f"{name}: cfg items must be positive integers or 'M', got {item!r}")
            layers += [nn.Conv2d(channels, item, 3, padding=1, bias=False), nn.BatchNorm2d(item), nn.ReLU(inplace=True)]
            channels = item
        layers.append(nn.AvgPool2d(2))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(channels, num_classes)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Kaiming-normal (fan-out) conv kernels, BatchNorm at (1, 0), Linear N(0, 0.01) and bias 0."""
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0.0, 0.01)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.features(x), 1))


def vgg19(num_classes: int = 10) -> VGG:
    """VGG-19 (BatchNorm, CIFAR form) for 10 or 100 classes."""
    return VGG(VGG19_CFG, num_classes=num_classes)
