"""ResNet-50 in its CIFAR form: 3x3 stride-1 stem, no max-pool, Bottleneck blocks [3, 4, 6, 3]."""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from gnn_sparse.vision.digits_cnn import _check_positive
from gnn_sparse.vision.layers import SparsifiableCNN


class Bottleneck(nn.Module):
    r"""1x1 reduce, 3x3 (carrying the stride), 1x1 expand by 4, each with BatchNorm.

    .. math::
        y = \mathrm{ReLU}\big(\mathrm{BN}(W_3 * \mathrm{ReLU}(\mathrm{BN}(W_2 *
        \mathrm{ReLU}(\mathrm{BN}(W_1 * x))))) + s(x)\big)

    where :math:`s` is the identity, or a strided 1x1 conv + BatchNorm when the shape changes.

    Args:
        in_channels (int): input channels.
        planes (int): width of the 3x3 conv; the block outputs ``4 * planes`` channels.
        stride (int): stride of the 3x3 conv and of the shortcut (default: ``1``).
    """

    expansion = 4

    def __init__(self, in_channels: int, planes: int, stride: int = 1):
        super().__init__()
        out = self.expansion * planes
        self.conv1 = nn.Conv2d(in_channels, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, out, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out)
        self.shortcut = nn.Sequential()
        if stride != 1 or in_channels != out:
            self.shortcut = nn.Sequential(nn.Conv2d(in_channels, out, 1, stride=stride, bias=False), nn.BatchNorm2d(out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.relu(self.bn1(self.conv1(x)))
        y = torch.relu(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(y))
        return torch.relu(y + self.shortcut(x))


class ResNet(SparsifiableCNN, nn.Module):
    r"""Bottleneck ResNet for 32x32 images.

    Stem ``Conv2d(3x3, 64, stride 1) -> BN -> ReLU`` (no max-pool), four stages of
    :class:`Bottleneck` blocks with 64, 128, 256, 512 planes (strides 1, 2, 2, 2: feature maps
    32, 16, 8, 4), global average pooling and ``Linear(2048, num_classes)``. With
    ``blocks=(3, 4, 6, 3)`` this is ResNet-50: 53 conv layers (49 in the main path and 4
    shortcut convs) and 23.5M weights (10 classes).

    Args:
        blocks (sequence of 4 ints): blocks per stage (default: ``(3, 4, 6, 3)``).
        num_classes (int): number of classes (default: ``10``).
        in_channels (int): input channels (default: ``3``).
        width (int): channels of the stem and planes of the first stage; the stages have
            ``width x (1, 2, 4, 8)`` planes (default: ``64``, ResNet-50).

    Shapes:
        - input: :math:`(B, C_{in}, H, W)`, typically :math:`32 \times 32`
        - output: :math:`(B, \text{num\_classes})`

    Raises:
        ValueError: ``blocks`` is not four positive integers.
    """

    def __init__(self, blocks: Sequence[int] = (3, 4, 6, 3), num_classes: int = 10, in_channels: int = 3,
                 width: int = 64):
        super().__init__()
        name = type(self).__name__
        _check_positive(name, num_classes=num_classes, in_channels=in_channels, width=width)
        blocks = list(blocks)
        if len(blocks) != 4:
            raise ValueError(f"{name}: blocks must hold four stage depths, got {blocks}")
        _check_positive(name, **{f"blocks[{i}]": b for i, b in enumerate(blocks)})
        self.conv1 = nn.Conv2d(in_channels, width, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        channels = width
        stages = []
        for planes, depth, stride in zip((width, 2 * width, 4 * width, 8 * width), blocks, (1, 2, 2, 2)):
            stage = []
            for i in range(depth):
                stage.append(Bottleneck(channels, planes, stride if i == 0 else 1))
                channels = planes * Bottleneck.expansion
            stages.append(nn.Sequential(*stage))
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.linear = nn.Linear(channels, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.bn1(self.conv1(x)))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.linear(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))


def resnet50(num_classes: int = 10) -> ResNet:
    """ResNet-50 (CIFAR form) for 10 or 100 classes."""
    return ResNet((3, 4, 6, 3), num_classes=num_classes)
