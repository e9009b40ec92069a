import json

import pytest

from gnn_sparse.training import REQUIRED_KEYS, ConfigError, Method, Phase, RunOptions, read_index, run
from gnn_sparse.training.methods import METHODS, make_lr_scheduler, make_sgd, register_method


def _opts(tmp_path, **kw):
    return RunOptions(results_dir=str(tmp_path / "results"), quiet=True, **kw)


@pytest.mark.parametrize("method", ["dense", "dst-ee", "rigl", "set", "static"])
def test_every_method_end_to_end(method, tiny_dataset, tiny_config, tmp_path):
    config = tiny_config(method=method, sparsity=0.9, epochs=8)
    res = run(config, _opts(tmp_path), dataset=tiny_dataset)

    assert res["test_accuracy"] > 70.0  # chance is 50% on the balanced test set
    assert set(REQUIRED_KEYS) <= set(res)
    assert res["peak_memory"]["rss_bytes"] > 0 and res["peak_memory"]["cuda_bytes"] is None
    assert res["epochs"] == 8 and len(res["history"]) == 8
    assert res["test_accuracy"] == res["history"][res["best_epoch"] - 1]["test"]["accuracy"]
    selectable = [r for r in res["history"] if r["selectable"]]
    best_test = max(r["test"]["accuracy"] for r in selectable)
    assert res["best_test_accuracy"] == best_test  # the original's selection on test, recomputed
    assert res["history"][res["best_test_epoch"] - 1]["test"]["accuracy"] == best_test
    assert res["best_test_epoch"] == min(r["epoch"] for r in selectable if r["test"]["accuracy"] == best_test)
    assert set(res["layer_sparsity"]) == {"fc1.weight", "fc2.weight"}
    if method == "dense":
        assert res["sparsity"] == 0.0 and res["exploration_rate"] is None
    else:
        assert res["sparsity"] == 0.9
        for name, numel in (("fc1.weight", 2048), ("fc2.weight", 128)):
            exact = 1 - round(0.1 * numel) / numel
            assert res["mask_sparsity"][name] == exact  # exactly round(density * numel) active
            assert res["layer_sparsity"][name] >= exact  # inactive weights are exact zeros
        assert 0.1 <= res["exploration_rate"] <= 1.0
        if method != "static":
            assert res["mask_updates"] > 0 and res["exploration_rate"] > 0.1001

    on_disk = json.loads((tmp_path / "results" / f"{res['run_id']}.json").read_text())
    assert on_disk["test_accuracy"] == res["test_accuracy"]
    assert [r["run_id"] for r in read_index(tmp_path / "results")] == [res["run_id"]]


def test_identical_seeds_identical_results(tiny_dataset, tiny_config, tmp_path):
    config = tiny_config(method="dst-ee", epochs=3)
    a = run(config, _opts(tmp_path / "a"), dataset=tiny_dataset)
    b = run(config, _opts(tmp_path / "b"), dataset=tiny_dataset)
    c = run(tiny_config(method="dst-ee", epochs=3, seed=1), _opts(tmp_path / "c"), dataset=tiny_dataset)
    strip = lambda h: [{k: v for k, v in r.items() if not k.endswith("time_s")} for r in h]  # noqa: E731
    assert strip(a["history"]) == strip(b["history"])
    assert a["exploration_history"] == b["exploration_history"]
    assert strip(a["history"]) != strip(c["history"])


def test_ranking_metrics_at_the_selected_epoch_and_per_epoch(tiny_dataset, tiny_config, tmp_path):
    ranked = run(tiny_config(method="dst-ee", epochs=3, ranking_negatives=20), _opts(tmp_path / "k20"),
                 dataset=tiny_dataset)
    plain = run(tiny_config(method="dst-ee", epochs=3, ranking_negatives=0), _opts(tmp_path / "k0"),
                dataset=tiny_dataset)
    best = ranked["history"][ranked["best_epoch"] - 1]
    for split in ("val", "test"):
        for metric in ("mrr", "hits@1", "hits@3", "hits@10"):
            assert ranked[f"{split}_{metric}"] == best[split][metric]
            assert plain[f"{split}_{metric}"] is None
            assert all(metric not in r[split] for r in plain["history"])  # nothing ranked, nothing recorded
    assert ranked["test_hits@1"] <= ranked["test_hits@3"] <= ranked["test_hits@10"] <= 1
    assert ranked["test_mrr"] > 1 / 11  # better than a constant model: every positive tied, at rank 1 + 20/2
    assert (ranked["config"]["ranking_negatives"], plain["config"]["ranking_negatives"]) == (20, 0)

    def without_ranking(res):  # each epoch's record without its times and ranking metrics
        def link(m):
            return {k: v for k, v in m.items() if k in ("accuracy", "auc", "ap")}
        return [{k: link(v) if k in ("val", "test") else v for k, v in r.items() if not k.endswith("time_s")}
                for r in res["history"]]

    assert without_ranking(ranked) == without_ranking(plain)  # ranking draws nothing training uses: same run
    on_disk = json.loads((tmp_path / "k20" / "results" / f"{ranked['run_id']}.json").read_text())
    assert on_disk["test_mrr"] == ranked["test_mrr"]
    assert read_index(tmp_path / "k20" / "results")[0]["test_mrr"] == ranked["test_mrr"]
    with pytest.raises(ConfigError, match=r"ranking_negatives: 20 \(checkpoint\) vs 0 \(now\)"):
        run(tiny_config(method="dst-ee", epochs=3, ranking_negatives=0), _opts(tmp_path / "k20"), dataset=tiny_dataset)


