"""``python -m gnn_sparse``: the ``gnn-sparse`` command line (train, compare, report, vision);
see ``--help``."""
import sys

from gnn_sparse.cli import main

sys.exit(main(prog="python -m gnn_sparse"))
