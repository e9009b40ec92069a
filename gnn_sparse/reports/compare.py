"""``run_link_prediction.py compare`` and ``report``: train a comparison grid, write its report.

``compare`` enumerates the grid (:func:`~gnn_sparse.reports.grid.expected_runs`: methods x
sparsities x seeds, DST-EE also x ``c`` at the sweep's sparsity), trains every run that has
no results yet through the normal runner (:func:`gnn_sparse.training.run`), then writes the
report (:func:`~gnn_sparse.reports.write_report`) to ``<reports-dir>/<dataset>/``:

* finished runs are reused (the runner skips a run whose results JSON exists), and an
  interrupted run continues from its checkpoint, so rerunning the same command after an
  interruption continues where the grid stopped;
* a run that raises is recorded as failed and the grid goes on; the report shows it as
  failed (with the error) until a later ``compare`` finishes it;
* bad input (an unknown method or dataset, a results folder holding a run of the same name
  with another config) stops the grid with one line on stderr and exit code 2.

An image dataset (``--dataset digits``, ``cifar10``, ``cifar100``) makes it an image grid
(Table I's analogue): the runs go through the image runner (:mod:`gnn_sparse.vision`), the
single-run options are the image runner's, the defaults are Table I's methods and
sparsities (dense, DST-EE, RigL, SET, static at 90/95/98%) and the presets are
:data:`~gnn_sparse.reports.grid.IMAGE_PRESETS` (``paper``: the dataset's default epochs).

Every option of a single run that the grid does not set itself (``--update-interval``,
``--encoder``, ``--threads``, ``--protocol``, ...) may follow and applies to every run;
``--epochs`` is the dense budget when the preset leaves it "as configured", and ``--c`` is
DST-EE's ``c`` at the sparsities outside the ``c`` sweep. ADMM has two rows: ``admm`` (the
original code's optimizer) and ``admm-run`` (the sparse runs' optimizer, the runner's
``--admm-optimizer run``); ``--methods`` names the ones to train, so ``--admm-optimizer``
itself is the grid's to set. A results folder holds the runs of one ``--protocol`` (runs of
``original`` are named apart, but a report reads one protocol): a grid of another protocol
than the runs already there is refused (exit 2), as a second preset is.

The grid, the failures and each ``compare`` session are kept in the grid record
(:mod:`~gnn_sparse.reports.manifest`); the runs are trained by
:mod:`~gnn_sparse.reports.gridrun`. This module holds the two subcommands' options and mains.
"""
from __future__ import annotations

import argparse
import math
import shlex
import sys
import uuid
from pathlib import Path
from typing import Sequence

from gnn_sparse.reports.grid import (
    DEFAULT_C_VALUES, DEFAULT_METHODS, DEFAULT_SEEDS, DEFAULT_SPARSITIES, EXPLORATION_METHOD, IMAGE_METHODS,
    IMAGE_PRESETS, IMAGE_SPARSITIES, PRESETS, VARIANT_ROWS, expected_runs, knob_option, normalise_c,
    normalise_sparsity, row_options, runner_method,
)
from gnn_sparse.reports.gridrun import grid_order, is_image_dataset, run_grid
from gnn_sparse.reports.manifest import (PROG, load_manifest, manifest_failures, manifest_path, now, safe_name,
                                         save_manifest)
from gnn_sparse.reports.records import NoRunsError, protocols_found
from gnn_sparse.reports.report import write_report
from gnn_sparse.training.config import MAX_SEED, check_int
from gnn_sparse.training.options import configs_from_args, run_arguments, set_threads
from gnn_sparse.utils.arguments import flag_error
from gnn_sparse.utils.logs import LOG_LEVELS, configure_logging

GRID_OWNED = {"method": "--methods", "sparsity": "--sparsities", "seed": "--seeds", "run_name": None,
              "resume": None, "admm_optimizer": "--methods admm-run: the ADMM row with the runs' optimizer",
              "exploration": "--methods dst-ee-normalized / dst-ee-ucb / dst-ee-quota: the variant rows",
              "exploration_rho": "--knobs dst-ee-quota=RHO"}
"""Single-run options the grid sets itself (their flag in ``compare``, if any)."""


class GridError(Exception):
    """Bad input to ``compare``/``report``: printed as one line, exit code 2."""


# --------------------------------------------------------------------------- CLI

def _c_sparsity(text: str):
    if text == "all":
        return text
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a sparsity or 'all', got {text!r}") from None


