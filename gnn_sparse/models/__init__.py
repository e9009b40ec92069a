"""Link-prediction models: graph encoders and the paper's two-layer link classifier."""
from gnn_sparse.models.encoders import ENCODERS, FIXED_FEATURE_ENCODERS, GCNEncoder, SAGEEncoder
from gnn_sparse.models.link_predictor import SPARSIFY_SCOPES, LinkPredictor, build_link_predictor

__all__ = ["ENCODERS", "FIXED_FEATURE_ENCODERS", "GCNEncoder", "SAGEEncoder", "SPARSIFY_SCOPES", "LinkPredictor",
           "build_link_predictor"]
