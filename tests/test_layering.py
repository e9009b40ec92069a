"""Imports go one way: no cycle between modules, and no module imports a layer above its own.

The layers, bottom to top (a module belongs to the layer of its longest matching prefix):

* ``gnn_sparse.utils``; the sparsity core (and the root package, which re-exports it); data;
  features; models; training (methods, runner, single-run options);
* ``gnn_sparse.vision``: the image runner on top of the trainer;
* ``gnn_sparse.reports``: tables, figures and the ``compare``/``report`` grid driver;
* ``baselines``: ADMM, a plug-in method built on the trainer; only the application layer
  imports it and registers it (``baselines.link_prediction.register_admm``);
* the image command line (``gnn_sparse.vision.cli``);
* the application layer: ``gnn_sparse.cli`` (``gnn-sparse``, which dispatches to the image
  command line and to the reports) and the ``__main__`` modules.

Every ``import`` counts, also those inside functions: a lazy import is still a dependency.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("gnn_sparse", "baselines")
LAYERS = [
    ("gnn_sparse.utils",),
    ("gnn_sparse", "gnn_sparse.sparsity"),
    ("gnn_sparse.data",),
    ("gnn_sparse.features",),
    ("gnn_sparse.models",),
    ("gnn_sparse.training",),
    ("gnn_sparse.vision",),
    ("gnn_sparse.reports",),
    ("baselines",),
    ("gnn_sparse.vision.cli",),
    ("gnn_sparse.cli", "gnn_sparse.__main__", "gnn_sparse.vision.__main__"),
]


def module_files(root: Path = ROOT) -> dict[str, Path]:
    """``{dotted module name: file}`` of every module of the packages."""
    out = {}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def import_graph(files: dict[str, Path]) -> dict[str, set[str]]:
    """``{module: modules it imports}`` within the packages. ``from a.b import c`` points at
    ``a.b.c`` when that is a module, else at ``a.b``."""
    graph: dict[str, set[str]] = {}
    for module, path in files.items():
        targets = set()
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:  # relative: resolved against the importing package
                    anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                    base = f"{anchor}.{base}" if base else anchor
                for alias in node.names:
                    targets.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in files else base)
        graph[module] = {t for t in targets if t in files and t != module}
    return graph


def layer_of(module: str) -> int:
    best, layer = -1, None
    for index, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best:
                best, layer = len(prefix), index
    assert layer is not None, f"{module} is in no layer; add it to LAYERS"
    return layer


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    return sorted(f"{a} -> {b}" for a, targets in graph.items() for b in targets if layer_of(b) > layer_of(a))


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan, iterative)."""
    index, low, on_stack, stack, found = {}, {}, set(), [], []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


@pytest.fixture(scope="module")
def graph():
    return import_graph(module_files())


def test_every_module_has_a_layer(graph):
    for module in graph:
        layer_of(module)


def test_no_import_cycles(graph):
    assert cycles(graph) == []


def test_imports_go_down_the_layers(graph):
    assert upward_imports(graph) == []


def package_of(module: str) -> str:
    """The package a module counts for in :func:`package_graph`: ``gnn_sparse.X`` (a
    subpackage or a top-level module such as ``gnn_sparse.cli``), ``baselines``, or the root."""
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "gnn_sparse" else parts[0]


def package_graph(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """``graph`` with every module replaced by its package (imports within a package dropped)."""
    out: dict[str, set[str]] = {}
    for a, targets in graph.items():
        out.setdefault(package_of(a), set()).update(package_of(b) for b in targets if package_of(b) != package_of(a))
    return out


def test_no_package_import_cycles(graph):
    """Not even through different modules: ``gnn_sparse.cli`` dispatches to the image runner's
    command line and to the reports, and neither imports anything of it back."""
    assert cycles(package_graph(graph)) == []


def test_the_checks_catch_a_cycle_and_an_upward_import(tmp_path):
    """The walker on a small tree with the two faults this file guards against (the old
    ``cli`` <-> ``reports.compare`` cycle and ``gnn_sparse`` importing ``baselines``)."""
    (tmp_path / "gnn_sparse" / "reports").mkdir(parents=True)
    (tmp_path / "baselines").mkdir()
    (tmp_path / "gnn_sparse" / "__init__.py").write_text("")
    (tmp_path / "gnn_sparse" / "cli.py").write_text("from gnn_sparse.reports import compare\n")
    (tmp_path / "gnn_sparse" / "reports" / "__init__.py").write_text("")
    (tmp_path / "gnn_sparse" / "reports" / "compare.py").write_text(
        "def f():\n    from gnn_sparse.cli import build_parser\n    import baselines.link_prediction\n")
    (tmp_path / "baselines" / "__init__.py").write_text("")
    (tmp_path / "baselines" / "link_prediction.py").write_text("import gnn_sparse\n")
    graph = import_graph(module_files(tmp_path))
    assert cycles(graph) == [["gnn_sparse.cli", "gnn_sparse.reports.compare"]]
    assert upward_imports(graph) == ["gnn_sparse.reports.compare -> baselines.link_prediction",
                                     "gnn_sparse.reports.compare -> gnn_sparse.cli"]
