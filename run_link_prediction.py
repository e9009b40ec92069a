#!/usr/bin/env python
"""Main job: link prediction with a sparse GCN link predictor. See ``--help``."""
import sys

from gnn_sparse.cli import main

if __name__ == "__main__":
    sys.exit(main())
