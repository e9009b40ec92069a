"""benchmarks/bench_denormals.py runs and reports both times and their difference."""
import contextlib
import importlib.util
import io
import re
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_denormals.py"


def test_bench_denormals_prints_both_times_and_the_logit_difference():
    spec = importlib.util.spec_from_file_location("bench_denormals", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        module.main(["--nodes", "500", "--positives", "300", "--candidates", "11"])
    text = out.getvalue()
    assert "300 sources x 11 candidates, 24 live hidden units (8 decayed)" in text
    match = re.search(r"IEEE ([\d.]+) s, denormals flushed ([\d.]+) s: [\d.]+x; largest logit difference ([\d.e+-]+)", text)
    assert match and float(match.group(3)) < 1e-5


def test_bench_denormals_evaluates_a_run_checkpoint_both_ways(tmp_path):
    from gnn_sparse.training import RunConfig, RunOptions, run

    config = RunConfig.from_dict(dict(epochs=1, batch_size=128, device="cpu", encoder="none",
                                      dataset="synthetic", data_root=str(tmp_path / "data")))
    run(config, RunOptions(results_dir=str(tmp_path / "r"), quiet=True))
    ckpt = next((tmp_path / "r" / "checkpoints").glob("*.pt"))
    spec = importlib.util.spec_from_file_location("bench_denormals", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        module.main(["--checkpoint", str(ckpt)])
    lines = out.getvalue().splitlines()
    assert "after epoch 1" in lines[0]
    flushed, ieee = (re.sub(r"^\w[\w ]*: [\d.]+ s; ", "", line) for line in lines[1:3])
    assert lines[1].startswith("denormals flushed") and lines[2].startswith("IEEE") and "mrr" in flushed
    assert flushed == ieee  # no denormals in a fresh model: the same metrics
