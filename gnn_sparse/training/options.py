"""The options of a single link-prediction run, shared by the ``train`` and ``compare``
commands (:mod:`gnn_sparse.cli`, :mod:`gnn_sparse.reports.compare`) and, for the schedule,
ADMM and output groups, by the image runner's command line.

They live here, below the command lines, so that the grid driver and the CLI both import
them and neither imports the other.
"""
from __future__ import annotations

import argparse
import json
from typing import Sequence

import torch

from gnn_sparse.features.embedding import AUTO_NUMBA_NODES
from gnn_sparse.models import ENCODERS, SPARSIFY_SCOPES
from gnn_sparse.sparsity.exploration import EXPLORATION_VARIANTS
from gnn_sparse.training.config import (
    IMPLIED_BY_PROTOCOL,
    PROTOCOLS,
    SKIPGRAM_BACKENDS,
    ConfigError,
    RunConfig,
    check_int,
)
from gnn_sparse.training.config_groups import ADMM_OPTIMIZERS
from gnn_sparse.training.methods import METHODS
from gnn_sparse.training.lifecycle import RunOptions
from gnn_sparse.utils.logs import LOG_LEVELS

DEFAULTS = RunConfig().to_dict()
"""The defaults of every option, by its flat key (the results JSON's ``config``)."""
MAX_THREADS = 1024
"""Cap on ``--threads`` (torch would take 10**20 and fail with an overflow traceback)."""


def add_schedule_arguments(group, d: dict) -> None:
    """The mask-update schedule, DST-EE's coefficients and plug-in options (shared by the
    link-prediction and image CLIs; ``d``: the defaults, by flat key)."""
    group.add_argument("--end-fraction", type=float, default=d["end_fraction"],
                       help="no mask updates after this fraction of all steps (T_end)")
    group.add_argument("--drop-fraction", type=float, default=d["drop_fraction"],
                       help="initial fraction of active weights dropped and regrown per update")
    group.add_argument("--drop-schedule", default=d["drop_schedule"], choices=["cosine", "constant"],
                       help="decay of the drop fraction over the steps")
    group.add_argument("--c", "--exploration-c", type=float, default=d["c"],
                       help="DST-EE exploration coefficient c in the score |grad| + c ln(t) / (N + eps)")
    group.add_argument("--c-decay", "--exploration-c-decay", type=float, default=d["c_decay"],
                       help="DST-EE: c is multiplied by this ...")
    group.add_argument("--c-decay-interval", "--exploration-c-decay-interval", type=int, default=d["c_decay_interval"],
                       metavar="STEPS", help="... every this many steps")
    group.add_argument("--eps", "--exploration-eps", type=float, default=d["eps"],
                       help="DST-EE epsilon in c ln(t) / (N + eps)")
    group.add_argument("--exploration", default=d["exploration"], choices=list(EXPLORATION_VARIANTS),
                       help="DST-EE's grow rule: paper (Eq. 1), normalized (|grad| / layer scale + the Eq. 1 "
                            "bonus, with --c), ucb (gradient percentile + c sqrt(ln q / (N + 1)), with --c), "
                            "quota (a fraction --exploration-rho of each update's growth to the least-visited "
                            "weights, the rest RigL); the variants grow zero-gradient weights last")
    group.add_argument("--exploration-rho", type=float, default=d["exploration_rho"], metavar="RHO",
                       help="--exploration quota: the fraction of growth slots for the least-visited weights")
    group.add_argument("--method-option", action="append", default=[], metavar="KEY=VALUE",
                       help="extra option of a plug-in method (repeatable; VALUE parsed as JSON if possible)")
    group.add_argument("--exploitation-probe", action=argparse.BooleanOptionalAction, default=d["exploitation_probe"],
                       help="measure the exploitation degree L_g of every mask update (one extra forward pass "
                            "per update); --no-exploitation-probe for timing runs")


def add_rho_arguments(group, d: dict) -> None:
    """ADMM's penalty coefficient and its growth factor, and its optimizer."""
    group.add_argument("--rho", "--admm-rho", type=float, default=d["rho"], help="ADMM penalty coefficient rho > 0")
    group.add_argument("--rho-factor", "--admm-rho-factor", type=float, default=d["rho_factor"],
                       help="rho is multiplied by this at each Z/U update (1: constant)")
    group.add_argument("--admm-optimizer", default=d["admm_optimizer"], choices=ADMM_OPTIMIZERS,
                       help="original: SGD lr 0.05 without momentum or weight decay, lr x0.98 per epoch in "
                            "pretraining and retraining, as the original code; run: every phase uses the "
                            "sparse runs' optimizer (--lr, --momentum, --nesterov, --weight-decay) and "
                            "--lr-schedule over the phase's epochs; the run is then named admm-run")