class Interrupt(Exception):
    pass


def _kill_after(epoch):
    def hook(record):
        if record["epoch"] == epoch:
            raise Interrupt
    return hook


def _metrics(res):
    keep = ("best_epoch", "test_accuracy", "test_auc", "test_ap", "val_accuracy", "best_test_accuracy",
            "layer_sparsity", "exploration_rate")
    history = [{k: v for k, v in r.items() if not k.endswith("time_s")} for r in res["history"]]
    return {k: res[k] for k in keep}, history, res.get("exploration_history")


@pytest.mark.parametrize("method", ["dst-ee", "dense"])
def test_resume_equals_uninterrupted(method, tiny_dataset, tiny_config, tmp_path):
    config = tiny_config(method=method, epochs=5)
    full = run(config, _opts(tmp_path / "full"), dataset=tiny_dataset)
    with pytest.raises(Interrupt):
        run(config, _opts(tmp_path / "cut"), dataset=tiny_dataset, on_epoch_end=_kill_after(2))
    with pytest.raises(ConfigError, match="pass --resume"):
        run(config, _opts(tmp_path / "cut"), dataset=tiny_dataset)
    resumed = run(config, _opts(tmp_path / "cut", resume=True), dataset=tiny_dataset)
    assert resumed["resumed_from_epoch"] == 2
    assert _metrics(resumed) == _metrics(full)


def test_config_and_metrics_files_can_be_watched_and_survive_a_resume(tiny_dataset, tiny_config, tmp_path):
    config = tiny_config(method="dst-ee", epochs=4)
    folder = tmp_path / "results" / config.run_id()
    seen = []

    def watch(record):  # what a user tailing the files sees when each epoch ends
        started = json.loads((folder / "config.json").read_text())
        assert started["config"]["epochs"] == 4 and started["task"] == "link-prediction"
        lines = (folder / "metrics.jsonl").read_text().splitlines()
        seen.append([json.loads(line)["epoch"] for line in lines])
        if record["epoch"] == 2 and len(seen) == 2:
            raise Interrupt

    with pytest.raises(Interrupt):
        run(config, _opts(tmp_path), dataset=tiny_dataset, on_epoch_end=watch)
    assert seen == [[1], [1, 2]]
    with open(folder / "metrics.jsonl", "a", encoding="utf-8") as f:  # an epoch the checkpoint lacks
        f.write(json.dumps({"epoch": 3, "stale": True}) + "\n")
    resumed = run(config, _opts(tmp_path, resume=True), dataset=tiny_dataset, on_epoch_end=watch)
    assert seen[2:] == [[1, 2, 3], [1, 2, 3, 4]]
    lines = (folder / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line) for line in lines] == resumed["history"]
    assert json.loads((folder / "config.json").read_text())["resumed_from_epoch"] == 2


def test_finished_run_on_other_data_is_not_reused(tiny_dataset, tiny_config, tmp_path):
    from gnn_sparse.data import load_dataset

    config = tiny_config(method="static", epochs=1)
    first = run(config, _opts(tmp_path), dataset=tiny_dataset)
    assert run(config, _opts(tmp_path), dataset=tiny_dataset)["finished_at"] == first["finished_at"]
    other = load_dataset("synthetic", num_nodes=200, num_events=3000, seed=0)  # same name, other graph
    with pytest.raises(ConfigError, match=r"made on other data .* pass --force .* or --run-name"):
        run(config, _opts(tmp_path), dataset=other)


