from gnn_sparse.utils.io import atomic_write, atomic_write_json, atomic_torch_save, sha256_file

__all__ = ["atomic_write", "atomic_write_json", "atomic_torch_save", "sha256_file"]
