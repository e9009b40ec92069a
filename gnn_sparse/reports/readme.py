"""The report folder's ``README.md``: how the report was made and what went into it.

It records what a reader needs to trust or redo the comparison: the producing command,
the data fingerprint (sha256 of the graph file, as the runs recorded it), library
versions, hardware and total training wall time, plus every file or run left out.
"""
from __future__ import annotations

import os
import platform
from collections import Counter
from datetime import datetime, timezone
from typing import Sequence

import pandas as pd

from gnn_sparse.reports.grid import RunKey
from gnn_sparse.reports.records import LoadedRuns, Run, data_fingerprint, run_versions


def format_duration(seconds: float) -> str:
    """``3725.0`` -> ``"1 h 02 min 05 s (3725 s)"``."""
    whole = int(round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours} h {minutes:02d} min {secs:02d} s ({seconds:.0f} s)"


def _bullets(items: Sequence[str], empty: str) -> list[str]:
    return [f"- {item}" for item in items] if items else [f"- {empty}"]


def _versions(runs: Sequence[Run]) -> list[str]:
    """Each library with the versions the runs recorded, and how many runs used each."""
    seen: dict[str, Counter] = {}
    for run in runs:
        for library, version in run_versions(run.result).items():
            seen.setdefault(library, Counter())[str(version)] += 1
    return [f"{library}: " + ", ".join(f"{v} ({n} runs)" for v, n in counts.most_common())
            for library, counts in seen.items()]


def _builder_versions() -> str:
    import matplotlib

    import gnn_sparse

    return (f"python {platform.python_version()}, gnn_sparse {gnn_sparse.__version__}, "
            f"pandas {pd.__version__}, matplotlib {matplotlib.__version__}")


def render_readme(*, dataset: str, loaded: LoadedRuns, used: Sequence[Run], status: pd.DataFrame,
                  unused: Sequence[Run], grid: dict[str, list], command: str | None,
                  files: Sequence[str], results_dir: str | os.PathLike,
                  failures: Sequence[tuple[RunKey, str]] = (), sessions: Sequence[dict] = ()) -> str:
    """The README text.

    Args:
        dataset: the dataset name.
        loaded: what :func:`~gnn_sparse.reports.records.load_runs` returned.
        used: the runs inside the grid (the ones the tables aggregate).
        status: :func:`~gnn_sparse.reports.tables.run_status` of the grid.
        unused: valid runs of the dataset outside the requested grid.
        grid: ``{"methods", "sparsities", "seeds", "c_values"}`` as resolved.
        command: the command line that produced the report (``None``: not given).
        files: the report's files, listed in the README.
        results_dir: where the results were read from.
        failures: ``(key, error)`` of runs that raised instead of finishing.
        sessions: the ``compare`` invocations that trained the grid (command, start,
            elapsed seconds, runs trained/reused/failed).
    """
    counts = status["status"].value_counts()
    fingerprints = Counter(data_fingerprint(r.result) or "not recorded" for r in used)
    devices = Counter(r.result["device"] for r in used)
    per_method: Counter = Counter()
    for run in used:
        per_method[run.key.method] += float(run.result["wall_time_s"] or 0.0)
    left_out = [f"`{name}`: {reason}" for name, reason in loaded.problems]
    left_out += [f"`{r.path.name}`: outside the requested grid ({_describe(r.key)})" for r in unused]
    if loaded.other_datasets:
        left_out.append(f"{loaded.other_datasets} result files of other datasets (ignored)")

    lines = [
        f"# Comparison report: {dataset}", "",
        f"Built {datetime.now(timezone.utc).isoformat(timespec='seconds')} from `{results_dir}`.", "",
        "## Command", "", "```", command or "(not recorded: built from Python without a command)", "```", "",
        "## Files", "", *_bullets(list(files), "none"), "",
        "## Grid", "",
        f"- methods: {', '.join(grid['methods'])}",
        f"- sparsities: {', '.join(f'{s:g}' for s in grid['sparsities']) or 'none'}",
        f"- seeds: {', '.join(str(s) for s in grid['seeds'])}",
        f"- DST-EE c values: {', '.join(f'{c:g}' for c in grid['c_values']) or 'none'}"
        + _sweep_note(grid),
        f"- runs expected: {len(status)}; finished: {counts.get('ok', 0)}; "
        f"failed: {counts.get('failed', 0)}; missing: {counts.get('missing', 0)}", "",
        "## Data fingerprint", "",
        "sha256 of the graph file, as recorded by the runs:", "",
        *_bullets([f"`{h}` ({n} runs)" for h, n in fingerprints.most_common()], "no runs"),
    ]
    if len(fingerprints) > 1:
        lines += ["", "**Warning:** the runs did not all train on the same data."]
    lines += [
        "", "## Versions", "", "Recorded by the runs:", "",
        *_bullets(_versions(used), "not recorded"), "",
        f"Report built with {_builder_versions()}.", "",
        "## Hardware", "", "Devices the runs trained on:", "",
        *_bullets([f"{d} ({n} runs)" for d, n in devices.most_common()], "no runs"), "",
        f"Report built on {platform.platform()} ({platform.machine()}, {os.cpu_count()} CPUs).", "",
        "## Wall time", "",
        *_session_lines(sessions),
        f"Total training wall time of the {len(used)} runs in the grid: "
        f"{format_duration(sum(per_method.values()))}.", "",
        *_bullets([f"{m}: {format_duration(t)}" for m, t in per_method.items()], "no runs"), "",
        "## Peak memory", "",
        *_memory_lines(used),
        "## Failed runs", "",
        *_bullets([f"{_describe(k)}: {' '.join(str(m).split())}" for k, m in failures],
                  "none raised an error"), "",
        "## Left out", "",
        *_bullets(left_out, "nothing: every result file of this dataset is in the grid"),
    ]
    return "\n".join(lines) + "\n"


