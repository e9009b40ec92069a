"""``gnn-sparse vision`` (also ``python -m gnn_sparse.vision`` and ``train_cnn.py``): image
classification with the same sparse-training methods, ADMM baseline, results JSON and
checkpoints as link prediction.

Bad input (an unknown method, dataset or model; a value out of range; CIFAR files not found;
``--device cuda`` without a GPU; an unwritable results folder; ``--resume`` against a
different config) exits with code 2 and one line on stderr, never a traceback; so does a
missing optional dependency (scikit-learn: ``pip install 'gnn-sparse[vision]'``).
"""
from __future__ import annotations

import argparse
import sys
from typing import Sequence

from gnn_sparse.utils.arguments import HelpFormatter, OneLineErrorParser
from gnn_sparse.utils.extras import reporting_missing_dependencies

PROG = "python -m gnn_sparse.vision"


def build_parser(prog: str = PROG) -> argparse.ArgumentParser:
    """The image command line; ``--method`` offers every method, ADMM included."""
    from baselines.link_prediction import register_admm
    from gnn_sparse.vision.options import image_run_arguments

    register_admm()
    return OneLineErrorParser(
        prog=prog, formatter_class=HelpFormatter,
        parents=[image_run_arguments()],
        description="Image classification (scikit-learn digits offline, or CIFAR-10/100 from the "
                    "python-pickle batches) with a CNN trained dense, sparse (DST-EE, RigL, SET, "
                    "static; ERK over every conv and the classifier, first layer dense as in RigL) "
                    "or pruned with ADMM. Without arguments: DST-EE at 90% sparsity on digits.")


def main(argv: Sequence[str] | None = None, prog: str = PROG) -> int:
    """Run the image command line ``argv`` (default: ``sys.argv[1:]``); returns the exit code.
    ``prog`` is the name error lines and ``--help`` show."""
    return reporting_missing_dependencies(lambda: _main(argv, prog), prog, prefer=("vision",))


def _main(argv: Sequence[str] | None, prog: str) -> int:
    from gnn_sparse.training.commands import run_and_summarise
    from gnn_sparse.vision.options import configs_from_args
    from gnn_sparse.vision.runner import run_image

    parser = build_parser(prog)
    args = parser.parse_args(argv)
    return run_and_summarise(parser, args, configs_from_args, run_image)


if __name__ == "__main__":
    sys.exit(main())
