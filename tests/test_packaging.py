"""What a user installs: the core with torch alone, the image runner without the graph and
report libraries, each command line naming the extra it misses."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from gnn_sparse.utils.extras import OPTIONAL_MODULES

ROOT = Path(__file__).resolve().parents[1]
GRAPH_AND_REPORTS = ("torch_geometric", "pandas", "gensim", "numba", "matplotlib", "statsmodels")
OPTIONAL = tuple(OPTIONAL_MODULES)

ABSENT = """
import importlib.abc, importlib.machinery, sys

class _Absent(importlib.abc.Loader):
    def create_module(self, spec):
        raise ModuleNotFoundError(f"No module named {spec.name!r}", name=spec.name)

    def exec_module(self, module):
        pass

class _Uninstalled(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.partition(".")[0] in ABSENT:
            return importlib.machinery.ModuleSpec(name, _Absent())

sys.meta_path.insert(0, _Uninstalled())
"""
"""Prelude of a child process in which the modules of ``ABSENT`` behave as not installed."""


def run_python(code: str, absent: tuple[str, ...] = (), cwd: Path | None = None, timeout: float = 120):
    prelude = f"ABSENT = {set(absent)!r}\n{ABSENT}" if absent else ""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-c", prelude + textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=timeout, cwd=cwd or ROOT, env=env)


def test_the_core_needs_torch_alone():
    proc = run_python(f"""
        import json, sys
        from gnn_sparse import DSTEE
        loaded = sorted(m for m in {OPTIONAL!r} if m in sys.modules)
        import torch
        torch.manual_seed(0)
        model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 2))
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        sparsifier = DSTEE(model, optimizer, sparsity=0.8, update_interval=2, end_step=10)
        for _ in range(6):
            optimizer.zero_grad()
            model(torch.randn(4, 8)).sum().backward()
            optimizer.step()
            sparsifier.step()
        print(json.dumps([loaded, len(sparsifier.history)]))
    """, absent=OPTIONAL + ("numpy", "tqdm", "filelock"))
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.splitlines()[-1]) == [[], 3]


def test_the_image_runner_needs_neither_graph_nor_report_libraries(tmp_path):
    proc = run_python(f"""
        import sys
        from gnn_sparse.cli import main
        try:
            main(["--help"])
        except SystemExit as exit:
            assert exit.code == 0
        assert main(["vision", "--epochs", "1", "--threads", "1", "--quiet", "--results-dir", {str(tmp_path)!r}]) == 0
        assert main(["train", "--epochs", "1", "--results-dir", {str(tmp_path)!r}]) == 2
    """, absent=GRAPH_AND_REPORTS)
    assert proc.returncode == 0, proc.stderr
    assert "digits-dst-ee-digits-cnn" in proc.stdout
    assert proc.stderr.strip().splitlines()[-1] == (
        "gnn-sparse train: error: this needs torch-geometric, which is not installed: "
        "pip install 'gnn-sparse[graph]' (or 'gnn-sparse[all]')")


def test_the_image_runner_names_its_extra():
    proc = run_python("""
        from gnn_sparse.cli import main
        raise SystemExit(main(["vision", "--epochs", "1"]))
    """, absent=("sklearn",))
    assert proc.returncode == 2
    assert proc.stderr.strip() == ("gnn-sparse vision: error: this needs scikit-learn, which is not installed: "
                                   "pip install 'gnn-sparse[vision]' (or 'gnn-sparse[all]')")


def test_the_extras_named_are_those_of_pyproject():
    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extras = project["optional-dependencies"]

    def distributions(extra: str) -> set[str]:
        out = set()
        for requirement in extras[extra]:
            name, _, rest = requirement.partition("[")
            name = name.split(">")[0].split("=")[0].split("<")[0].strip()
            if name == project["name"]:  # an extra of our own: gnn-sparse[graph]
                for inner in rest.rstrip("]").split(","):
                    out |= distributions(inner.strip())
            else:
                out.add(name)
        return out

    for module, (distribution, named) in OPTIONAL_MODULES.items():
        for extra in named:
            assert distribution in distributions(extra), (module, extra)
        assert distribution in distributions("all") and distribution not in project["dependencies"]
    assert {"vision", "graph", "twalk", "reports", "all", "test", "docs"} <= set(extras)
    assert "networkx" not in json.dumps(project)
