#!/usr/bin/env python
"""Image classification (digits, CIFAR-10/100) with the sparse-training core. See ``--help``;
the same as ``python -m gnn_sparse.vision``."""
import sys

from gnn_sparse.vision.cli import main

if __name__ == "__main__":
    sys.exit(main())
