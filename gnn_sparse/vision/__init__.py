"""Image classification with the sparse-training core: CIFAR-form VGG-19 / ResNet-50, a small
digits CNN, tensor-held datasets with batched augmentation, RigL's first/last-layer
convention for ERK, and the train / evaluate loop.

The runner (``python -m gnn_sparse.vision``, ``train_cnn.py``) lives in
:mod:`gnn_sparse.vision.runner` (``run_image``) with its config in
:mod:`gnn_sparse.vision.config` (``ImageRunConfig``); they are not imported here, so that
this package needs neither the link-prediction trainer nor ``baselines``."""
from gnn_sparse.vision.augment import random_crop_flip
from gnn_sparse.vision.batches import ImageBatches
from gnn_sparse.vision.data import (
    CIFAR_LAYOUT,
    ImageDataset,
    ImageSplits,
    channel_stats,
    load_cifar,
    load_digits_splits,
)
from gnn_sparse.vision.digits_cnn import DigitsCNN
from gnn_sparse.vision.layers import CNN_SPARSIFY_SCOPES, SparsifiableCNN, erk_sparsities, masked_layers
from gnn_sparse.vision.resnet import Bottleneck, ResNet, resnet50
from gnn_sparse.vision.train import Steppable, evaluate, train_epoch
from gnn_sparse.vision.vgg import VGG, VGG19_CFG, vgg19

__all__ = [
    "DigitsCNN", "VGG", "VGG19_CFG", "vgg19", "ResNet", "Bottleneck", "resnet50",
    "ImageDataset", "ImageSplits", "ImageBatches", "CIFAR_LAYOUT", "channel_stats",
    "load_digits_splits", "load_cifar", "random_crop_flip",
    "masked_layers", "erk_sparsities", "SparsifiableCNN", "CNN_SPARSIFY_SCOPES",
    "Steppable", "train_epoch", "evaluate",
]