def _grid_arguments(p: argparse.ArgumentParser, *, defaults: bool) -> None:
    """The grid options shared by ``compare`` (with defaults) and ``report`` (default: the
    grid ``compare`` recorded, else what the results hold)."""
    d = (lambda value: value) if defaults else (lambda value: None)
    recorded = "" if defaults else " (default: the grid compare recorded, else the runs found)"
    grid = p.add_argument_group("the grid")
    grid.add_argument("--methods", nargs="+", default=None, metavar="METHOD",
                      help="methods of the grid; admm-run: ADMM with the sparse runs' optimizer (admm: with "
                           "the original code's)" + (recorded or f" (default: {' '.join(DEFAULT_METHODS)}, "
                                                     f"those registered; images: {' '.join(IMAGE_METHODS)})"))
    grid.add_argument("--sparsities", nargs="+", type=float, default=None, metavar="S",
                      help="target sparsities" + (recorded or " (default: "
                                                  f"{' '.join(map(str, DEFAULT_SPARSITIES))}; "
                                                  f"images: {' '.join(map(str, IMAGE_SPARSITIES))})"))
    grid.add_argument("--seeds", nargs="+", type=int, default=d(list(DEFAULT_SEEDS)), metavar="SEED",
                      help="seeds" + (recorded or f" (default: {' '.join(map(str, DEFAULT_SEEDS))})"))
    grid.add_argument("--c-values", "--exploration-c-values", nargs="+", type=float,
                      default=d(list(DEFAULT_C_VALUES)), metavar="C", dest="c_values",
                      help="DST-EE exploration coefficients of the Fig. 3 study"
                           + (recorded or f" (default: {' '.join(f'{c:g}' for c in DEFAULT_C_VALUES)})"))
    grid.add_argument("--c-sparsity", nargs="+", type=_c_sparsity, default=None, metavar="S",
                      help="sparsities at which DST-EE runs at every --c-values (elsewhere only at --c); "
                           "'all' for every sparsity" + (recorded or " (default: the highest sparsity)"))
    grid.add_argument("--knobs", nargs="+", default=None, metavar="ROW=V[,V...]",
                      help="the knob values of the DST-EE variant rows (" + ", ".join(VARIANT_ROWS) + "): c, "
                           "or rho for the quota, e.g. dst-ee-quota=0.1,0.25" + (recorded or ""))
    grid.add_argument("--reports-dir", default="reports",
                      help="the report goes to REPORTS_DIR/REPORT_NAME/ (default: reports)")
    grid.add_argument("--report-name", default=None, type=_report_name,
                      help="the report's folder (default: the dataset's name, plus '-original' for runs of "
                           "--protocol original), e.g. to keep a grid with another --update-interval apart")


def dataset_of(argv: Sequence[str]) -> str:
    """The ``--dataset`` of a ``compare`` command line (``synthetic`` when absent): it decides
    whose single-run options ``compare`` takes, the link-prediction runner's or the image
    runner's."""
    scout = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    scout.add_argument("--dataset", default="synthetic")
    return scout.parse_known_args(argv)[0].dataset


def add_compare_parser(subparsers, argv: Sequence[str] = (), **kwargs) -> argparse.ArgumentParser:
    """The ``compare`` subcommand: the grid options plus, through ``parents=``, every option
    of a single run (the image runner's when ``argv`` names an image ``--dataset``)."""
    image = is_image_dataset(dataset_of(argv))
    if image:
        from gnn_sparse.vision.options import image_run_arguments

        parent = image_run_arguments()
    else:
        parent = run_arguments()
    p = subparsers.add_parser(
        "compare", parents=[parent], allow_abbrev=False, **kwargs,
        help="train every missing run of a comparison grid, then write its report",
        description="Train every missing run of a comparison grid (finished runs are reused, interrupted "
                    "ones resumed), then write the report to REPORTS_DIR/<dataset>/. Every single-run "
                    "option not set by the grid (--update-interval, --encoder, --threads, --quiet, "
                    "--force, --protocol, ...) applies to every run; --epochs is the dense budget when the "
                    "preset leaves it as configured, --c is DST-EE's c outside the c sweep; --methods admm-run "
                    "adds the ADMM row trained with the sparse runs' optimizer. An image --dataset "
                    "(digits, cifar10, cifar100) runs the image runner with its options ("
                    f"'{PROG} compare --dataset digits --help' lists them).")
    _grid_arguments(p, defaults=True)
    presets = IMAGE_PRESETS if image else PRESETS
    p.add_argument("--preset", default="paper", choices=list(presets),
                   help="epoch budgets: " + "; ".join(f"{n}: {pr.description}" for n, pr in presets.items()))
    return p


