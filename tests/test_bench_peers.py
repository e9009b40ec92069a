"""benchmarks/bench_peers.py runs in a tiny configuration: our methods always, each peer
library where it is installed, and its table and JSON hold sensible figures."""
import contextlib
import importlib.util
import io
import json
import math
import sys
from pathlib import Path

import pytest
import torch

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_peers.py"
TINY = ["--timing-sizes", "32", "16", "10", "--timing-batch", "8", "--intervals", "5", "--repeats", "2",
        "--hidden", "32", "--epochs", "1", "--seeds", "0", "1", "--update-interval", "5"]


def load():
    spec = importlib.util.spec_from_file_location("bench_peers", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass looks the module up by name
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    bench = load()
    path = tmp_path_factory.mktemp("peers") / "peers.json"
    out, threads = io.StringIO(), torch.get_num_threads()
    try:
        with contextlib.redirect_stdout(out):
            bench.main(TINY + ["--json", str(path)])
    finally:
        torch.set_num_threads(threads)
    return bench, out.getvalue(), json.loads(path.read_text(encoding="utf-8"))


def check_row(figures, name):
    row = figures["methods"][name]
    assert all(math.isfinite(o["cpu"]) and math.isfinite(o["wall"]) and o["cpu"] > -1
               for o in row["overhead"].values())
    assert len(row["accuracy"]) == 2 and all(0 <= a <= 100 for a in row["accuracy"].values())
    assert abs(row["zeros_in_sparse_layers"] - 0.9) < 0.02  # grown weights start at 0, so a little more


def test_our_methods_and_the_peers_line(run):
    bench, out, figures = run
    for name in ("gnn-sparse RigL", "gnn-sparse DST-EE"):
        check_row(figures, name)
        assert f"| {name} |" in out
    assert figures["methods"]["dense"]["accuracy_mean"] > 10  # one epoch of digits beats chance
    found_line = next(line for line in out.splitlines() if line.startswith("peers found: "))
    missing_line = next(line for line in out.splitlines() if line.startswith("peers not found: "))
    for peer in bench.PEERS:
        assert (peer in figures["peers_found"]) != (peer in figures["peers_not_found"])
        assert peer in (found_line if peer in figures["peers_found"] else missing_line)
    d = figures["methods"]["gnn-sparse DST-EE"]["vs_reference"]
    assert d["low"] <= d["mean"] <= d["high"]


def test_rigl_torch_runs_beside_ours(run):
    bench, out, figures = run
    if "rigl-torch" not in figures["peers_found"]:
        pytest.skip(f"rigl-torch is not installed (pip install gnn-sparse[peers]): "
                    f"{figures['peers_not_found']['rigl-torch']}")
    check_row(figures, "rigl-torch RigL")
    assert "| rigl-torch RigL |" in out
