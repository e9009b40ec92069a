import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from gnn_sparse.cli import build_parser, build_parsers, main, with_subcommand

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def keep_thread_count():
    before = torch.get_num_threads()  # --threads changes it process-wide
    yield
    torch.set_num_threads(before)


def _error_line(capsys):
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("gnn-sparse train: error: ")
    return err[0]


@pytest.mark.parametrize("argv, match", [
    (["--method", "admm2"], "invalid choice: 'admm2'"),
    (["--encoder", "gat"], "invalid choice: 'gat'"),
    (["--sparsity", "1.0"], "--sparsity must be in [0, 1)"),
    (["--sparsity", "-0.5"], "--sparsity must be in [0, 1)"),
    (["--epochs", "0"], "--epochs must be an integer in [1, "),
    (["--batch-size", "0"], "--batch-size must be an integer in [1, "),
    (["--ranking-negatives", "-1"], "--ranking-negatives must be an integer in [0, 65536], got -1"),
    (["--dataset", "no-such-graph"], "unknown dataset 'no-such-graph'"),
    (["--device", "gpu"], "unknown device 'gpu'"),
    (["--method-option", "rho"], "KEY=VALUE"),
])
def test_bad_input_exits_2_with_one_line(argv, match, capsys, tmp_path):
    with pytest.raises(SystemExit) as exc:
        sys.exit(main([*argv, "--results-dir", str(tmp_path), "--quiet"]))
    assert exc.value.code == 2
    assert match in _error_line(capsys)


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_without_gpu(capsys, tmp_path):
    assert main(["--device", "cuda", "--results-dir", str(tmp_path)]) == 2
    assert "CUDA is not available" in _error_line(capsys)


def test_unwritable_results_dir(capsys, tmp_path):
    (tmp_path / "file").write_text("")
    assert main(["--results-dir", str(tmp_path / "file" / "sub"), "--quiet"]) == 2
    assert "not writable" in _error_line(capsys)


def test_run_resume_mismatch_and_summary(capsys, tmp_path):
    common = ["--method", "static", "--epochs", "2", "--results-dir", str(tmp_path), "--quiet", "--threads", "1"]
    assert main([*common, "--seed", "0", "1"]) == 0
    out = capsys.readouterr().out
    assert "synthetic-static-gcn-fc-s0.9-seed0" in out and "(mean ± std)" in out
    results = json.loads((tmp_path / "synthetic-static-gcn-fc-s0.9-seed1.json").read_text())
    assert results["config"]["epochs"] == 2 and results["device"] == "cpu"
    # an interrupted run: a checkpoint without results
    (tmp_path / "synthetic-static-gcn-fc-s0.9-seed0.json").unlink()
    assert main([*common, "--seed", "0", "--lr", "0.3", "--resume"]) == 2
    assert "different config: lr: 0.1 (checkpoint) vs 0.3 (now)" in _error_line(capsys)


def test_log_lines_reach_the_user(capsys, tmp_path):
    common = ["--method", "dst-ee", "--epochs", "1", "--update-interval", "5", "--threads", "1"]
    assert main([*common, "--results-dir", str(tmp_path / "a")]) == 0
    err = capsys.readouterr().err
    assert "INFO gnn_sparse.sparsity: mask update t=5 drop_fraction=" in err
    assert main([*common, "--results-dir", str(tmp_path / "b"), "--quiet"]) == 0
    assert "mask update" not in capsys.readouterr().err  # --quiet: WARNING and above
    assert main([*common, "--results-dir", str(tmp_path / "c"), "--quiet", "--log-level", "INFO"]) == 0
    err = capsys.readouterr().err
    assert err.count("mask update t=5 ") == 1  # shown once, however often logging was set up


def test_help_documents_every_flag_with_its_default_once():
    parser = build_parsers()[1]["train"]
    for action in parser._actions:
        assert action.help, action.option_strings
    text = " ".join(parser.format_help().split())
    for default in ("(default: 0.9)", "(default: 500)", "(default: 0.0005)", "(default: 1024)", "(default: 50)",
                    "(default: 0)"):
        assert default in text
    assert "(default: None)" not in text and "(default: [])" not in text
    # help that states its own default, and plain switches: nothing appended
    for flag in ("--data-root", "--threads", "--log-level", "--num-neighbors", "--resume", "--force", "--quiet"):
        help_text = " ".join(next(a.help for a in parser._actions if flag in a.option_strings).split())
        assert text.count(help_text) == 1 and not text.split(help_text)[1].startswith(" (default"), flag