def add_output_arguments(p: argparse.ArgumentParser, run_name_pattern: str) -> None:
    """Where results go and what to do with earlier runs (read by :func:`run_and_summarise`)."""
    out = p.add_argument_group("results and checkpoints")
    out.add_argument("--results-dir", default=RunOptions.results_dir,
                     help="folder of results JSONs, index.jsonl and checkpoints/")
    out.add_argument("--run-name", default=None,
                     help=f"name of the run (default: {run_name_pattern}); "
                          "with several seeds '-seedN' is appended")
    out.add_argument("--resume", action="store_true", help="continue an interrupted run from its checkpoint")
    out.add_argument("--force", action="store_true", help="redo a finished run, ignoring results and checkpoint")
    out.add_argument("--quiet", action="store_true", help="no progress bars or notes (the summary is printed)")
    out.add_argument("--log-level", choices=LOG_LEVELS, default=None,
                     help="lowest level of the log lines shown on stderr (mask updates, ADMM updates "
                          "and skipped updates are INFO / WARNING lines); default: INFO, or WARNING "
                          "with --quiet")


def run_arguments() -> argparse.ArgumentParser:
    """The options of one link-prediction run, as a parent parser (``parents=[...]``) of the
    ``train`` and ``compare`` commands. ``--method`` offers the methods registered when it is
    called."""
    d = DEFAULTS
    p = argparse.ArgumentParser(add_help=False)
    protocol = p.add_argument_group("protocol")
    protocol.add_argument("--protocol", default=d["protocol"], choices=PROTOCOLS,
                          help="sound: the split, features and selection as set below (best epoch on "
                               "validation); original: the paper's protocol in one switch: --split original, "
                               "--leaky-embeddings (twalk only; the other encoders learn from the training "
                               "graph) and the best epoch chosen on test accuracy; runs named '-original'; a "
                               "conflicting --split or --no-leaky-embeddings is refused")
    data = p.add_argument_group("data")
    data.add_argument("--dataset", default=d["dataset"],
                      help="registry name (synthetic, email-eu, college-msg, ia-email, wiki-talk, wiki-talk-twin, ...; "
                           "see docs/data.md) or the path of an edge-list file")
    data.add_argument("--columns", default=d["columns"],
                      help="column roles of an edge-list file, e.g. 'src,dst,weight,time' (default: the registry's)")
    data.add_argument("--data-root", default=d["data_root"],
                      help="folder for downloads and processed splits (default: $GNN_SPARSE_DATA, else "
                           "the user's cache folder, ~/.cache/gnn-sparse)")
    data.add_argument("--split", default=None, choices=["chronological", "original"],
                      help="chronological (oldest/next/newest events) or the original, leaky protocol "
                           f"(default: {d['split']}; original under --protocol original)")
    data.add_argument("--val-ratio", type=float, default=d["val_ratio"], help="fraction of events for validation")
    data.add_argument("--test-ratio", type=float, default=d["test_ratio"], help="fraction of events for test")
    data.add_argument("--neg-ratio", "--negatives-per-positive", type=float, default=d["neg_ratio"],
                      help="negatives per positive pair")
    data.add_argument("--ranking-negatives", type=int, default=d["ranking_negatives"], metavar="K",
                      help="fixed negatives each validation and test positive is ranked against for MRR and "
                           "Hits@1/3/10 (destinations that never form an edge with its source, drawn once per "
                           "seed); 0: no ranking metrics")
    data.add_argument("--directed", action=argparse.BooleanOptionalAction, default=d["directed"],
                      help="keep edge direction in message passing and in the excluded negatives")

    method = p.add_argument_group("method and sparsity")
    method.add_argument("--method", default=d["method"], choices=list(METHODS), help="training method")
    method.add_argument("--sparsity", type=float, default=d["sparsity"],
                        help="target fraction of zeros in each sparsified weight, in [0, 1) (ignored by dense)")
    method.add_argument("--sparsify", default=d["sparsify"], choices=list(SPARSIFY_SCOPES),
                        help="which weights to sparsify: fc1/fc2 (the paper), the GNN layers, or both")
    method.add_argument("--distribution", default=d["distribution"], choices=["uniform", "erk"],
                        help="how the sparsity is spread over layers")
    method.add_argument("--update-interval", type=int, default=d["update_interval"], metavar="T",
                        help="T: optimizer steps between mask updates")
    add_schedule_arguments(method, d)

    admm = p.add_argument_group(
        "ADMM prune-from-dense (--method admm)",
        "dense pretraining, ADMM training, hard pruning to --sparsity (0: no pruning) and masked "
        "retraining; by default SGD lr 0.05 without momentum or weight decay as the original, so "
        "--lr, --momentum, --weight-decay and --lr-schedule do not apply (they do with "
        "--admm-optimizer run); --epochs never does: the run trains the three phases' epochs; the "
        "best epoch is chosen among the retraining epochs")
    admm.add_argument("--pretrain-epochs", type=int, default=d["pretrain_epochs"],
                      help="dense pretraining epochs (original optimizer: lr 0.05 x 0.98 per epoch)")
    admm.add_argument("--admm-epochs", type=int, default=d["admm_epochs"],
                      help="ADMM epochs (original optimizer: lr 0.05 constant; a Z/U update between "
                           "consecutive ADMM epochs)")
    admm.add_argument("--retrain-epochs", type=int, default=d["retrain_epochs"],
                      help="masked retraining epochs after hard pruning (original optimizer: lr 0.05 x 0.98 "
                           "per epoch), >= 1")
    add_rho_arguments(admm, d)

    model = p.add_argument_group("model")
    model.add_argument("--encoder", default=d["encoder"], choices=list(ENCODERS),
                       help="graph encoder; none = the learnable node embedding feeds fc1 directly; "
                            "twalk = the original pipeline: fixed temporal-random-walk skip-gram node "
                            "embeddings (--out-dim wide, trained on train+val events), only fc1/fc2 train")
    model.add_argument("--embedding-dim", type=int, default=d["embedding_dim"], help="learnable node input size")
    model.add_argument("--hidden-dim", type=int, default=d["hidden_dim"], help="size of the encoder's hidden layers")
    model.add_argument("--out-dim", type=int, default=d["out_dim"],
                       help="node embedding size (fc1 takes twice this)")
    model.add_argument("--num-layers", type=int, default=d["num_layers"], help="number of GNN layers")
    model.add_argument("--fc-hidden", type=int, default=d["fc_hidden"], help="width of fc1")

    batches = p.add_argument_group("mini-batches of big graphs (gcn, sage; docs/big_graphs.md)")
    batches.add_argument("--num-neighbors", type=int, nargs="+", default=d["num_neighbors"], metavar="K",
                         help="sampled neighbours per GNN layer (one per layer, or one for all; -1 = every "
                              "neighbour; -1 alone forces full-graph encoding); default: full graph when "
                              "nodes + training edges <= 1,000,000, else 10 per layer")
    batches.add_argument("--embedding-optimizer", default=d["embedding_optimizer"], choices=["auto", "dense", "lazy"],
                         help="node-embedding updates of sampled runs: lazy = SGD on the rows a batch touches; "
                              "dense = exact SGD over every row each step; auto = lazy when sampled")
    batches.add_argument("--control-variates", action=argparse.BooleanOptionalAction, default=d["control_variates"],
                         help="sampled GCN runs: VR-GCN control variates (sample only the difference from a "
                              "history of each layer's input, add the history's exact neighbour sum); lower "
                              "variance, each step reads every in-edge of the sampled nodes (docs/big_graphs.md)")

    twalk = p.add_argument_group("temporal-walk features (--encoder twalk; cached under the data root)")
    twalk.add_argument("--leaky-embeddings", action=argparse.BooleanOptionalAction, default=None,
                       help="train the embedding on the whole graph, test edges included, as the original "
                            "did (leaks test links; labelled '-leaky' in the run name and results); default: "
                            "off, on under --protocol original")
    twalk.add_argument("--walks-per-node", type=int, default=d["walks_per_node"],
                       help="walks started at each node with an out-edge")
    twalk.add_argument("--walk-length", type=int, default=d["walk_length"], help="maximum steps per walk")
    twalk.add_argument("--walk-dt", type=float, default=d["walk_dt"],
                       help="time scale of the exp((t_e - t_cur) / dt) step bias, in units of the time span; "
                            "None = each node's own out-edge time span, as in the original")
    twalk.add_argument("--skipgram-window", type=int, default=d["skipgram_window"], help="skip-gram context window")
    twalk.add_argument("--skipgram-negatives", type=int, default=d["skipgram_negatives"],
                       help="skip-gram negative samples per positive")
    twalk.add_argument("--skipgram-epochs", type=int, default=d["skipgram_epochs"],
                       help="skip-gram passes over the walks")
    twalk.add_argument("--skipgram-workers", type=int, default=d["skipgram_workers"],
                       help="skip-gram threads: 1 gives identical embeddings for identical seeds; more are "
                            "faster on free cores but not reproducible (recorded in the results and the cache key)")
    twalk.add_argument("--skipgram-backend", choices=SKIPGRAM_BACKENDS, default=d["skipgram_backend"],
                       help="skip-gram implementation: gensim's Word2Vec, or the same algorithm compiled with "
                            "numba, several times faster on big graphs (docs/big_graphs.md); not bit-equal. auto: "
                            f"numba from {AUTO_NUMBA_NODES:,} nodes on (when installed), gensim below; the run "
                            "records the choice")

    optim = p.add_argument_group("optimisation (all methods)")
    optim.add_argument("--epochs", type=int, default=d["epochs"], help="training epochs")
    optim.add_argument("--batch-size", type=int, default=d["batch_size"],
                       help="labelled pairs per optimizer step; under torchrun the global batch, split "
                            "over the processes (docs/distributed.md)")
    optim.add_argument("--lr", "--learning-rate", type=float, default=d["lr"], help="SGD learning rate")
    optim.add_argument("--momentum", type=float, default=d["momentum"], help="SGD momentum")
    optim.add_argument("--nesterov", action=argparse.BooleanOptionalAction, default=d["nesterov"],
                       help="Nesterov momentum")
    optim.add_argument("--weight-decay", type=float, default=d["weight_decay"], help="L2 weight decay")
    optim.add_argument("--lr-schedule", default=d["lr_schedule"], choices=["cosine", "constant"],
                       help="per-epoch learning-rate schedule (cosine annealing to 0)")
    optim.add_argument("--seed", type=int, nargs="+", default=[d["seed"]],
                       help=f"random seed(s); several seeds run one after another and are summarised "
                            f"(default: {d['seed']})")
    optim.add_argument("--device", default="auto",
                       help="auto, cpu, cuda or cuda:N; under torchrun each process uses cuda:LOCAL_RANK "
                            "(nccl) or the CPU (gloo)")
    optim.add_argument("--threads", type=int, default=None,
                       help="CPU threads for torch (default: torch's choice; 1 is fastest for small "
                            "graphs on a busy machine)")

    add_output_arguments(p, "dataset-method-encoder-sparsify-sSPARSITY-seedN")
    return p


