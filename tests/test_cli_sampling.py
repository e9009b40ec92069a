"""Bad --num-neighbors / --embedding-optimizer / --control-variates input: exit 2 with one clear line."""
import sys

import pytest
import torch

from gnn_sparse.cli import main


@pytest.fixture(autouse=True)
def keep_thread_count():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


@pytest.mark.parametrize("argv, match", [
    (["--num-neighbors", "10", "-3"], "each fan-out must be a positive integer or -1 (every neighbour), at most 2147483647, got -3"),
    (["--num-neighbors", "0"], "each fan-out must be a positive integer or -1"),
    (["--num-neighbors", "10", "10", "10"], "gives 3 fan-outs for 2 GNN layers (--num-layers)"),
    (["--num-layers", "3", "--num-neighbors", "5", "5"], "gives 2 fan-outs for 3 GNN layers"),
    (["--encoder", "twalk", "--num-neighbors", "10"], "--encoder twalk has no message passing to sample"),
    (["--encoder", "none", "--num-neighbors", "10"], "--encoder none has no message passing to sample"),
    (["--num-neighbors", "-1", "--embedding-optimizer", "lazy"], "lazy needs sampled batches"),
    (["--num-neighbors", "ten"], "argument --num-neighbors: invalid int value: 'ten'"),
    (["--embedding-optimizer", "adam"], "invalid choice: 'adam'"),
    (["--control-variates"], "--control-variates needs sampled batches, but this run encodes the full graph"),
    (["--control-variates", "--encoder", "sage", "--num-neighbors", "5"], "--encoder sage has no such form here"),
])
def test_bad_sampling_input_exits_2_with_one_line(argv, match, capsys, tmp_path):
    with pytest.raises(SystemExit) as exc:
        sys.exit(main([*argv, "--results-dir", str(tmp_path), "--quiet", "--epochs", "1"]))
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("gnn-sparse train: error: "), err
    assert match in err[0]


def test_sampled_run_from_the_command_line(capsys, tmp_path):
    code = main(["--num-neighbors", "5", "--epochs", "1", "--results-dir", str(tmp_path), "--quiet", "--threads", "1",
                 "--method", "dense"])
    assert code == 0
    import json
    res = json.loads(next(tmp_path.glob("*.json")).read_text())
    assert res["config"]["num_neighbors"] == [5] and res["training_graph"]["num_neighbors"] == [5, 5]
    assert res["encoder_refresh"] == "sampled"
