"""Image datasets held as tensors: scikit-learn's digits (offline) and CIFAR-10/100 pickles.

STATS:

.. list-table::
    :header-rows: 1

    * - dataset
      - images
      - size
      - classes
      - split (train / val / test)
    * - digits (``sklearn.datasets.load_digits``)
      - 1,797
      - 1x8x8
      - 10
      - 70 / 15 / 15 %, seeded and stratified
    * - CIFAR-10 (``cifar-10-batches-py``)
      - 60,000
      - 3x32x32
      - 10
      - 50,000 (minus ``val_size``) / ``val_size`` / 10,000
    * - CIFAR-100 (``cifar-100-python``)
      - 60,000
      - 3x32x32
      - 100
      - 50,000 (minus ``val_size``) / ``val_size`` / 10,000
"""
from __future__ import annotations

import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

#: Files of the python-pickle releases of CIFAR (https://www.cs.toronto.edu/~kriz/cifar.html).
CIFAR_LAYOUT = {
    10: {"folder": "cifar-10-batches-py", "train": [f"data_batch_{i}" for i in range(1, 6)],
         "test": ["test_batch"], "meta": "batches.meta", "labels": b"labels", "names": b"label_names"},
    100: {"folder": "cifar-100-python", "train": ["train"], "test": ["test"], "meta": "meta",
          "labels": b"fine_labels", "names": b"fine_label_names"},
}


class ImageDataset(Dataset):
    r"""Images and labels held as tensors; items are normalised float images.

    Pixels are stored raw (``uint8``) and mapped to :math:`[0, 1]` by ``scale``, then
    normalised per channel:

    .. math::
        x = \frac{\text{raw} / \text{scale} - \mu_c}{\sigma_c}

    ``dataset[i]`` gives ``(x, y)`` without augmentation, so a ``torch.utils.data.DataLoader``
    works; :meth:`batch` builds a whole batch at once, optionally augmented before
    normalisation, and is what :class:`~gnn_sparse.vision.ImageBatches` uses.

    Args:
        images (torch.Tensor): raw images :math:`(N, C, H, W)`.
        labels (torch.Tensor): class indices :math:`(N,)`.
        scale (float): raw value of a white pixel (``255`` for CIFAR, ``16`` for digits).
        mean (sequence of float): :math:`\mu_c` per channel, on the :math:`[0, 1]` scale.
        std (sequence of float): :math:`\sigma_c > 0` per channel.
        classes (sequence of str): class names; their number is :attr:`num_classes`.

    Raises:
        ValueError: shapes or lengths disagree, a label is out of range or a std is not positive.
    """

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, scale: float,
                 mean: Sequence[float], std: Sequence[float], classes: Sequence[str]):
        name = type(self).__name__
        if images.dim() != 4 or labels.shape != (images.shape[0],):
            raise ValueError(f"{name}: images must be (N, C, H, W) and labels (N,), got "
                             f"{tuple(images.shape)} and {tuple(labels.shape)}")
        channels = images.shape[1]
        if len(mean) != channels or len(std) != channels or min(std) <= 0:
            raise ValueError(f"{name}: need {channels} means and {channels} positive stds, got {mean} and {std}")
        if len(labels) and not 0 <= int(labels.min()) <= int(labels.max()) < len(classes):
            raise ValueError(f"{name}: labels must lie in [0, {len(classes)}), got "
                             f"[{int(labels.min())}, {int(labels.max())}]")
        self.images = images
        self.labels = labels.long()
        self.scale = float(scale)
        self.mean = torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1)
        self.std = torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1)
        self.classes = list(classes)

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def __len__(self) -> int:
        return self.images.shape[0]

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        x, y = self.batch(torch.tensor([index]))
        return x[0], y[0]

    def batch(self, indices: torch.Tensor, augment=None, generator: torch.Generator | None = None):
        """``(x, y)`` for ``indices``: ``augment(unit_images, generator=generator)`` (if given)
        on the :math:`[0, 1]` images, then normalisation. ``x`` is float32 :math:`(B, C, H, W)`."""
        x = self.images[indices].to(torch.float32) / self.scale
        if augment is not None:
            x = augment(x, generator=generator)
        return (x - self.mean) / self.std, self.labels[indices]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({len(self)}, shape={tuple(self.images.shape[1:])}, classes={self.num_classes})"


