import pytest
import torch
from torch import nn

from gnn_sparse.vision import VGG, DigitsCNN, ResNet, resnet50, vgg19


def _weights(model):
    return [(n, m.weight) for n, m in model.named_modules() if isinstance(m, (nn.Conv2d, nn.Linear))]


@pytest.mark.parametrize("classes", [10, 100])
def test_vgg19_cifar_form(classes):
    model = vgg19(classes)
    weights = _weights(model)
    convs = [w for _, w in weights if w.dim() == 4]
    assert len(convs) == 16 and weights[-1][1].shape == (classes, 512)
    assert [w.shape[0] for w in convs] == [64, 64, 128, 128] + [256] * 4 + [512] * 8
    assert all(m.bias is None for m in model.modules() if isinstance(m, nn.Conv2d))
    assert sum(w.numel() for _, w in weights) == 20_018_880 + 512 * classes
    assert model(torch.randn(2, 3, 32, 32)).shape == (2, classes)


@pytest.mark.parametrize("classes", [10, 100])
def test_resnet50_cifar_form(classes):
    model = resnet50(classes)
    weights = _weights(model)
    assert weights[0][0] == "conv1" and weights[0][1].shape == (64, 3, 3, 3)  # 3x3 stem
    assert not any(isinstance(m, nn.MaxPool2d) for m in model.modules())
    assert [len(s) for s in (model.layer1, model.layer2, model.layer3, model.layer4)] == [3, 4, 6, 3]
    assert sum(w.dim() == 4 for _, w in weights) == 53  # 49 main path + 4 shortcut convs
    assert weights[-1][0] == "linear" and weights[-1][1].shape == (classes, 2048)
    assert sum(w.numel() for _, w in weights) == 23_447_232 + 2048 * classes
    with torch.no_grad():
        assert model.eval()(torch.randn(1, 3, 32, 32)).shape == (1, classes)


def test_digits_cnn_shapes():
    model = DigitsCNN()
    assert model(torch.randn(4, 1, 8, 8)).shape == (4, 10)
    assert sum(p.numel() for p in model.parameters()) < 40_000


def test_bad_arguments():
    with pytest.raises(ValueError, match="VGG: cfg must hold exactly four 'M'"):
        VGG([64, "M", 64])
    with pytest.raises(ValueError, match="VGG: cfg items must be positive integers or 'M', got 'x'"):
        VGG([64, "M", "M", "M", "M", "x"])
    with pytest.raises(ValueError, match="ResNet: blocks must hold four stage depths"):
        ResNet((3, 4, 6))
    with pytest.raises(ValueError, match=r"ResNet: blocks\[2\] must be a positive integer"):
        ResNet((3, 4, 0, 3))
    with pytest.raises(ValueError, match="DigitsCNN: num_classes must be a positive integer"):
        DigitsCNN(num_classes=0)
