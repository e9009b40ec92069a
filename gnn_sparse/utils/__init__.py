from gnn_sparse.utils.io import (
    CorruptFileError,
    atomic_torch_save,
    atomic_write,
    atomic_write_json,
    checked_torch_load,
    sha256_file,
)

__all__ = ["CorruptFileError", "atomic_write", "atomic_write_json", "atomic_torch_save", "checked_torch_load",
           "sha256_file"]