@dataclass(frozen=True)
class ImageSplits:
    """Train / validation / test datasets; ``val`` is ``None`` when no validation split was asked for."""

    train: ImageDataset
    val: ImageDataset | None
    test: ImageDataset

    @property
    def num_classes(self) -> int:
        return self.train.num_classes

    @property
    def in_channels(self) -> int:
        return self.train.images.shape[1]


def channel_stats(images: torch.Tensor, scale: float) -> tuple[list[float], list[float]]:
    r"""Per-channel mean and (population) std of ``images / scale`` over :math:`(N, H, W)`.

    .. math::
        \mu_c = \frac{1}{NHW} \sum x_{n,c,h,w}, \qquad
        \sigma_c = \sqrt{\tfrac{1}{NHW} \sum x_{n,c,h,w}^2 - \mu_c^2}

    Exact and cheap for ``uint8`` images: each channel's histogram of the 256 values is
    counted and the moments are taken from it in float64; a constant channel gets
    :math:`\sigma_c = 1`. CIFAR-10 train gives the familiar
    (0.4914, 0.4822, 0.4465) and (0.2470, 0.2435, 0.2616).

    Raises:
        ValueError: ``images`` is not ``uint8`` :math:`(N, C, H, W)` with :math:`N > 0`.
    """
    if images.dtype != torch.uint8 or images.dim() != 4 or images.shape[0] == 0:
        raise ValueError(f"channel_stats: need non-empty uint8 images (N, C, H, W), got "
                         f"{images.dtype} {tuple(images.shape)}")
    values = torch.arange(256, dtype=torch.float64) / scale
    means, stds = [], []
    for c in range(images.shape[1]):
        p = torch.bincount(images[:, c].reshape(-1), minlength=256).to(torch.float64)
        p /= p.sum()
        mean = float((p * values).sum())
        var = float((p * values.square()).sum()) - mean**2
        means.append(mean)
        stds.append(max(var, 0.0) ** 0.5 or 1.0)
    return means, stds


