"""``gnn-sparse`` (also ``python -m gnn_sparse`` and ``run_link_prediction.py``): the
application layer, one command line for everything.

Five subcommands: ``train`` (link prediction, one run per seed; the default, so
``gnn-sparse --epochs 5`` is ``gnn-sparse train --epochs 5``), ``compare`` (a comparison grid
and its report, :mod:`gnn_sparse.reports.compare`), ``report`` (the report again, from the
results), ``study`` (the exploration study's results page,
:mod:`gnn_sparse.reports.study_report`) and ``vision`` (the image runner, :mod:`gnn_sparse.vision.cli`). ``train`` and
``compare`` take the same single-run options
(:func:`gnn_sparse.training.options.run_arguments`, given to both through ``parents=``).
This layer also registers the ADMM baseline (``--method admm``,
:func:`baselines.link_prediction.register_admm`) and sets up logging (``--log-level``).

Only the chosen subcommand's modules are imported, so ``gnn-sparse vision`` runs without the
graph libraries and ``gnn-sparse train`` without the report ones; a subcommand whose optional
dependencies are missing exits with code 2 and one line naming the extra to install.

Bad input (an unknown method, dataset or encoder; a value out of range or not finite;
``--device cuda`` without a GPU; an unwritable results folder; ``--resume`` against a
different config) exits with code 2 and one line on stderr naming the flag, never a
traceback.
"""
from __future__ import annotations

import argparse
import sys
from typing import Sequence

from gnn_sparse.utils.arguments import HelpFormatter, OneLineErrorParser
from gnn_sparse.utils.extras import reporting_missing_dependencies

PROG = "gnn-sparse"
SUBCOMMANDS = ("train", "compare", "report", "study", "vision")
LINK_SUBCOMMANDS = ("train", "compare", "report", "study")
SUBCOMMAND_HELP = {
    "train": "train and evaluate a link predictor, one run per seed (the default subcommand)",
    "compare": "train every missing run of a comparison grid, then write its report",
    "report": "rebuild a grid's report from existing results, without training",
    "study": "write the exploration study's results page from its tuning runs and confirmation reports",
    "vision": "image classification (digits, CIFAR-10/100) with the same methods; "
              "'vision --help' lists its options",
}
"""One line per subcommand, shown by ``--help`` (the subcommands' own parsers say the same)."""
EXTRAS = {"train": ("graph", "twalk"), "compare": ("graph", "reports", "vision"), "report": ("reports",),
          "study": ("reports",), "vision": ("vision",)}
"""The extras each subcommand needs, named (first match) when one of their modules is missing."""


def with_subcommand(argv: Sequence[str]) -> list[str]:
    """``argv`` with ``train`` in front when it names no subcommand (and is not a request
    for the overall help), so that every command line from before the subcommands works."""
    argv = list(argv)
    if argv and (argv[0] in SUBCOMMANDS or argv[0] in ("-h", "--help")):
        return argv
    return ["train", *argv]


def build_parsers(argv: Sequence[str] = (), prog: str = PROG, commands: Sequence[str] = LINK_SUBCOMMANDS,
                  ) -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    """The command line and the parsers of ``commands`` (``{"train": ..., "compare": ...,
    "report": ...}``; the other subcommands are listed by ``--help`` but take no options
    here, so building them imports nothing of theirs). ``argv`` (after ``compare``) chooses
    ``compare``'s single-run options: the image runner's for an image ``--dataset``.
    ``vision`` is never built here: :func:`main` hands it to :mod:`gnn_sparse.vision.cli`."""
    p = OneLineErrorParser(
        prog=prog, formatter_class=HelpFormatter,
        description="Sparse training (DST-EE, RigL, SET, static) and ADMM pruning: temporal link prediction "
                    "with a GCN encoder and the paper's two fully connected layers (train, compare, report), "
                    "and image classification with CNNs (vision).",
        epilog=f"Without a subcommand, {prog} trains: '{prog}' alone runs DST-EE at 90% sparsity on "
               f"the embedded synthetic graph. '{prog} SUBCOMMAND --help' lists a subcommand's options.")
    sub = p.add_subparsers(dest="command", title="subcommands", metavar="{" + ",".join(SUBCOMMANDS) + "}")
    common = dict(formatter_class=HelpFormatter)
    built = {}
    if commands:
        from baselines.link_prediction import register_admm

        register_admm()
    for name in SUBCOMMANDS:
        if name not in commands or name == "vision":
            sub.add_parser(name, help=SUBCOMMAND_HELP[name], add_help=False)
        elif name == "train":
            built[name] = _add_train_parser(sub, **common)
        elif name == "study":
            from gnn_sparse.reports.study_report import add_study_parser

            built[name] = add_study_parser(sub, **common)
        elif name == "compare":
            from gnn_sparse.reports.compare import add_compare_parser

            built[name] = add_compare_parser(sub, argv, **common)
        else:
            from gnn_sparse.reports.compare import add_report_parser

            built[name] = add_report_parser(sub, **common)
    return p, built