def add_report_parser(subparsers, **kwargs) -> argparse.ArgumentParser:
    """The ``report`` subcommand: the grid options, defaulting to what ``compare`` recorded."""
    p = subparsers.add_parser(
        "report", allow_abbrev=False, **kwargs,
        help="rebuild a grid's report from existing results, without training",
        description="Rebuild the comparison report of a dataset from existing results, without "
                    "training, into REPORTS_DIR/<dataset>/.")
    p.add_argument("--dataset", default="synthetic",
                   help="registry name, edge-list path or image dataset, as given to compare")
    p.add_argument("--results-dir", default="results", help="folder of the runs' results")
    _grid_arguments(p, defaults=False)
    p.add_argument("--log-level", choices=LOG_LEVELS, default="INFO", help="lowest level of the log lines shown")
    return p


def _command(argv: Sequence[str]) -> str:
    return "python " + shlex.join([PROG, *argv])


def _variant_knobs(given: Sequence[str] | None, methods: Sequence[str]) -> dict[str, list[float]]:
    """``{row: [knob, ...]}`` from ``--knobs ROW=V,V``; a variant row of ``methods`` without
    values takes its run option's default (``c``, or ``exploration_rho``). :class:`GridError`
    for a malformed entry, an unknown row or a knob that is not a number."""
    from gnn_sparse.training import RunConfig

    knobs: dict[str, list[float]] = {}
    for entry in given or []:
        row, sep, values = entry.partition("=")
        if not sep or row not in VARIANT_ROWS:
            raise GridError(f"--knobs takes ROW=V[,V...] with ROW one of {', '.join(VARIANT_ROWS)}, got {entry!r}")
        try:
            knobs[row] = sorted({normalise_c(float(v)) for v in values.split(",") if v.strip()})
        except ValueError:
            raise GridError(f"--knobs {entry!r}: the values must be numbers") from None
        if not knobs[row]:
            raise GridError(f"--knobs {entry!r}: no value given")
    defaults = RunConfig().to_dict()
    for row in methods:
        if row in VARIANT_ROWS and row not in knobs:
            knobs[row] = [normalise_c(defaults[knob_option(row)])]
    return knobs


def _report_name(name: str) -> str:
    """argparse type of ``--report-name``: one folder name, no path."""
    if not name or name in (".", "..") or safe_name(name) != name:
        raise argparse.ArgumentTypeError(f"{name!r} is not a plain folder name (letters, digits, '_', '.', '-')")
    return name


def report_folder(args: argparse.Namespace, dataset: str, protocol: str | None) -> Path:
    """``REPORTS_DIR/REPORT_NAME``: ``--report-name``, else the dataset's name, with
    ``-original`` for the original protocol so both protocols' reports live side by side."""
    name = args.report_name or safe_name(dataset) + ("-original" if protocol == "original" else "")
    return Path(args.reports_dir) / name


def _c_sparsities(value, sparsities: Sequence[float]) -> list[float] | None:
    """``--c-sparsity`` resolved: ``None`` for 'all', else a list (default: the highest)."""
    if value is None:
        return [max(sparsities)]
    if "all" in value:
        if len(value) > 1:
            raise GridError("--c-sparsity: 'all' cannot be combined with sparsities")
        return None
    wanted = {normalise_sparsity(s) for s in sparsities}
    outside = [s for s in value if normalise_sparsity(s) not in wanted]
    if outside:
        raise GridError(f"--c-sparsity {' '.join(f'{s:g}' for s in outside)} is not among --sparsities "
                        f"{' '.join(f'{s:g}' for s in sparsities)}")
    return sorted({normalise_sparsity(s) for s in value})


def _base_config(args: argparse.Namespace, parser: argparse.ArgumentParser, image: bool):
    """The single-run options of ``args`` as one config (an ``ImageRunConfig`` for an image
    dataset); :class:`GridError` for an option the grid sets itself."""
    if image:
        from gnn_sparse.vision.options import configs_from_args as to_configs
    else:
        to_configs = configs_from_args
    for dest, flag in GRID_OWNED.items():
        if getattr(args, dest) != parser.get_default(dest):
            hint = f"use {flag}" if flag else "compare names and resumes runs itself"
            raise GridError(f"--{dest.replace('_', '-')} is set by the grid ({hint})")
    return to_configs(args)[0]