PER_RUN_MEMORY_ROWS = 24
"""Up to this many runs the memory section lists every run; above, the largest peak per method."""


def _memory_lines(used: list[Run]) -> list[str]:
    """Peak resident memory (and CUDA memory) recorded by the runs (``peak_memory``; runs made
    before it was recorded are counted as not recording it)."""
    recorded = [r for r in used if (r.result.get("peak_memory") or {}).get("rss_bytes")]
    if not recorded:
        return ["Not recorded by these runs.", ""]
    gib = lambda b: f"{b / 2**30:.2f} GiB" if b else "–"  # noqa: E731
    scopes = {r.result["peak_memory"].get("scope") for r in recorded}
    lines = [f"Peak resident set size of each run's process while it trained and evaluated "
             f"({len(recorded)} of {len(used)} runs recorded it"
             + ("; some only as the peak of a process that trained several runs, an upper bound"
                if "process" in scopes else "") + "):", ""]
    if len(used) <= PER_RUN_MEMORY_ROWS:
        lines += ["| run | wall time | peak RSS | peak CUDA |", "|---|---|---|---|"]
        for r in recorded:
            peak = r.result["peak_memory"]
            lines.append(f"| {_describe(r.key)} | {format_duration(float(r.result['wall_time_s'] or 0.0))} | "
                         f"{gib(peak['rss_bytes'])} | {gib(peak.get('cuda_bytes'))} |")
    else:
        largest: dict[str, int] = {}
        for r in recorded:
            largest[r.key.method] = max(largest.get(r.key.method, 0), r.result["peak_memory"]["rss_bytes"])
        lines += _bullets([f"{m}: at most {gib(b)}" for m, b in largest.items()], "no runs")
    return lines + [""]


def _describe(key: RunKey) -> str:
    parts = [key.method]
    if key.sparsity is not None:
        parts.append(f"sparsity {key.sparsity:g}")
    if key.c is not None:
        parts.append(f"c {key.c:g}")
    parts.append(f"seed {key.seed}")
    return ", ".join(parts)


def _sweep_note(grid: dict) -> str:
    """Where the c sweep ran, when it is limited to some sparsities."""
    if not grid.get("c_sparsities"):
        return ""
    at = ", ".join(f"{s:g}" for s in grid["c_sparsities"])
    return f" (swept at sparsity {at} only; DST-EE at c = {grid['default_c']:g} elsewhere)"


def _session_lines(sessions: Sequence[dict]) -> list[str]:
    """The grid's total wall time over its ``compare`` sessions, and each session."""
    if not sessions:
        return ["No `compare` session recorded (the runs were trained some other way).", ""]
    total = sum(float(s.get("elapsed_s") or 0.0) for s in sessions)
    lines = [f"Total wall time of the grid: {format_duration(total)}, over {len(sessions)} `compare` "
             f"session(s) (training, data loading and reused runs included):", ""]
    for s in sessions:
        finished = "" if s.get("finished") else " (interrupted)"
        lines.append(f"- {s.get('started', '?')}: {format_duration(float(s.get('elapsed_s') or 0.0))}{finished}; "
                     f"trained {s.get('trained', 0)}, reused {s.get('reused', 0)}, failed {s.get('failed', 0)}; "
                     f"`{s.get('command', '?')}`")
    return lines + [""]
