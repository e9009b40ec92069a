"""Optional dependencies: which extra of ``pip install gnn-sparse[...]`` brings which module.

``pip install gnn-sparse`` installs the sparse-training core (torch, numpy, tqdm, filelock);
the extras add the rest (``pyproject.toml``, ``[project.optional-dependencies]``):

==========  ====================================================  ==============================
extra       what it adds                                          needed by
==========  ====================================================  ==============================
``vision``  scikit-learn                                          ``gnn-sparse vision`` (digits,
                                                                  metrics), every runner
``graph``   torch-geometric, pandas, scikit-learn                 ``gnn-sparse train``,
                                                                  :mod:`gnn_sparse.data`
``twalk``   gensim, numba                                         ``--encoder twalk``
``reports`` matplotlib, statsmodels, pandas, scipy                ``compare``, ``report``
``all``     all of the above
==========  ====================================================  ==============================

The command lines turn a missing one into a single line naming the extra
(:func:`missing_dependency_message`) instead of a traceback.
"""
from __future__ import annotations

import sys
from typing import Callable, Sequence

OPTIONAL_MODULES: dict[str, tuple[str, tuple[str, ...]]] = {
    "torch_geometric": ("torch-geometric", ("graph",)),
    "pandas": ("pandas", ("graph", "reports")),
    "sklearn": ("scikit-learn", ("vision", "graph")),
    "gensim": ("gensim", ("twalk",)),
    "numba": ("numba", ("twalk",)),
    "matplotlib": ("matplotlib", ("reports",)),
    "statsmodels": ("statsmodels", ("reports",)),
    "scipy": ("scipy", ("reports",)),
}
"""Import name -> (distribution name, the extras that install it)."""


def missing_dependency_message(err: ModuleNotFoundError, prefer: Sequence[str] = ()) -> str | None:
    """One line for an optional dependency that is not installed (``None`` for any other
    missing module): what is missing and the ``pip install`` that adds it, with the first
    extra of ``prefer`` that brings it, else the first that does."""
    name = (err.name or "").partition(".")[0]
    if name not in OPTIONAL_MODULES:
        return None
    distribution, extras = OPTIONAL_MODULES[name]
    extra = next((e for e in prefer if e in extras), extras[0])
    return (f"this needs {distribution}, which is not installed: pip install 'gnn-sparse[{extra}]' "
            f"(or 'gnn-sparse[all]')")


def reporting_missing_dependencies(main: Callable[[], int], prog: str, prefer: Sequence[str] = ()) -> int:
    """``main()``, or exit code 2 with ``prog: error: <missing_dependency_message>`` on stderr
    when it needs an optional dependency that is not installed."""
    try:
        return main()
    except ModuleNotFoundError as err:
        message = missing_dependency_message(err, prefer)
        if message is None:
            raise
        print(f"{prog}: error: {message}", file=sys.stderr)
        return 2