def test_help_lists_the_subcommands_and_train_is_the_default():
    text = build_parser().format_help()
    for line in ("train ", "compare ", "report ", "vision "):
        assert f"    {line}" in text
    # --help alone builds no subcommand (imports none of their modules) and says the same
    assert build_parsers(commands=())[0].format_help() == text
    assert with_subcommand([]) == ["train"] and with_subcommand(["--epochs", "3"]) == ["train", "--epochs", "3"]
    assert with_subcommand(["--help"]) == ["--help"] and with_subcommand(["report"]) == ["report"]
    assert with_subcommand(["vision", "--epochs", "3"]) == ["vision", "--epochs", "3"]
    args = build_parser().parse_args(with_subcommand(["--epochs", "3"]))
    assert (args.command, args.epochs) == ("train", 3)


@pytest.mark.parametrize("short, long, value", [
    ("--c", "--exploration-c", 0.05), ("--eps", "--exploration-eps", 0.5), ("--c-decay", "--exploration-c-decay", 0.8),
    ("--c-decay-interval", "--exploration-c-decay-interval", 7), ("--lr", "--learning-rate", 0.2),
    ("--rho", "--admm-rho", 0.3), ("--rho-factor", "--admm-rho-factor", 1.1),
    ("--neg-ratio", "--negatives-per-positive", 2.0),
])
def test_long_flags_beside_the_short_ones(short, long, value):
    top = build_parser()
    a = top.parse_args(["train", short, str(value)])
    b = top.parse_args(["train", long, str(value)])
    assert a == b and vars(a)[short[2:].replace("-", "_")] == value
    assert top.parse_args(["compare", long, str(value)]) == top.parse_args(["compare", short, str(value)])


def test_compare_takes_the_single_run_options_through_parents():
    top, commands = build_parsers()
    train_flags = {s for a in commands["train"]._actions for s in a.option_strings} - {"--export-sparse"}
    compare_flags = {s for a in commands["compare"]._actions for s in a.option_strings}
    assert train_flags <= compare_flags and {"--methods", "--preset", "--log-level"} <= compare_flags
    args = top.parse_args(["compare", "--methods", "rigl", "--encoder", "sage", "--exploration-c", "0.1"])
    assert (args.methods, args.encoder, args.c) == (["rigl"], "sage", 0.1)
    image = build_parsers(["--dataset", "digits"])[1]["compare"]
    assert "--model" in {s for a in image._actions for s in a.option_strings}
    assert "--log-level" in {s for a in commands["report"]._actions for s in a.option_strings}


def test_no_traceback_in_a_real_process(tmp_path):
    proc = subprocess.run([sys.executable, str(ROOT / "run_link_prediction.py"), "--sparsity", "2",
                           "--results-dir", str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip() == "run_link_prediction.py train: error: --sparsity must be in [0, 1), got 2.0"


def test_vision_is_a_subcommand(capsys):
    assert main(["vision", "--sparsity", "2"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["gnn-sparse vision: error: --sparsity must be in [0, 1), got 2.0"]
    with pytest.raises(SystemExit):
        main(["vision", "--help"])
    assert "usage: gnn-sparse vision " in capsys.readouterr().out


def test_help_points_to_documents_that_exist():
    import re

    texts = [parser.format_help() for parser in build_parsers()[1].values()]
    texts.append(build_parsers(["--dataset", "digits"])[1]["compare"].format_help())
    pages = set(re.findall(r"docs/[\w/.-]+\.md", " ".join(texts)))
    assert pages and all((ROOT / page).is_file() for page in pages), pages
    assert not re.search(r"README[, ]+'", " ".join(texts))


def test_a_missing_optional_dependency_is_one_line(monkeypatch, capsys):
    import gnn_sparse.cli as cli

    def needs(module):
        def dispatch(argv, prog):
            raise ModuleNotFoundError(f"No module named '{module}'", name=module)
        return dispatch

    monkeypatch.setattr(cli, "_dispatch", needs("torch_geometric"))
    assert main(["--epochs", "1"]) == 2
    assert capsys.readouterr().err.strip() == (
        "gnn-sparse train: error: this needs torch-geometric, which is not installed: "
        "pip install 'gnn-sparse[graph]' (or 'gnn-sparse[all]')")
    monkeypatch.setattr(cli, "_dispatch", needs("pandas"))
    assert main(["report"]) == 2
    assert "pip install 'gnn-sparse[reports]'" in capsys.readouterr().err
    monkeypatch.setattr(cli, "_dispatch", needs("no_such_module"))
    with pytest.raises(ModuleNotFoundError):  # not an optional dependency: a real bug, not hidden
        main(["train"])


@pytest.mark.parametrize("command", [["-m", "gnn_sparse"], [str(ROOT / "run_link_prediction.py")]])
def test_one_command_line_under_every_name(command):
    proc = subprocess.run([sys.executable, *command, "--help"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    prog = "python -m gnn_sparse" if command[0] == "-m" else "run_link_prediction.py"
    assert proc.stdout.startswith(f"usage: {prog} ") and "{train,compare,report,study,vision}" in proc.stdout