def _check_grid_values(args: argparse.Namespace) -> None:
    """The grid's own numbers, checked before any run: NaN, inf or out of range values name
    their flag (a run's config would name ``--sparsity``, not ``--sparsities``)."""
    for flag, values, low, high in (("--sparsities", args.sparsities, 0.0, 1.0),
                                    ("--c-values", args.c_values, 0.0, math.inf)):
        for value in values:
            if not (math.isfinite(value) and low <= value < high):
                raise GridError(f"{flag}: each value must be a finite number in [{low:g}, {high:g}), got {value}")
    for seed in args.seeds:
        check_int("--seeds: each seed", seed, 0, MAX_SEED)


def compare_main(args: argparse.Namespace, parser: argparse.ArgumentParser, argv: Sequence[str]) -> int:
    """``compare``: run the grid's missing runs, then write the report. ``args`` were parsed by
    the parser of :func:`add_compare_parser`; ``argv`` (after ``compare``) is recorded as the
    command. Exit code 0; 1 when some run failed (the report shows which); 2 on bad input;
    130 when interrupted."""
    from gnn_sparse.data.errors import DataError
    from gnn_sparse.training import METHODS, ConfigError

    command = _command(["compare", *argv])
    image = is_image_dataset(args.dataset)
    args.sparsities = args.sparsities or list(IMAGE_SPARSITIES if image else DEFAULT_SPARSITIES)
    configure_logging(args.log_level or ("WARNING" if args.quiet else "INFO"))
    try:
        _check_grid_values(args)
        base = _base_config(args, parser, image)
        if not image:
            _check_dataset(base.data.dataset)
        defaults = IMAGE_METHODS if image else DEFAULT_METHODS
        methods = list(dict.fromkeys(args.methods or [m for m in defaults if m in METHODS]))
        unknown = [m for m in methods if runner_method(m) not in METHODS]
        if unknown:
            raise GridError(f"unknown method(s) {', '.join(unknown)}; choose from {', '.join(METHODS)}")
        c_sparsities = _c_sparsities(args.c_sparsity, args.sparsities) if EXPLORATION_METHOD in methods else None
        default_c = normalise_c(base.sparse.c)
        variant_knobs = _variant_knobs(args.knobs, methods)
        for row, values in variant_knobs.items():  # a knob out of range is bad input, not a failed run
            for value in values:
                base.updated(method=runner_method(row), **row_options(row), **{knob_option(row): value})
        keys = expected_runs(methods, args.sparsities, args.seeds, args.c_values,
                             c_sparsities=c_sparsities, default_c=default_c, variant_knobs=variant_knobs)
        set_threads(args.threads)
        dataset = base.data.dataset if image else _recorded_dataset_name(base.data.dataset)
        protocol = getattr(base, "protocol", "sound")
        _check_protocol(args.results_dir, dataset, protocol)
    except (GridError, ConfigError, DataError, ValueError) as err:
        print(f"{parser.prog}: error: {flag_error(err, parser)}", file=sys.stderr)
        return 2

    preset = (IMAGE_PRESETS if image else PRESETS)[args.preset]
    manifest = load_manifest(args.results_dir, dataset)
    manifest.update(dataset=dataset, grid={
        "methods": methods, "sparsities": sorted({normalise_sparsity(s) for s in args.sparsities}),
        "seeds": sorted(set(args.seeds)), "c_values": sorted({normalise_c(c) for c in args.c_values}),
        "c_sparsities": c_sparsities, "default_c": default_c, "preset": preset.name,
        **({"variant_knobs": variant_knobs} if variant_knobs else {}),
        **({} if image else {"protocol": protocol})})
    manifest["sessions"].append({"id": uuid.uuid4().hex, "command": command, "started": now(), "elapsed_s": 0.0,
                                 "finished": False,
                                 "trained": 0, "reused": 0, "failed": 0})
    order = grid_order(keys, default_c)
    print(f"{PROG} compare: {len(order)} runs of {dataset} (preset {preset.name}) into {args.results_dir}/",
          file=sys.stderr, flush=True)
    try:
        Path(args.results_dir).mkdir(parents=True, exist_ok=True)
        save_manifest(args.results_dir, dataset, manifest)
        counts = run_grid(order, base, preset, results_dir=args.results_dir, force=args.force,
                          quiet=args.quiet, manifest=manifest, dataset=dataset)
    except KeyboardInterrupt:
        print(f"{parser.prog}: interrupted; finished runs are kept and the last epoch is checkpointed: "
              "rerun the same command to continue", file=sys.stderr)
        return 130
    except (ConfigError, DataError, OSError) as err:
        hint = (" (a results folder per preset avoids this; --force redoes the runs)"
                if "different config" in str(err) else "")
        print(f"{parser.prog}: error: {err}{hint}", file=sys.stderr)
        return 2
    manifest["sessions"][-1]["finished"] = True
    manifest = save_manifest(args.results_dir, dataset, manifest)  # with other grids' sessions

    grid = manifest["grid"]
    out = report_folder(args, dataset, grid.get("protocol"))
    try:
        write_report(args.results_dir, dataset, out, grid["methods"], grid["sparsities"], grid["seeds"],
                     grid["c_values"], command, c_sparsities=grid["c_sparsities"], default_c=grid["default_c"],
                     variant_knobs=grid.get("variant_knobs"), failures=manifest_failures(manifest),
                     sessions=manifest["sessions"])
    except NoRunsError as err:
        print(f"{parser.prog}: error: {err}", file=sys.stderr)
        return 2
    print(f"trained {counts['trained']}, reused {counts['reused']}, failed {counts['failed']}; "
          f"report: {out}/ (table.md, table.csv, figures, README.md)")
    return 1 if counts["failed"] else 0


