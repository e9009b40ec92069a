#!/usr/bin/env python
"""Link prediction with a sparse GCN link predictor: ``gnn-sparse`` under its older name
(``train`` is the default subcommand). See ``--help``."""
import sys

from gnn_sparse.cli import main

if __name__ == "__main__":
    sys.exit(main(prog="run_link_prediction.py"))
