"""Hostile command-line arguments: NaN, inf, out-of-range and absurdly large values
exit 2 with one line naming the flag; paths with spaces and non-ASCII characters work."""
import json

import pytest
import torch

from gnn_sparse.cli import main
from gnn_sparse.vision.cli import main as vision_main

pytestmark = pytest.mark.usefixtures("one_thread")

HUGE = "9" * 30  # beyond int64


def _one_line(capsys, prog):
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith(f"{prog}: error: "), err
    return err[0]


@pytest.mark.parametrize("argv, message", [
    (["--sparsity", "nan"], "--sparsity must be a finite number, got nan"),
    (["--sparsity", "inf"], "--sparsity must be a finite number, got inf"),
    (["--sparsity", "1.5"], "--sparsity must be in [0, 1), got 1.5"),
    (["--epochs", "-3"], "--epochs must be an integer in [1, 1000000], got -3"),
    (["--epochs", HUGE], f"--epochs must be an integer in [1, 1000000], got {HUGE}"),
    (["--batch-size", "-1"], "--batch-size must be an integer in [1, 2147483647], got -1"),
    (["--batch-size", HUGE], f"--batch-size must be an integer in [1, 2147483647], got {HUGE}"),
    (["--lr", "nan"], "--lr/--learning-rate must be a finite number, got nan"),
    (["--learning-rate", "inf"], "--lr/--learning-rate must be a finite number, got inf"),
    (["--c", "inf"], "--c/--exploration-c must be a finite number, got inf"),
    (["--exploration-c", "nan"], "--c/--exploration-c must be a finite number, got nan"),
    (["--eps=-inf"], "--eps/--exploration-eps must be a finite number, got -inf"),
    (["--val-ratio", "nan"], "--val-ratio must be a finite number, got nan"),
    (["--neg-ratio", "1e12"], "--neg-ratio/--negatives-per-positive must be in (0, 1000], got 1000000000000.0"),
    (["--hidden-dim", "100000000000"], "--hidden-dim must be an integer in [1, 65536], got 100000000000"),
    (["--update-interval", HUGE], f"--update-interval must be an integer in [1, 2147483647], got {HUGE}"),
    (["--seed", "-1"], "--seed must be an integer in [0, 4294967295], got -1"),
    (["--seed", HUGE], f"--seed must be an integer in [0, 4294967295], got {HUGE}"),
    (["--threads", HUGE], f"--threads must be an integer in [1, 1024], got {HUGE}"),
    (["--pretrain-epochs", HUGE], f"--pretrain-epochs must be an integer in [0, 1000000], got {HUGE}"),
])
def test_train_refuses_with_one_line_naming_the_flag(argv, message, capsys, tmp_path):
    before = torch.get_num_threads()
    assert main([*argv, "--results-dir", str(tmp_path), "--quiet"]) == 2
    assert message in _one_line(capsys, "gnn-sparse train")
    assert torch.get_num_threads() == before and not any(tmp_path.iterdir())  # refused before any work


def test_a_value_that_is_not_a_number_is_a_usage_error(capsys, tmp_path):
    with pytest.raises(SystemExit) as exc:
        main(["--epochs", "1e3", "--results-dir", str(tmp_path)])
    assert exc.value.code == 2
    assert "argument --epochs: invalid int value: '1e3'" in _one_line(capsys, "gnn-sparse train")


@pytest.mark.parametrize("argv, message", [
    (["--sparsities", "0.9", "nan"], "--sparsities: each value must be a finite number in [0, 1), got nan"),
    (["--c-values", "inf"], "--c-values: each value must be a finite number in [0, inf), got inf"),
    (["--seeds", "-1"], "--seeds: each seed must be an integer in [0, 4294967295], got -1"),
    (["--epochs", HUGE], f"--epochs must be an integer in [1, 1000000], got {HUGE}"),
    (["--exploration-c", "nan"], "--c/--exploration-c must be a finite number, got nan"),
])
def test_compare_refuses_with_one_line_naming_the_flag(argv, message, capsys, tmp_path):
    assert main(["compare", *argv, "--results-dir", str(tmp_path / "r"), "--reports-dir", str(tmp_path / "p"),
                 "--quiet"]) == 2
    assert message in _one_line(capsys, "gnn-sparse compare")
    assert not (tmp_path / "r").exists() and not (tmp_path / "p").exists()


@pytest.mark.parametrize("argv, message", [
    (["--sparsity", "nan"], "--sparsity must be a finite number, got nan"),
    (["--epochs", HUGE], f"--epochs must be an integer in [1, 1000000], got {HUGE}"),
    (["--width", "100000000000"], "--width must be an integer in [1, 65536], got 100000000000"),
    (["--lr", "inf"], "--lr/--learning-rate must be a finite number, got inf"),
])
def test_image_cli_refuses_with_one_line_naming_the_flag(argv, message, capsys, tmp_path):
    assert vision_main([*argv, "--results-dir", str(tmp_path), "--quiet"]) == 2
    assert message in _one_line(capsys, "python -m gnn_sparse.vision")


def test_paths_with_spaces_and_unicode_work(tmp_path, capsys):
    """Edge list, data root, results folder, run name and exported model, all with spaces and
    non-ASCII characters: the run trains, and every file lands where it was asked to."""
    where = tmp_path / "dir with space" / "données ü"
    where.mkdir(parents=True)
    g = torch.Generator().manual_seed(0)
    src, dst = torch.randint(0, 120, (2, 3000), generator=g)
    keep = src != dst
    lines = (f"{a} {b} {t}" for t, (a, b) in enumerate(zip(src[keep].tolist(), dst[keep].tolist())))
    (where / "gräph edges.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert main(["--dataset", str(where / "gräph edges.txt"), "--columns", "src,dst,time",
                 "--data-root", str(where / "data root"), "--results-dir", str(where / "résultats"),
                 "--run-name", "run ✓ ü", "--export-sparse", str(where / "model ü.pt"),
                 "--epochs", "1", "--batch-size", "256", "--quiet"]) == 0
    assert "run ✓ ü" in capsys.readouterr().out
    result = json.loads((where / "résultats" / "run ✓ ü.json").read_text(encoding="utf-8"))
    assert result["run_id"] == "run ✓ ü" and result["config"]["dataset"] == str(where / "gräph edges.txt")
    assert (where / "model ü.pt").stat().st_size > 0 and (where / "data root").is_dir()
    assert json.loads((where / "résultats" / "index.jsonl").read_text(encoding="utf-8").splitlines()[0])