def load_digits_splits(val_fraction: float = 0.15, test_fraction: float = 0.15, seed: int = 0) -> ImageSplits:
    """scikit-learn's 8x8 digits (bundled, offline) in a seeded stratified split.

    Pixels 0..16 become :math:`[0, 1]` and are normalised with the mean and std of the
    training split (one channel).

    Args:
        val_fraction (float): share of all images for validation (default: ``0.15``).
        test_fraction (float): share for test (default: ``0.15``).
        seed (int): seeds the split (default: ``0``).

    Raises:
        ValueError: a fraction is not in (0, 1) or the two leave no training images.
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    for what, f in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
        if not 0 < f < 1:
            raise ValueError(f"load_digits_splits: {what} must be in (0, 1), got {f!r}")
    if val_fraction + test_fraction >= 1:
        raise ValueError(f"load_digits_splits: val_fraction + test_fraction must be < 1, got "
                         f"{val_fraction + test_fraction}")
    bunch = load_digits()
    index = np.arange(len(bunch.target))
    rest, test = train_test_split(index, test_size=test_fraction, stratify=bunch.target, random_state=seed)
    train, val = train_test_split(rest, test_size=val_fraction / (1 - test_fraction),
                                  stratify=bunch.target[rest], random_state=seed)
    images = torch.from_numpy(bunch.images.astype(np.uint8)).unsqueeze(1)
    labels = torch.from_numpy(bunch.target)
    classes = [str(c) for c in bunch.target_names]
    mean, std = channel_stats(images[train], 16.0)
    make = lambda idx: ImageDataset(images[idx], labels[idx], 16.0, mean, std, classes)  # noqa: E731
    return ImageSplits(make(train), make(val), make(test))


def load_cifar(root: str | Path, num_classes: int = 10, val_size: int = 0, seed: int = 0) -> ImageSplits:
    """CIFAR-10 or CIFAR-100 from the python-pickle batch files in a folder.

    ``root`` is the folder that holds the extracted files (``cifar-10-batches-py`` /
    ``cifar-100-python``) or the folder that contains it. Images are normalised with the
    per-channel mean and std of the 50,000 training images (:func:`channel_stats`). For
    training, use :class:`~gnn_sparse.vision.ImageBatches` with
    :func:`~gnn_sparse.vision.random_crop_flip`.

    Args:
        root (str or Path): where the files are.
        num_classes (int): ``10`` or ``100`` (default: ``10``).
        val_size (int): training images held out (stratified, seeded) as a validation split;
            ``0`` for none, as in the paper (default: ``0``).
        seed (int): seeds the validation split (default: ``0``).

    Raises:
        ValueError: ``num_classes`` is not 10 or 100, or ``val_size`` is out of range.
        FileNotFoundError: a file is missing; the message names every expected file and the
            folders searched.
    """
    if num_classes not in CIFAR_LAYOUT:
        raise ValueError(f"load_cifar: num_classes must be 10 or 100, got {num_classes!r}")
    layout = CIFAR_LAYOUT[num_classes]
    folder = _find_cifar_folder(Path(root), layout, num_classes)
    meta = _unpickle(folder / layout["meta"])
    classes = [n.decode() if isinstance(n, bytes) else str(n) for n in meta[layout["names"]]]
    train_x, train_y = _read_batches(folder, layout["train"], layout["labels"])
    test_x, test_y = _read_batches(folder, layout["test"], layout["labels"])
    if isinstance(val_size, bool) or not isinstance(val_size, int) or not 0 <= val_size < len(train_y):
        raise ValueError(f"load_cifar: val_size must be an integer in [0, {len(train_y)}), got {val_size!r}")
    val = None
    if val_size:
        from sklearn.model_selection import train_test_split

        keep, held = train_test_split(np.arange(len(train_y)), test_size=val_size,
                                      stratify=train_y.numpy(), random_state=seed)
        keep, held = torch.from_numpy(np.sort(keep)), torch.from_numpy(np.sort(held))
        train_x, train_y, val_x, val_y = train_x[keep], train_y[keep], train_x[held], train_y[held]
    mean, std = channel_stats(train_x, 255.0)
    make = lambda x, y: ImageDataset(x, y, 255.0, mean, std, classes)  # noqa: E731
    if val_size:
        val = make(val_x, val_y)
    return ImageSplits(make(train_x, train_y), val, make(test_x, test_y))


def _find_cifar_folder(root: Path, layout: dict, num_classes: int) -> Path:
    files = layout["train"] + layout["test"] + [layout["meta"]]
    candidates = [root / layout["folder"], root]
    for folder in candidates:
        if all((folder / f).is_file() for f in files):
            return folder
    best = max(candidates, key=lambda d: sum((d / f).is_file() for f in files))
    missing = [f for f in files if not (best / f).is_file()]
    raise FileNotFoundError(
        f"load_cifar: CIFAR-{num_classes} files not found. Expected {', '.join(files)} in "
        f"{candidates[0]} or {candidates[1]} (missing in {best}: {', '.join(missing)}). Download and "
        f"extract the python version from https://www.cs.toronto.edu/~kriz/cifar.html "
        f"(folder '{layout['folder']}')."
    )


def _unpickle(path: Path) -> dict:
    with open(path, "rb") as f:
        return pickle.load(f, encoding="bytes")


def _read_batches(folder: Path, names: list[str], label_key: bytes) -> tuple[torch.Tensor, torch.Tensor]:
    xs, ys = [], []
    for name in names:
        batch = _unpickle(folder / name)
        data = np.asarray(batch[b"data"], dtype=np.uint8)
        if data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
            raise ValueError(f"load_cifar: {folder / name} holds data of shape {data.shape}, expected (N, 3072)")
        xs.append(data.reshape(-1, 3, 32, 32))
        ys.append(np.asarray(batch[label_key], dtype=np.int64))
    return torch.from_numpy(np.concatenate(xs)), torch.from_numpy(np.concatenate(ys))
