"""``python -m gnn_sparse.vision``: image classification; see ``--help``."""
import sys

from gnn_sparse.vision.cli import main

sys.exit(main())
