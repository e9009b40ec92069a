"""``run_link_prediction.py``: the application layer of link prediction.

Three subcommands: ``train`` (one run per seed; the default, so ``run_link_prediction.py
--epochs 5`` is ``run_link_prediction.py train --epochs 5``), ``compare`` (a comparison grid
and its report, :mod:`gnn_sparse.reports.compare`) and ``report`` (the report again, from
the results). ``train`` and ``compare`` take the same single-run options
(:func:`gnn_sparse.training.options.run_arguments`, given to both through ``parents=``).
This layer also registers the ADMM baseline (``--method admm``,
:func:`baselines.link_prediction.register_admm`) and sets up logging (``--log-level``).

Bad input (an unknown method, dataset or encoder; a value out of range or not finite;
``--device cuda`` without a GPU; an unwritable results folder; ``--resume`` against a
different config) exits with code 2 and one line on stderr naming the flag, never a
traceback.
"""
from __future__ import annotations

import argparse
import sys
from typing import Sequence

from baselines.link_prediction import register_admm
from gnn_sparse.data.errors import DataError
from gnn_sparse.reports.compare import add_compare_parser, add_report_parser, compare_main, report_main
from gnn_sparse.training import ConfigError, RunConfig, RunOptions, run
from gnn_sparse.training.commands import run_and_summarise
from gnn_sparse.training.distributed import is_main_process
from gnn_sparse.training.options import configs_from_args, run_arguments
from gnn_sparse.utils.arguments import HelpFormatter, OneLineErrorParser

PROG = "run_link_prediction.py"
SUBCOMMANDS = ("train", "compare", "report")


def with_subcommand(argv: Sequence[str]) -> list[str]:
    """``argv`` with ``train`` in front when it names no subcommand (and is not a request
    for the overall help), so that every command line from before the subcommands works."""
    argv = list(argv)
    if argv and (argv[0] in SUBCOMMANDS or argv[0] in ("-h", "--help")):
        return argv
    return ["train", *argv]


def build_parsers(argv: Sequence[str] = ()) -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    """The command line and its subcommands' parsers, ``{"train": ..., "compare": ...,
    "report": ...}``. ``argv`` (after ``compare``) chooses ``compare``'s single-run options:
    the image runner's for an image ``--dataset``."""
    register_admm()
    p = OneLineErrorParser(
        prog=PROG, formatter_class=HelpFormatter,
        description="Temporal link prediction with a GCN encoder and the paper's two fully connected "
                    "layers, trained dense or sparse (DST-EE, RigL, SET, static) or pruned with ADMM.",
        epilog=f"Without a subcommand, {PROG} trains: '{PROG}' alone runs DST-EE at 90% sparsity on "
               f"the embedded synthetic graph. '{PROG} SUBCOMMAND --help' lists a subcommand's options.")
    sub = p.add_subparsers(dest="command", title="subcommands", metavar="{train,compare,report}")
    common = dict(formatter_class=HelpFormatter)
    train = sub.add_parser(
        "train", parents=[run_arguments()], **common,
        help="train and evaluate one run per seed (the default subcommand)",
        description="Train and evaluate the link predictor, one run per --seed, then print a summary "
                    "table. Without options: DST-EE at 90% sparsity on the embedded synthetic graph.")
    train.add_argument("--export-sparse", default=None, metavar="PATH",
                       help="after the run (trained now or finished before), write its last-epoch model with "
                            "the masked weights as torch.sparse_csr to PATH (several seeds: PATH with -seedN); "
                            "load with gnn_sparse.training.export.load_link_predictor")
    commands = {"train": train,
                "compare": add_compare_parser(sub, argv, **common),
                "report": add_report_parser(sub, **common)}
    return p, commands


def build_parser() -> argparse.ArgumentParser:
    """The command line (see :func:`build_parsers`)."""
    return build_parsers()[0]


def main(argv: Sequence[str] | None = None) -> int:
    argv = with_subcommand(sys.argv[1:] if argv is None else argv)
    parser, commands = build_parsers(argv[1:] if argv[:1] == ["compare"] else ())
    args = parser.parse_args(argv)
    command = commands[args.command]
    if args.command == "compare":
        return compare_main(args, command, argv[1:])
    if args.command == "report":
        return report_main(args, command, argv[1:])
    run_one = run if args.export_sparse is None else _exporting(args)
    return run_and_summarise(command, args, configs_from_args, run_one, errors=(ConfigError, DataError))


def _exporting(args):
    """``run`` followed by :func:`~gnn_sparse.training.export.export_run` (rank 0 only)."""
    from pathlib import Path

    from gnn_sparse.training.export import export_run

    def run_one(config: RunConfig, options: RunOptions):
        sparse = config.sparse
        if sparse.method == "dense" or sparse.sparsity == 0:  # refuse before training, not after
            raise ConfigError(f"--export-sparse: a dense run (method {sparse.method!r}, sparsity {sparse.sparsity:g}) "
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


if __name__ == "__main__":
    sys.exit(main())
