"""``python -m gnn_sparse.vision`` (or ``train_cnn.py``): image classification with the same
sparse-training methods, ADMM baseline, results JSON and checkpoints as link prediction.

Bad input (an unknown method, dataset or model; a value out of range; CIFAR files not found;
``--device cuda`` without a GPU; an unwritable results folder; ``--resume`` against a
different config) exits with code 2 and one line on stderr, never a traceback.
"""
from __future__ import annotations

import argparse
import sys
from typing import Sequence

from baselines.link_prediction import register_admm
from gnn_sparse.training.commands import run_and_summarise
from gnn_sparse.utils.arguments import HelpFormatter, OneLineErrorParser
from gnn_sparse.vision.options import configs_from_args, image_run_arguments
from gnn_sparse.vision.runner import run_image


def build_parser() -> argparse.ArgumentParser:
    """The image command line; ``--method`` offers every method, ADMM included."""
    register_admm()
    return OneLineErrorParser(
        prog="python -m gnn_sparse.vision", formatter_class=HelpFormatter,
        parents=[image_run_arguments()],
        description="Image classification (scikit-learn digits offline, or CIFAR-10/100 from the "
                    "python-pickle batches) with a CNN trained dense, sparse (DST-EE, RigL, SET, "
                    "static; ERK over every conv and the classifier, first layer dense as in RigL) "
                    "or pruned with ADMM. Without arguments: DST-EE at 90% sparsity on digits.")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    return run_and_summarise(parser, args, configs_from_args, run_image)

if __name__ == "__main__":
    sys.exit(main())
