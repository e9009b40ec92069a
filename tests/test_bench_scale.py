"""benchmarks/bench_scale.py's sampled-step timing on a tiny graph: the parts of a step and the
operators that take its time are measured and reported."""
import importlib.util
import sys
import types
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_scale.py"


def load():
    spec = importlib.util.spec_from_file_location("bench_scale", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_sampled_steps_report_their_parts_and_top_operators(tiny_dataset):
    bench = load()
    args = types.SimpleNamespace(num_neighbors=[3, 3], control_variates=False)
    out = bench._timed_steps(tiny_dataset, bench._config(args), 2, phases=True)
    assert out["mode"] == "sampled" and out["step_s"] > 0 and out["eval_split_s"] > 0
    assert {"sample", "forward", "backward", "optimizer", "method"} <= set(out["phase_ms"])
    assert len(out["top_ops_ms"]) == 8 and all(v >= 0 for v in out["top_ops_ms"].values())
    text = bench._report("gcn-sampled", {**out, "load_s": 0.1, "wall_s": 1.0, "peak_rss_gib": 0.5})
    assert "ms per step under torch.profiler" in text and "by operator" in text


def test_embedding_stage_times_dense_torch_ops_and_compiled_updates():
    bench = load()
    out = bench.stage_embedding(types.SimpleNamespace(scale=0.001, touched=500), None)
    assert out["rows"] == 1140 and {"dense_step_s", "lazy_torch_step_s", "lazy_step_s"} <= set(out)
    from gnn_sparse.training import optim
    assert optim.FUSED_MIN_ELEMENTS == 1 << 16  # restored
    assert "lazy as torch ops" in bench._report("embedding", {**out, "wall_s": 1.0, "peak_rss_gib": 0.1})
