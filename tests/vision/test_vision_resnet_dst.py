import torch
from torch import nn

from gnn_sparse import DSTEE
from gnn_sparse.vision import erk_sparsities
from gnn_sparse.vision.resnet import ResNet


def test_dst_ee_on_resnet50_keeps_exact_sparsity_in_every_conv():
    """ResNet-50's 53 convs at a quarter of its width (the same layers and ERK, 16x fewer weights)."""
    torch.manual_seed(0)
    model = ResNet((3, 4, 6, 3), num_classes=10, width=16)
    stem = model.conv1.weight.detach().clone()
    dist = erk_sparsities(model, 0.9)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
    sparsifier = DSTEE(model, optimizer, distribution=dist, params=list(dist), update_interval=1,
                       end_step=100, drop_fraction=0.3, c=1e-3, seed=0)
    params = dict(model.named_parameters())
    keep = {n: round((1 - s) * params[n].numel()) for n, s in dist.items()}
    convs = [n for n, m in model.named_modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) == 53 and set(f"{n}.weight" for n in convs[1:]) <= set(dist)
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(2, 3, 32, 32, generator=g), torch.randint(0, 10, (2,), generator=g)
    for _ in range(3):
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
        sparsifier.step()
        for n, k in keep.items():
            mask, w = sparsifier.masks[n], params[n].detach()
            assert int(mask.sum()) == k, n
            assert not w[~mask].any(), n  # every inactive weight is exactly 0
    updates = [h for h in sparsifier.history if "layers" in h]
    assert len(updates) == 3
    assert sum(layer["grown"] for layer in updates[-1]["layers"].values()) > 0  # masks did move
    assert not torch.equal(model.conv1.weight.detach(), stem) and model.conv1.weight.ne(0).all()  # stem dense