def _add_train_parser(sub, **common) -> argparse.ArgumentParser:
    from gnn_sparse.training.options import run_arguments

    train = sub.add_parser(
        "train", parents=[run_arguments()], **common, help=SUBCOMMAND_HELP["train"],
        description="Train and evaluate the link predictor, one run per --seed, then print a summary "
                    "table. Without options: DST-EE at 90% sparsity on the embedded synthetic graph.")
    train.add_argument("--export-sparse", default=None, metavar="PATH",
                       help="after the run (trained now or finished before), write its last-epoch model with "
                            "the masked weights as torch.sparse_csr to PATH (several seeds: PATH with -seedN); "
                            "load with gnn_sparse.training.export.load_link_predictor")
    return train


def build_parser(prog: str = PROG) -> argparse.ArgumentParser:
    """The command line (see :func:`build_parsers`)."""
    return build_parsers(prog=prog)[0]


def main(argv: Sequence[str] | None = None, prog: str = PROG) -> int:
    """Run the command line ``argv`` (default: ``sys.argv[1:]``); returns the exit code.
    ``prog`` is the name error lines and ``--help`` show."""
    argv = with_subcommand(sys.argv[1:] if argv is None else argv)
    chosen = argv[0] if argv[0] in SUBCOMMANDS else None
    return reporting_missing_dependencies(lambda: _dispatch(argv, prog), f"{prog} {chosen}" if chosen else prog,
                                          prefer=EXTRAS.get(chosen, ()))


def _dispatch(argv: list[str], prog: str) -> int:
    if argv[0] == "vision":
        from gnn_sparse.vision.cli import main as vision_main

        return vision_main(argv[1:], prog=f"{prog} vision")
    chosen = argv[0] if argv[0] in SUBCOMMANDS else None
    parser, commands = build_parsers(argv[1:] if chosen == "compare" else (), prog=prog,
                                     commands=(chosen,) if chosen else ())
    args = parser.parse_args(argv)
    command = commands[args.command]
    if args.command == "compare":
        from gnn_sparse.reports.compare import compare_main

        return compare_main(args, command, argv[1:])
    if args.command == "report":
        from gnn_sparse.reports.compare import report_main

        return report_main(args, command, argv[1:])
    if args.command == "study":
        from gnn_sparse.reports.study_report import study_main

        return study_main(args, command, argv[1:])
    return _train(args, command)


def _train(args: argparse.Namespace, command: argparse.ArgumentParser) -> int:
    from gnn_sparse.data.errors import DataError
    from gnn_sparse.training import ConfigError, run
    from gnn_sparse.training.commands import run_and_summarise
    from gnn_sparse.training.options import configs_from_args

    run_one = run if args.export_sparse is None else _exporting(args)
    return run_and_summarise(command, args, configs_from_args, run_one, errors=(ConfigError, DataError))


def _exporting(args):
    """``run`` followed by :func:`~gnn_sparse.training.export.export_run` (rank 0 only)."""
    from pathlib import Path

    from gnn_sparse.training import ConfigError, RunConfig, RunOptions, run
    from gnn_sparse.training.distributed import is_main_process
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
