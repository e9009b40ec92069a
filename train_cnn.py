#!/usr/bin/env python
"""Image classification (digits, CIFAR-10/100) with the sparse-training core: ``gnn-sparse
vision`` under its older name. See ``--help``."""
import sys

from gnn_sparse.vision.cli import main

if __name__ == "__main__":
    sys.exit(main(prog="train_cnn.py"))
