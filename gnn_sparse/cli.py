"""``run_link_prediction.py``: train and evaluate the GCN link predictor with any method.

Bad input (an unknown method, dataset or encoder; a value out of range; ``--device cuda``
without a GPU; an unwritable results folder; ``--resume`` against a different config) exits
with code 2 and one line on stderr, never a traceback.
"""
from __future__ import annotations

import argparse
import sys
from typing import Sequence

import torch

from baselines.link_prediction import register_admm
from gnn_sparse.data.errors import DataError
from gnn_sparse.training import ConfigError, RunConfig, RunOptions, run, summary_table
from gnn_sparse.training.distributed import is_main_process, shutdown
from gnn_sparse.training.options import configs_from_args, run_arguments
from gnn_sparse.utils.arguments import OneLineErrorParser
from gnn_sparse.utils.logs import configure_logging

def build_parser() -> argparse.ArgumentParser:
    """The single-run command line; ``--method`` offers every method, ADMM included."""
    register_admm()
    p = OneLineErrorParser(prog="run_link_prediction.py", formatter_class=argparse.ArgumentDefaultsHelpFormatter,
                           parents=[run_arguments()],
                           description="Temporal link prediction with a GCN encoder and the paper's two fully "
                                       "connected layers, trained dense or sparse (DST-EE, RigL, SET, static). "
                                       "Without arguments: DST-EE at 90%% sparsity on the embedded synthetic graph.")
    p.add_argument("--export-sparse", default=None, metavar="PATH",
                   help="after the run (trained now or finished before), write its last-epoch model with the "
                        "masked weights as torch.sparse_csr to PATH (several seeds: PATH with -seedN); load with "
                        "gnn_sparse.training.export.load_link_predictor")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] in ("compare", "report"):  # grid subcommands (issue 6); a single run has no positional
        from gnn_sparse.reports.compare import main as grid_main

        register_admm()
        return grid_main(argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    run_one = run if args.export_sparse is None else _exporting(args)
    return run_and_summarise(parser, args, configs_from_args, run_one, errors=(ConfigError, DataError))


def _exporting(args):
    """``run`` followed by :func:`~gnn_sparse.training.export.export_run` (rank 0 only)."""
    from pathlib import Path

    from gnn_sparse.training.export import export_run

    def run_one(config: RunConfig, options: RunOptions):
        if config.method == "dense" or config.sparsity == 0:  # refuse before training, not after
            raise ConfigError(f"--export-sparse: a dense run (method {config.method!r}, sparsity {config.sparsity:g}) "
                              "has no sparse weights to export; use --method dst-ee, rigl, set, static or admm")
        results = run(config, options)
        path = Path(args.export_sparse)
        if len(args.seed) > 1:
            path = path.with_name(f"{path.stem}-seed{config.seed}{path.suffix}")
        if is_main_process():
            export_run(options.results_dir, results["run_id"], path)
            print(f"sparse model: {path}", file=sys.stderr)
        return results

    return run_one


def run_and_summarise(parser, args, make_configs, run_one, errors=(ConfigError,)) -> int:
    """The body shared by the single-run CLIs: ``--threads``, one run per seed, one-line
    errors (exit 2), an interruption note (exit 130), then the summary table. Returns the
    exit code."""
    results = []
    configure_logging(args.log_level or ("WARNING" if args.quiet else "INFO"))
    try:
        if args.threads is not None:
            if args.threads <= 0:
                raise ConfigError(f"--threads must be a positive integer, got {args.threads}")
            torch.set_num_threads(args.threads)
        configs = make_configs(args)
        for config in configs:
            name = args.run_name
            if name is not None and len(configs) > 1:
                name = f"{name}-seed{config.seed}"
            options = RunOptions(results_dir=args.results_dir, run_name=name, resume=args.resume,
                                 force=args.force, quiet=args.quiet)
            results.append(run_one(config, options))
    except errors as err:
        print(f"{parser.prog}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{parser.prog}: interrupted; the last finished epoch is checkpointed, rerun with --resume",
              file=sys.stderr)
        return 130
    if is_main_process():  # under torchrun: one summary, from rank 0
        print(summary_table(results))
        print(f"results: {args.results_dir}/ (one JSON per run, index.jsonl)")
    shutdown(synchronize=True)  # under torchrun: every rank is done before any tears down
    return 0

if __name__ == "__main__":
    sys.exit(main())
