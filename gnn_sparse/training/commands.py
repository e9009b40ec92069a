"""The body shared by the single-run command lines (``gnn-sparse train`` and ``gnn-sparse
vision``): ``--threads``, one run per seed, one-line errors, the summary table.

It lives in the training layer, below both command lines, so that the image command line
does not import the link-prediction one (nor the other way round).
"""
from __future__ import annotations

import argparse
import sys
from typing import Any, Callable, Sequence

from gnn_sparse.training.config_checks import ConfigError
from gnn_sparse.training.distributed import is_main_process, shutdown
from gnn_sparse.training.options import set_threads
from gnn_sparse.training.results import summary_table
from gnn_sparse.training.lifecycle import RunOptions
from gnn_sparse.utils.arguments import flag_error
from gnn_sparse.utils.logs import configure_logging


def run_and_summarise(parser: argparse.ArgumentParser, args: argparse.Namespace,
                      make_configs: Callable[[argparse.Namespace], Sequence[Any]],
                      run_one: Callable[[Any, RunOptions], dict[str, Any]],
                      errors: tuple[type[BaseException], ...] = (ConfigError,)) -> int:
    """``--threads``, one run per seed, one-line errors (exit 2), an interruption note (exit
    130), then the summary table. Returns the exit code."""
    results = []
    configure_logging(args.log_level or ("WARNING" if args.quiet else "INFO"))
    try:
        set_threads(args.threads)
        configs = make_configs(args)
        for config in configs:
            name = args.run_name
            if name is not None and len(configs) > 1:
                name = f"{name}-seed{config.seed}"
            options = RunOptions(results_dir=args.results_dir, run_name=name, resume=args.resume,
                                 force=args.force, quiet=args.quiet)
            results.append(run_one(config, options))
    except errors as err:
        print(f"{parser.prog}: error: {flag_error(err, parser)}", file=sys.stderr)
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
