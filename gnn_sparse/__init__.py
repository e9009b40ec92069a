"""gnn-sparse: dynamic sparse training (DST-EE, RigL, SET, static) for GNNs and any PyTorch model."""
from gnn_sparse.sparsity import DSTEE, SET, DynamicSparsifier, RigL, StaticSparse

__version__ = "0.1.0"
__all__ = ["DSTEE", "RigL", "SET", "StaticSparse", "DynamicSparsifier", "__version__"]
