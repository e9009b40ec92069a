"""The options of a single image run, shared by ``python -m gnn_sparse.vision``
(:mod:`gnn_sparse.vision.cli`) and ``run_link_prediction.py compare`` on an image dataset
(:mod:`gnn_sparse.reports.compare`)."""
from __future__ import annotations

import argparse

from gnn_sparse.training import options as run_options
from gnn_sparse.training.options import add_output_arguments, add_rho_arguments, add_schedule_arguments
from gnn_sparse.vision.config import DATASET_DEFAULTS, IMAGE_DATASETS, IMAGE_MODELS, ImageRunConfig
from gnn_sparse.vision.layers import CNN_SPARSIFY_SCOPES
from gnn_sparse.vision.methods import image_method_names

DEFAULTS = ImageRunConfig().to_dict()
"""The defaults of every option, by flat key (``None``: the dataset's)."""


def _per_dataset(key: str) -> str:
    return "; ".join(f"{d}: {DATASET_DEFAULTS[d][key]}" for d in ("digits", "cifar10"))


def image_run_arguments() -> argparse.ArgumentParser:
    """The options of one image run, as a parent parser (``parents=[...]``) of the image
    command line and of ``compare`` on an image dataset. ``--method`` offers the methods
    registered when it is called."""
    d = DEFAULTS
    p = argparse.ArgumentParser(add_help=False)
    data = p.add_argument_group("data")
    data.add_argument("--dataset", default=d["dataset"], choices=IMAGE_DATASETS, help="which images")
    data.add_argument("--cifar-root", default=None, metavar="DIR",
                      help="folder holding cifar-10-batches-py/ or cifar-100-python/ (or that folder itself); "
                           "required for cifar10/cifar100")
    data.add_argument("--val-size", type=int, default=None,
                      help="CIFAR training images held out for validation (best-epoch selection); "
                           f"default: {DATASET_DEFAULTS['cifar10']['val_size']}. Digits: fixed 70/15/15 split")
    data.add_argument("--split-seed", type=int, default=d["split_seed"],
                      help="seeds the train/val split (kept fixed so every run sees the same test set)")
    data.add_argument("--augment", action=argparse.BooleanOptionalAction, default=None,
                      help="random crop (4-pixel zero padding) and horizontal flip; "
                           f"default: {_per_dataset('augment')}")

    model = p.add_argument_group("model")
    model.add_argument("--model", default=None, choices=IMAGE_MODELS,
                       help=f"the CNN; default: {_per_dataset('model')}")
    model.add_argument("--width", type=int, default=None,
                       help="channels of the first conv (VGG-19/ResNet-50 scale every layer by width/64); "
                            "default: 32 for digits-cnn, 64 for vgg19/resnet50")

    method = p.add_argument_group("method and sparsity")
    method.add_argument("--method", default=d["method"], choices=image_method_names(), help="training method")
    method.add_argument("--sparsity", type=float, default=d["sparsity"],
                        help="global fraction of zeros among the masked weights, in [0, 1) (ignored by dense)")
    method.add_argument("--sparsify", default=d["sparsify"], choices=CNN_SPARSIFY_SCOPES,
                        help="rigl: mask every conv and the classifier, keep the first conv dense (RigL); "
                             "all: mask the first conv too (ITOP/GraNet)")
    method.add_argument("--distribution", default=d["distribution"], choices=["erk", "uniform"],
                        help="how the sparsity is spread over the masked layers")
    method.add_argument("--update-interval", type=int, default=None, metavar="T",
                        help=f"T: optimizer steps between mask updates; default: {_per_dataset('update_interval')}")
    add_schedule_arguments(method, d)

    admm = p.add_argument_group(
        "ADMM prune-from-dense (--method admm)",
        "the link-prediction baseline unchanged: dense pretraining, ADMM training, hard pruning to "
        "--sparsity and masked retraining, by default SGD lr 0.05 without momentum or weight decay as the "
        "original, so --lr, --momentum, --weight-decay and --lr-schedule do not apply (they do with "
        "--admm-optimizer run); --epochs never does; the best epoch is chosen among the retraining epochs")
    admm.add_argument("--pretrain-epochs", type=int, default=None,
                      help=f"dense pretraining epochs; default: {_per_dataset('pretrain_epochs')}")
    admm.add_argument("--admm-epochs", type=int, default=None,
                      help=f"ADMM epochs; default: {_per_dataset('admm_epochs')}")
    admm.add_argument("--retrain-epochs", type=int, default=None,
                      help=f"masked retraining epochs (>= 1); default: {_per_dataset('retrain_epochs')}")
    add_rho_arguments(admm, d)

    optim = p.add_argument_group("optimisation (all methods)")
    optim.add_argument("--epochs", type=int, default=None,
                       help=f"training epochs (ADMM: all three phases); default: {_per_dataset('epochs')}")
    optim.add_argument("--batch-size", type=int, default=None,
                       help=f"images per step; default: {_per_dataset('batch_size')}")
    optim.add_argument("--lr", "--learning-rate", type=float, default=None,
                       help=f"SGD learning rate; default: {_per_dataset('lr')}")
    optim.add_argument("--momentum", type=float, default=d["momentum"], help="SGD momentum")
    optim.add_argument("--nesterov", action=argparse.BooleanOptionalAction, default=d["nesterov"],
                       help="Nesterov momentum")
    optim.add_argument("--weight-decay", type=float, default=None,
                       help=f"L2 weight decay; default: {_per_dataset('weight_decay')}")
    optim.add_argument("--lr-schedule", default=d["lr_schedule"], choices=["cosine", "constant"],
                       help="per-epoch learning-rate schedule (cosine annealing to 0; ADMM has its own)")
    optim.add_argument("--seed", type=int, nargs="+", default=[d["seed"]],
                       help=f"random seed(s); several seeds run one after another and are summarised "
                            f"(default: {d['seed']})")
    optim.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    optim.add_argument("--threads", type=int, default=None,
                       help="CPU threads for torch (default: torch's choice; 1 is fastest for digits on a "
                            "busy machine)")

    add_output_arguments(p, "dataset-method-model-sparsify-sSPARSITY-seedN")
    return p


def configs_from_args(args: argparse.Namespace) -> list[ImageRunConfig]:
    """One :class:`ImageRunConfig` per ``--seed`` (validated: raises :class:`ConfigError`)."""
    return run_options.configs_from_args(args, ImageRunConfig)