def _check_protocol(results_dir: str | Path, dataset: str, protocol: str) -> None:
    """Refuse a grid of ``protocol`` over a results folder that holds runs of ``dataset`` made
    under another protocol (or a grid record saying so): one report reads one protocol, so
    each protocol needs its own results folder, as each preset does."""
    recorded = (load_manifest(results_dir, dataset).get("grid") or {}).get("protocol")
    others = {p: files for p, files in protocols_found(results_dir, dataset).items() if p != protocol}
    if recorded is not None and recorded != protocol:
        others.setdefault(recorded, [str(manifest_path(results_dir, dataset))])
    if others:
        found = "; ".join(f"{p} (e.g. {files[0]})" for p, files in sorted(others.items()))
        raise GridError(f"{results_dir} holds runs of {dataset} made under --protocol {found}; a grid of "
                        f"--protocol {protocol} needs its own results folder (--results-dir)")


def _check_dataset(dataset: str) -> None:
    """Refuse an unknown dataset before the grid starts (the runner would, run after run)."""
    from gnn_sparse.data.registry import known_names

    if dataset not in known_names() and not Path(dataset).is_file():
        raise GridError(f"unknown dataset {dataset!r}; known names: {', '.join(known_names())} "
                        "(or the path of an edge-list file)")


def _recorded_dataset_name(dataset: str) -> str:
    """The name the runs record as ``result["dataset"]``: the registry name, else the file's."""
    from gnn_sparse.data.registry import SYNTHETIC, load_manifest as registry

    from gnn_sparse.data.load import _stem

    if dataset == SYNTHETIC or dataset in registry() or not Path(dataset).is_file():
        return dataset
    return _stem(Path(dataset))


def report_main(args: argparse.Namespace, parser: argparse.ArgumentParser, argv: Sequence[str]) -> int:
    """``report``: rebuild the report from existing results (``args`` from the parser of
    :func:`add_report_parser`). Exit code 0, or 2 with one line when there is nothing to report."""
    configure_logging(args.log_level)
    dataset = _recorded_dataset_name(args.dataset)
    manifest = load_manifest(args.results_dir, dataset)
    grid = manifest.get("grid") or {}
    pick = lambda given, name: given if given is not None else grid.get(name)  # noqa: E731
    c_values = pick(args.c_values, "c_values")
    c_sparsities, default_c = grid.get("c_sparsities"), grid.get("default_c")
    protocols = list(protocols_found(args.results_dir, dataset))
    out = report_folder(args, dataset, grid.get("protocol") or (protocols[0] if len(protocols) == 1 else None))
    try:
        if args.c_sparsity is not None:
            sparsities = pick(args.sparsities, "sparsities") or list(args.c_sparsity)
            c_sparsities = _c_sparsities(args.c_sparsity, [s for s in sparsities if s != "all"])
        write_report(args.results_dir, dataset, out, pick(args.methods, "methods"),
                     pick(args.sparsities, "sparsities"), pick(args.seeds, "seeds"), c_values,
                     _command(["report", *argv]), c_sparsities=c_sparsities, default_c=default_c,
                     variant_knobs=_variant_knobs(args.knobs, []) or grid.get("variant_knobs"),
                     failures=manifest_failures(manifest), sessions=manifest["sessions"])
    except NoRunsError as err:
        print(f"{parser.prog}: error: {err}; run '{PROG} compare' first", file=sys.stderr)
        return 2
    except (GridError, ValueError) as err:
        print(f"{parser.prog}: error: {err}", file=sys.stderr)
        return 2
    print(f"report: {out}/ (table.md, table.csv, figures, README.md)")
    return 0