def test_finished_run_on_an_edited_file_is_not_reused_before_loading_it(tiny_config, tmp_path):
    """Without a loaded dataset (the command line), the file's sha256 is compared with the
    finished run's before it is reused."""
    from gnn_sparse.data import SyntheticConfig, generate_synthetic

    edges = generate_synthetic(SyntheticConfig(num_nodes=200, num_events=4000, seed=0))
    file = tmp_path / "graph.txt"
    file.write_text("".join(f"{u} {v} {t}\n" for u, v, t in zip(edges.src, edges.dst, edges.time)))
    config = tiny_config(method="static", epochs=1, dataset=str(file), data_root=str(tmp_path / "data"))
    first = run(config, _opts(tmp_path))
    assert run(config, _opts(tmp_path))["finished_at"] == first["finished_at"]
    with open(file, "a", encoding="utf-8") as f:
        f.write("1 2 99999999\n")
    with pytest.raises(ConfigError, match=r"made on other data"):
        run(config, _opts(tmp_path))
    redone = run(config, _opts(tmp_path, force=True))
    assert redone["dataset_info"]["sha256"] != first["dataset_info"]["sha256"]
    assert redone["dataset_info"]["num_events"] == 4001


def test_resume_with_other_config_says_what_differs(tiny_dataset, tiny_config, tmp_path):
    with pytest.raises(Interrupt):
        run(tiny_config(epochs=3), _opts(tmp_path), dataset=tiny_dataset, on_epoch_end=_kill_after(1))
    with pytest.raises(ConfigError, match=r"different config: lr: 0.1 \(checkpoint\) vs 0.2 \(now\)"):
        run(tiny_config(epochs=3, lr=0.2), _opts(tmp_path, resume=True), dataset=tiny_dataset)


def test_finished_run_is_not_redone_unless_forced(tiny_dataset, tiny_config, tmp_path):
    config = tiny_config(method="static", epochs=2)
    first = run(config, _opts(tmp_path), dataset=tiny_dataset)
    epochs = []
    again = run(config, _opts(tmp_path), dataset=tiny_dataset, on_epoch_end=epochs.append)
    assert epochs == [] and again["finished_at"] == first["finished_at"]
    with pytest.raises(ConfigError, match="different config"):
        run(tiny_config(method="static", epochs=3), _opts(tmp_path), dataset=tiny_dataset)
    run(config, _opts(tmp_path, force=True), dataset=tiny_dataset, on_epoch_end=epochs.append)
    assert len(epochs) == 2
    assert len(read_index(tmp_path / "results")) == 1  # the re-run replaced its index line


class TwoPhase(Method):
    """A toy multi-phase method (the shape of ADMM): dense warm-up that is never selected,
    then a penalised phase with per-epoch state."""

    options = ("rho",)

    def phases(self):
        return [Phase("warmup", 2, selectable=False), Phase("penalised", 2)]

    def start_phase(self, phase, model, steps_per_epoch):
        self.epochs_seen = getattr(self, "epochs_seen", 0)
        optimizer = make_sgd(model, self.config.optim, lr=0.05 if phase.name == "warmup" else None)
        return optimizer, make_lr_scheduler(optimizer, "constant", phase.epochs)

    def penalty(self, model):
        return self.config.sparse.method_options["rho"] * model.fc1.weight.pow(2).sum()

    def after_epoch(self, phase, epoch):
        self.epochs_seen += 1

    def state_dict(self):
        return {"epochs_seen": self.epochs_seen}

    def load_state_dict(self, state):
        self.epochs_seen = state["epochs_seen"]

    def report(self):
        return {"exploration_rate": None, "epochs_seen": self.epochs_seen}


def test_plugin_method_phases_and_resume_across_phase_boundary(tiny_dataset, tiny_config, tmp_path):
    register_method("two-phase-test", TwoPhase, replace=True)
    try:
        config = tiny_config(method="two-phase-test", method_options={"rho": 1e-4})
        full = run(config, _opts(tmp_path / "full"), dataset=tiny_dataset)
        assert [r["phase"] for r in full["history"]] == ["warmup", "warmup", "penalised", "penalised"]
        assert full["best_epoch"] in (3, 4) and full["epochs_seen"] == 4
        assert full["history"][0]["lr"] == 0.05 and full["history"][2]["lr"] == 0.1
        with pytest.raises(Interrupt):
            run(config, _opts(tmp_path / "cut"), dataset=tiny_dataset, on_epoch_end=_kill_after(2))
        resumed = run(config, _opts(tmp_path / "cut", resume=True), dataset=tiny_dataset)
        assert _metrics(resumed) == _metrics(full) and resumed["epochs_seen"] == 4
    finally:
        METHODS.pop("two-phase-test")


def test_unwritable_results_dir(tiny_config, tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(ConfigError, match="not writable"):
        run(tiny_config(), RunOptions(results_dir=str(tmp_path / "file" / "sub"), quiet=True))


def test_sparsity_leaving_no_weight_is_a_config_error(tiny_dataset, tiny_config, tmp_path):
    with pytest.raises(ConfigError, match="no active weight"):
        run(tiny_config(sparsity=0.999), _opts(tmp_path), dataset=tiny_dataset)
