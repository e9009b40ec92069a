"""What a user installs: the core with torch alone, the image runner without the graph and
report libraries, each command line naming the extra it misses, and a wheel that works from
any folder (its registry inside, its data in the user's cache)."""
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


# --- the wheel: built from this checkout, installed into a folder of its own, used from elsewhere

PACKAGED = ("pyproject.toml", "README.md", "LICENSE", "gnn_sparse", "baselines")


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """``(site, environment)``: the wheel of this checkout installed with ``pip install
    --target site`` (no dependencies: they come from this interpreter's site-packages), and
    an environment that finds it first and nothing of the checkout, with a fresh user cache."""
    import shutil

    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"  # a copy, so that building writes nothing into the checkout
    for name in PACKAGED:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            source.mkdir(exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input", "-q"]
    build = subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", str(work / "dist"),
                            str(source)], capture_output=True, text=True, timeout=300)
    if build.returncode != 0:
        pytest.skip(f"cannot build the wheel here (pip wheel --no-build-isolation needs setuptools>=77 in this "
                    f"environment): {build.stderr.strip().splitlines()[-1:]}")
    wheel, = (work / "dist").glob("gnn_sparse-*.whl")
    site = work / "site"
    install = subprocess.run([*pip, "install", "--no-deps", "--no-index", "--target", str(site), str(wheel)],
                             capture_output=True, text=True, timeout=300)
    assert install.returncode == 0, install.stderr
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "GNN_SPARSE_DATA", "PYTHONSTARTUP")}
    env.update(PYTHONPATH=str(site), XDG_CACHE_HOME=str(work / "cache"), HOME=str(work / "home"))
    (work / "elsewhere").mkdir()
    return site, env


def test_the_installed_wheel_loads_data_anywhere(installed, tmp_path):
    site, env = installed
    edges = tmp_path / "graph.txt"
    rng = __import__("random").Random(0)
    edges.write_text("".join(f"{rng.randrange(40)} {rng.randrange(40, 80)} {t}\n" for t in range(2000)))
    shared = os.environ.get("GNN_SPARSE_SHARED_DATA")
    named = "enron-employees" if shared and (Path(shared) / "ia-enron-employees.edges").is_file() else "synthetic"
    proc = subprocess.run([sys.executable, "-c", f"""
import json
from importlib.metadata import version
import gnn_sparse
from gnn_sparse.data import known_names, load_dataset
file = load_dataset({str(edges)!r})
named = load_dataset({named!r})
print(json.dumps([gnn_sparse.__file__, version("gnn-sparse"), gnn_sparse.__version__, known_names(),
                  file.num_events, named.num_nodes]))
"""], capture_output=True, text=True, timeout=120, cwd=site.parent / "elsewhere", env=env)
    assert proc.returncode == 0, proc.stderr
    where, dist_version, version, names, events, nodes = json.loads(proc.stdout.splitlines()[-1])
    assert Path(where).parent == site / "gnn_sparse" and dist_version == version
    assert "wiki-talk" in names and events == 2000 and nodes == (151 if named != "synthetic" else 1000)
    cache = site.parent / "cache" / "gnn-sparse" / "processed"
    assert any(cache.glob("graph-*.pt"))  # the default data root: the user's cache folder


def test_the_installed_command_line(installed, tmp_path):
    site, env = installed
    elsewhere = site.parent / "elsewhere"
    for command in ([str(site / "bin" / "gnn-sparse")], [sys.executable, "-m", "gnn_sparse"]):
        proc = subprocess.run([*command, "--help"], capture_output=True, text=True, timeout=120, cwd=elsewhere, env=env)
        assert proc.returncode == 0, proc.stderr
        assert "{train,compare,report,study,vision}" in proc.stdout
    proc = subprocess.run([str(site / "bin" / "gnn-sparse"), "train", "--epochs", "1", "--threads", "1", "--quiet",
                           "--results-dir", str(tmp_path / "results")],
                          capture_output=True, text=True, timeout=120, cwd=elsewhere, env=env)
    assert proc.returncode == 0, proc.stderr
    results, = (tmp_path / "results").glob("synthetic-*.json")
    versions = json.loads(results.read_text())["versions"]
    import gnn_sparse

    assert versions["gnn_sparse"] == gnn_sparse.__version__
    assert versions["gnn_sparse_revision"] is None  # not the checkout's code: the installed copy ran

