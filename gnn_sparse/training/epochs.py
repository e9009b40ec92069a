"""The phase/epoch loop shared by the link-prediction and image runners.

It owns what every task does the same way: phases of a method, resuming inside a phase
from a checkpoint, the DDP wrapper, the LR-scheduler and ``after_epoch`` hooks, evaluation,
the replica check, an atomic checkpoint per epoch (written by rank 0 only) and the progress
bar. A task supplies how one epoch trains and how the model is evaluated.
"""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch
from tqdm.auto import tqdm

from gnn_sparse.training.checkpoint import rng_state, save_checkpoint, set_rng_state
from gnn_sparse.training.results import select_best
from gnn_sparse.training.run_files import append_metrics, start_metrics

TrainEpoch = Callable[[torch.nn.Module, torch.optim.Optimizer, int], dict[str, Any]]
"""``(model to train (DDP-wrapped under torchrun), optimizer, epoch index) -> record fields``;
the fields must include ``train_loss``."""


@dataclass
class EpochLoop:
    """Drives ``method`` over ``model`` for all its phases (see the module docstring).

    Args:
        method: the run's :class:`~gnn_sparse.training.methods.Method`.
        model: the bare model.
        dp: the process layout (:func:`~gnn_sparse.training.distributed.data_parallel`).
        steps_per_epoch: optimizer steps per epoch (for the method's schedules).
        rng: the CPU generator of the data order, saved in checkpoints.
        checkpoint_file: where the per-epoch checkpoint goes.
        checkpoint_meta: stored in every checkpoint (run id, config).
        desc: the progress bar's label; ``quiet`` disables it.
        metrics_file: where each finished epoch's record is appended as one JSON line
            (:mod:`~gnn_sparse.training.run_files`); ``None``: nowhere.
        started: ``time.perf_counter()`` when the run started (default: when :meth:`run` starts).
        selection: the split whose accuracy picks the best epoch shown on the progress bar
            (``"val"``; ``"test"`` under the original protocol).
    """

    method: Any
    model: torch.nn.Module
    dp: Any
    steps_per_epoch: int
    rng: torch.Generator
    checkpoint_file: Path
    checkpoint_meta: dict[str, Any]
    desc: str
    quiet: bool = False
    started: float | None = None
    metrics_file: Path | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    elapsed_before: float = 0.0
    selection: str = "val"

    def run(self, train_epoch: TrainEpoch, evaluate: Callable[[], dict[str, Any]],
            ckpt: dict[str, Any] | None = None, on_fresh_start: Callable[[], None] | None = None,
            on_epoch_end: Callable[[dict[str, Any]], None] | None = None) -> list[dict[str, Any]]:
        """Train every epoch not yet done; return the per-epoch history.

        Args:
            train_epoch: trains one epoch (:data:`TrainEpoch`).
            evaluate: ``{"val": metrics, "test": metrics}`` of the bare model.
            ckpt: a checkpoint to continue from (its phase and epoch, states and history).
            on_fresh_start: run once after the first phase starts on a fresh run (after the
                method's initial masks, before DDP copies rank 0's weights).
            on_epoch_end: called with each epoch's record after its checkpoint is written.
        """
        started = self.started if self.started is not None else time.perf_counter()
        method, model, dp = self.method, self.model, self.dp
        phases = method.phases()
        first_phase, first_epoch = 0, 0
        if ckpt is not None:
            first_phase, first_epoch = ckpt["phase_index"], ckpt["epoch_in_phase"]
            self.history, self.elapsed_before = list(ckpt["history"]), ckpt["elapsed_s"]
        if self.metrics_file is not None:  # empty when fresh; on a resume the checkpoint's epochs only
            dp.on_writer(lambda: start_metrics(self.metrics_file, self.history))
        bar = tqdm(total=sum(p.epochs for p in phases), initial=len(self.history), desc=self.desc,
                   unit="epoch", disable=self.quiet, dynamic_ncols=True, file=sys.stderr)
        for phase_index in range(first_phase, len(phases)):
            phase = phases[phase_index]
            optimizer, scheduler = method.start_phase(phase, model, self.steps_per_epoch)
            start = 0
            if ckpt is not None and phase_index == first_phase:
                model.load_state_dict(ckpt["model"])
                optimizer.load_state_dict(ckpt["optimizer"])
                scheduler.load_state_dict(ckpt["scheduler"])
                method.load_state_dict(ckpt["method"])
                set_rng_state(ckpt["rng"], self.rng)
                start = first_epoch
            elif phase_index == 0 and on_fresh_start is not None:
                on_fresh_start()
            train_model = dp.wrap(model)  # DDP, built once the weights are final (broadcasts rank 0's)
            for epoch_in_phase in range(start, phase.epochs):
                epoch = len(self.history)
                tick = time.perf_counter()
                lr = optimizer.param_groups[0]["lr"]  # the lr this epoch trains with
                fields = train_epoch(train_model, optimizer, epoch)
                dp.sync_buffers(model)  # rank 0's BatchNorm statistics everywhere, before evaluating
                scheduler.step()
                method.after_epoch(phase, epoch_in_phase)
                train_time = time.perf_counter() - tick
                record = {"epoch": epoch + 1, "phase": phase.name, "selectable": phase.selectable, "lr": lr,
                          **fields, **evaluate(),
                          "train_time_s": train_time, "time_s": time.perf_counter() - tick}
                self.history.append(record)
                method_state = method.state_dict()
                dp.check_replicas(f"epoch {epoch + 1}", model=model.state_dict(), method=method_state)
                dp.on_writer(lambda: self._write_epoch(record, {
                    **self.checkpoint_meta, "phase_index": phase_index,
                    "epoch_in_phase": epoch_in_phase + 1, "history": self.history,
                    "elapsed_s": self.elapsed_before + time.perf_counter() - started,
                    "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(), "method": method_state, "rng": rng_state(self.rng),
                }))
                bar.update()
                bar.set_postfix(loss=f"{record['train_loss']:.4f}", val_acc=f"{record['val']['accuracy']:.2f}",
                                best=select_best(self.history, self.selection)["epoch"] if phase.selectable else "-")
                if on_epoch_end is not None:
                    on_epoch_end(record)
        bar.close()
        return self.history

    def _write_epoch(self, record: dict[str, Any], checkpoint: dict[str, Any]) -> None:
        """The checkpoint first: an epoch in ``metrics.jsonl`` is always one a resume keeps."""
        save_checkpoint(self.checkpoint_file, checkpoint)
        if self.metrics_file is not None:
            append_metrics(self.metrics_file, record)