def parse_method_options(items: Sequence[str]) -> dict:
    """``["KEY=VALUE", ...]`` to a dict; values are parsed as JSON where they can be."""
    options = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"--method-option expects KEY=VALUE, got {item!r}")
        try:
            options[key] = json.loads(value)
        except json.JSONDecodeError:
            options[key] = value
    return options


def configs_from_args(args: argparse.Namespace, config_cls=RunConfig) -> list:
    """One ``config_cls`` (:class:`RunConfig`, or the image runner's config) per ``--seed``,
    from the parsed options: one flag per flat key (validated: raises :class:`ConfigError`)."""
    keys = {key for group in config_cls.groups().values() for key in group} - {"seed", "method_options"}
    values = {key: getattr(args, key) for key in keys}
    # not given on the command line: the config's default, or what --protocol implies
    values = {k: v for k, v in values.items() if not (v is None and k in IMPLIED_BY_PROTOCOL)}
    options = parse_method_options(args.method_option)
    return [config_cls.from_dict({**values, "method_options": options, "seed": seed})
            for seed in dict.fromkeys(args.seed)]


def set_threads(threads: int | None) -> None:
    """``--threads``: torch's intra-op threads (``None``: torch's choice); :class:`ConfigError`
    outside ``[1, MAX_THREADS]``."""
    if threads is not None:
        check_int("--threads", threads, 1, MAX_THREADS)
        torch.set_num_threads(threads)
