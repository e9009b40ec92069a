#!/usr/bin/env python
"""Fault injection: kill, corrupt, fill, race and torchrun-kill runs, and count what survives.

    PYTHONPATH=. python benchmarks/faults.py --kills 100 --seed 0 --work DIR

Each case runs the real command line (``gnn_sparse.cli.main``, the code behind
``run_link_prediction.py``) in a child process and checks the files it leaves:

* **kills**: a run, a ``--encoder twalk`` run on an edge-list file (processed-split and
  feature caches cold) or a ``compare`` grid is SIGKILLed at a random moment of its
  uninterrupted duration, or exactly at one of its writes (just before or just after the
  rename of a checkpoint, results JSON, ``index.jsonl``, ``config.json``, ``metrics.jsonl``,
  a cache or the grid record); then resumed (``--resume``, or the same ``compare``). It
  survives when the final results equal the uninterrupted run's (results JSON minus timing
  fields, the final checkpoint's model and method state: masks, counts) bit for bit, and
  the results folder holds no half-written file (every JSON parses, every ``.pt`` loads
  with its checksum, ``index.jsonl`` has one valid line per run, no temporary file is
  left). A run that ended before the kill landed gets a new moment (at most
  :data:`MAX_REDRAWS`, counted);
* **corrupts** each stored artefact in turn (a truncated or bit-flipped checkpoint, a
  flipped byte inside the tensor data of the processed-split cache and of the twalk feature
  cache, a truncated and a digit-changed results JSON, a torn ``index.jsonl`` line, a
  damaged downloaded raw file): detected when it is reported in one line and recomputed
  (the results equal the reference) or refused (exit 2, one line naming the file);
* **disk full**: the results folder on a tmpfs (``mount``, as root) of 1.5 checkpoints fills
  during the second checkpoint: one line and exit 2, every file intact; after a remount with space the run
  resumes to the reference results;
* **races**: two identical ``compare`` grids over one folder, and one configuration
  started twice, at once: every run trained once, one valid index line per run, both grid
  sessions recorded, the reference results;
* **torchrun**: one rank of a 2-process CPU (gloo) ``torchrun`` run is SIGKILLed; the
  launcher must stop the other and exit within :data:`TORCHRUN_STOP_S` seconds naming the
  failed rank, and ``--resume`` must reproduce an uninterrupted 2-process run.

Children are forked from this process after ``gnn_sparse`` is imported, so that a case
costs its run, not the 5-10 s of importing torch (a plain ``python`` start; the torchrun
case starts real ``torchrun``). The tests in ``tests/faults/`` import these functions.
"""
from __future__ import annotations

import argparse
import contextlib
import gzip
import io
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
import traceback
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import torch  # noqa: E402

import gnn_sparse.cli  # noqa: E402,F401  imported once here: every forked child starts with it
import gnn_sparse.reports.compare  # noqa: E402,F401
import gnn_sparse.reports.report  # noqa: E402,F401
import gnn_sparse.features.twalk  # noqa: E402,F401
from gensim.models import Word2Vec  # noqa: E402,F401  (twalk's skip-gram, imported lazily there)
from gnn_sparse.utils.io import CorruptFileError, checked_torch_load  # noqa: E402

MAX_REDRAWS = 3
"""New kill moments drawn for one case when the run ended before the kill landed."""
TORCHRUN_STOP_S = 90.0
"""How long the surviving ranks and the launcher may take to stop after a rank is killed."""
CHILD_TIMEOUT_S = 600.0
TIMING_KEYS = frozenset({"wall_time_s", "epoch_time_s", "time_s", "train_time_s", "finished_at", "started_at",
                         "resumed_from_epoch", "content_sha256", "elapsed_s", "seconds", "peak_memory"})
"""Fields that measure time or memory (or checksum them) and so differ between two identical runs."""
CASE_KEYS = frozenset({"data_root", "cache_dir", "cached", "num_walks", "num_tokens", "walks_s", "walks_cpu_s",
                       "vocab_cpu_s", "train_cpu_s", "skipgram_s", "gnn_sparse_revision"})
"""Fields that name a case's own folders, say whether (and how) this process computed a
cached artefact (twalk features: the walk counts are only recorded when they were computed),
or name the checkout's git revision (a commit made while the harness runs changes it)."""
WRITE_TARGETS = {
    "checkpoint": r"/checkpoints/[^/]+\.pt$",
    "results": r"/results/[^/.][^/]*\.json$",
    "index": r"/index\.jsonl$",
    "config": r"/config\.json$",
    "metrics": r"/metrics\.jsonl$",
    "split-cache": r"/processed/[^/]+\.pt$",
    "twalk-cache": r"/twalk-[^/]+\.pt$",
    "grid-record": r"/compare/[^/]+\.json$",
}
"""Writes a kill can be aimed at (regex on the destination of the atomic rename)."""


# --------------------------------------------------------------------------- children

@dataclass
class Child:
    """A forked ``gnn_sparse.cli.main(argv)``; its stdout and stderr go to ``log``."""

    pid: int
    log: Path
    started: float
    code: int | None = None

    def poll(self) -> int | None:
        if self.code is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.code = os.waitstatus_to_exitcode(status)
        return self.code

    def wait(self, timeout: float = CHILD_TIMEOUT_S) -> int:
        deadline = time.monotonic() + timeout
        while self.poll() is None:
            if time.monotonic() > deadline:
                self.kill()
                raise TimeoutError(f"child {self.pid} ({self.log}) ran past {timeout:.0f} s")
            time.sleep(0.01)
        return self.code

    def kill(self) -> None:
        if self.poll() is None:
            os.kill(self.pid, signal.SIGKILL)
            _, status = os.waitpid(self.pid, 0)
            self.code = os.waitstatus_to_exitcode(status)

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


def spawn(argv: list[str], log: Path, kill_at_write: tuple[str, int, str] | None = None,
          env: dict[str, str] | None = None) -> Child:
    """Fork a child running the command line on ``argv``. ``kill_at_write=(target, n, when)``:
    the child SIGKILLs itself at the ``n``-th atomic rename onto a :data:`WRITE_TARGETS`
    ``target`` file, ``"before"`` it (the temporary file is complete) or ``"after"``."""
    log.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid:
        return Child(pid, log, time.perf_counter())
    code = 1
    try:
        fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        sys.stdout = open(1, "w", buffering=1, closefd=False)  # not a parent's replacement (pytest's capture)
        sys.stderr = open(2, "w", buffering=1, closefd=False)
        warnings.showwarning = _print_warning  # printed, not recorded by a parent's catch_warnings
        os.environ.update(env or {})
        _record_writes(log.with_suffix(".writes"))
        if kill_at_write is not None:
            _kill_at_write(*kill_at_write)
        from gnn_sparse.cli import main

        sys.argv = ["run_link_prediction.py", *argv]
        code = main(argv)
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else 1
    except BaseException:  # noqa: BLE001 - the child reports everything in its log
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _print_warning(message, category, filename, lineno, file=None, line=None) -> None:
    sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))


def _record_writes(path: Path) -> None:
    """Append the destination of every atomic rename to ``path`` (which files a child wrote)."""
    real = os.replace

    def replace(src, dst, *args, **kwargs):
        real(src, dst, *args, **kwargs)
        with open(path, "a") as f:
            f.write(f"{dst}\n")

    os.replace = replace


def written(root: Path, pattern: str) -> int:
    """How many renames onto files matching ``pattern`` the children under ``root`` made."""
    regex = re.compile(pattern)
    return sum(bool(regex.search(line)) for f in root.glob("*.writes") for line in f.read_text().splitlines())


def _kill_at_write(target: str, n: int, when: str) -> None:
    pattern, real, seen = re.compile(WRITE_TARGETS[target]), os.replace, [0]

    def replace(src, dst, *args, **kwargs):
        hit = bool(pattern.search(str(dst)))
        seen[0] += hit
        if hit and seen[0] == n and when == "before":
            os.kill(os.getpid(), signal.SIGKILL)
        real(src, dst, *args, **kwargs)
        if hit and seen[0] == n and when == "after":
            os.kill(os.getpid(), signal.SIGKILL)

    os.replace = replace


def run_child(argv: list[str], log: Path, env: dict[str, str] | None = None) -> tuple[int, str]:
    child = spawn(argv, log, env=env)
    code = child.wait()
    return code, child.output()


# --------------------------------------------------------------------------- scenarios

@dataclass(frozen=True)
class Scenario:
    """A command to kill and resume: ``argv(results, reports, data_root)`` and its run ids."""

    name: str
    argv: Callable[[Path, Path, Path], list[str]]
    run_ids: tuple[str, ...]
    resume_flag: bool = True


def edge_file(work: Path) -> Path:
    """A small temporal edge list (``src dst time``) written once under ``work``: a file
    dataset, so that the processed-split and twalk feature caches are used."""
    path = work / "graph" / "synthetic-300.txt"
    if not path.exists():
        from gnn_sparse.data.synthetic import SyntheticConfig, generate_synthetic

        g = generate_synthetic(SyntheticConfig(num_nodes=300, num_events=5000, seed=1))
        path.parent.mkdir(parents=True, exist_ok=True)
        lines = "".join(f"{s} {d} {t}\n" for s, d, t in zip(g.src.tolist(), g.dst.tolist(), g.time.tolist()))
        tmp = path.with_suffix(".tmp")
        tmp.write_text(lines)
        os.replace(tmp, path)
    return path


COMMON = ["--threads", "1", "--quiet"]
BASE_SCENARIOS = ("gcn", "twalk", "compare")
"""The scenarios on the small edge-list file; ``email-eu`` (the real graph, from the shared
data folder) only takes the kills asked for with ``--email-eu-kills``."""


def scenarios(work: Path) -> dict[str, Scenario]:
    graph = edge_file(work)

    def data(root: Path) -> list[str]:
        return ["--dataset", str(graph), "--columns", "src,dst,time", "--data-root", str(root)]

    return {
        "gcn": Scenario("gcn", lambda r, p, d: [
            *data(d), "--method", "dst-ee", "--epochs", "4", "--results-dir", str(r), "--run-name", "gcn", *COMMON],
            ("gcn",)),
        "twalk": Scenario("twalk", lambda r, p, d: [
            *data(d), "--encoder", "twalk", "--method", "rigl", "--epochs", "3", "--walks-per-node", "4",
            "--walk-length", "10", "--skipgram-epochs", "2", "--skipgram-workers", "1", "--results-dir", str(r),
            "--run-name", "twalk", *COMMON], ("twalk",)),
        "compare": Scenario("compare", lambda r, p, d: [
            "compare", *data(d), "--methods", "set", "static", "--sparsities", "0.9", "--seeds", "0", "--preset",
            "quick", "--results-dir", str(r), "--reports-dir", str(p), *COMMON],
            ("synthetic-300.txt-set-gcn-fc-s0.9-seed0", "synthetic-300.txt-static-gcn-fc-s0.9-seed0"),
            resume_flag=False),
        "email-eu": Scenario("email-eu", lambda r, p, d: [
            "--dataset", "email-eu", "--data-root", str(d), "--method", "dst-ee", "--epochs", "2",
            "--results-dir", str(r), "--run-name", "email-eu", *COMMON], ("email-eu",)),
    }


def case_dirs(root: Path) -> tuple[Path, Path, Path]:
    return root / "results", root / "reports", root / "data"


def run_scenario(sc: Scenario, root: Path, log: str, resume: bool = False,
                 kill_at_write: tuple[str, int, str] | None = None, quiet: bool = True) -> Child:
    argv = [a for a in sc.argv(*case_dirs(root)) if quiet or a != "--quiet"]
    if resume and sc.resume_flag:
        argv.append("--resume")
    return spawn(argv, root / f"{log}.log", kill_at_write)


# --------------------------------------------------------------------------- checks

def strip_timing(obj: Any) -> Any:
    """``obj`` without :data:`TIMING_KEYS` and :data:`CASE_KEYS`, at any depth."""
    if isinstance(obj, dict):
        return {k: strip_timing(v) for k, v in obj.items() if k not in TIMING_KEYS | CASE_KEYS}
    if isinstance(obj, list):
        return [strip_timing(v) for v in obj]
    return obj


def _same_state(a: Any, b: Any, where: str) -> list[str]:
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        ok = isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor) and a.dtype == b.dtype and \
            a.shape == b.shape and torch.equal(a, b)
        return [] if ok else [f"{where} differs"]
    if isinstance(a, dict) and isinstance(b, dict):
        if list(a) != list(b):
            return [f"{where}: keys differ"]
        return [d for k in a for d in _same_state(a[k], b[k], f"{where}.{k}")]
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        if len(a) != len(b):
            return [f"{where}: lengths differ"]
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in _same_state(x, y, f"{where}[{i}]")]
    return [] if strip_timing(a) == strip_timing(b) else [f"{where} differs"]


def result_differences(reference: Path, results: Path, run_ids: tuple[str, ...]) -> list[str]:
    """How the finished runs ``run_ids`` of ``results`` differ from those of ``reference``:
    the results JSON minus timing fields, and the final checkpoint's model and method state."""
    out = []
    for run_id in run_ids:
        try:
            ref = json.loads((reference / f"{run_id}.json").read_text())
            got = json.loads((results / f"{run_id}.json").read_text())
        except (OSError, json.JSONDecodeError) as err:
            out.append(f"{run_id}: results unreadable ({err})")
            continue
        ref, got = strip_timing(ref), strip_timing(got)
        if ref != got:
            keys = sorted(k for k in set(ref) | set(got) if ref.get(k) != got.get(k))
            out.append(f"{run_id}: results differ in {keys}")
        try:
            a = checked_torch_load(reference / "checkpoints" / f"{run_id}.pt", weights_only=False)
            b = checked_torch_load(results / "checkpoints" / f"{run_id}.pt", weights_only=False)
        except (OSError, CorruptFileError) as err:
            out.append(f"{run_id}: checkpoint unreadable ({err})")
            continue
        for key in ("model", "method", "optimizer", "rng"):
            out += [f"{run_id}: checkpoint {d}" for d in _same_state(a[key], b[key], key)]
    return out


def integrity_problems(results: Path, run_ids: tuple[str, ...] | None, temporaries: bool = False) -> list[str]:
    """Half-written or stray files in a results folder: JSON that does not parse, ``.pt``
    that does not load with its checksum, an ``index.jsonl`` without exactly one valid line
    per run of ``run_ids`` (``None``: do not check the lines' runs), temporary files left
    (allowed with ``temporaries``: right after a kill, before anything cleaned up)."""
    out = []
    if not results.exists():
        return [] if not run_ids else [f"{results}: missing"]
    for path in sorted(results.rglob("*")):
        if not path.is_file() or path.name.endswith(".lock"):
            continue
        rel = path.relative_to(results)
        if path.name.endswith((".tmp", ".part")):
            if not temporaries:
                out.append(f"{rel}: temporary file left")
        elif path.suffix == ".json":
            try:
                json.loads(path.read_text())
            except (ValueError, UnicodeDecodeError) as err:
                out.append(f"{rel}: does not parse ({err})")
        elif path.suffix == ".jsonl":
            for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
                try:
                    json.loads(line)
                except ValueError:
                    out.append(f"{rel}:{number}: torn line")
        elif path.suffix == ".pt":
            try:
                checked_torch_load(path, weights_only=False)
            except CorruptFileError as err:
                out.append(f"{rel}: {err}")
    index = results / "index.jsonl"
    if run_ids is not None:
        ids = []
        if index.exists():
            with open(index, errors="replace") as f:
                ids = [json.loads(line).get("run_id") for line in f if line.strip() and _parses(line)]
        if sorted(ids) != sorted(run_ids):
            out.append(f"index.jsonl lists {sorted(ids)}, expected {sorted(run_ids)}")
    return out


def _parses(line: str) -> bool:
    try:
        return isinstance(json.loads(line), dict)
    except ValueError:
        return False


# --------------------------------------------------------------------------- tally

@dataclass
class Tally:
    """Per category: cases tried and survived (or detected), the failures, lost runs."""

    tried: dict[str, int] = field(default_factory=dict)
    passed: dict[str, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    lost_runs: int = 0
    redraws: int = 0
    skipped: list[str] = field(default_factory=list)
    cases: list[str] = field(default_factory=list)

    def record(self, category: str, name: str, problems: list[str], lost: int = 0) -> bool:
        self.cases.append(f"{category}/{name}: {'ok' if not problems else 'FAILED'}")
        self.tried[category] = self.tried.get(category, 0) + 1
        self.passed[category] = self.passed.get(category, 0) + (not problems)
        self.lost_runs += lost
        self.failures += [f"{category}/{name}: {p}" for p in problems]
        return not problems

    def ok(self) -> bool:
        return not self.failures

    def summary(self) -> str:
        verb = {"corrupts": "detected"}
        parts = [f"{c} {self.passed[c]}/{self.tried[c]} {verb.get(c, 'survived')}" for c in self.tried]
        return "; ".join([*parts, f"lost runs {self.lost_runs}", f"kill moments redrawn {self.redraws}"])


# --------------------------------------------------------------------------- kills

@dataclass
class Reference:
    """An uninterrupted run of a scenario: its folder and how long it took."""

    root: Path
    seconds: float


def reference_run(sc: Scenario, work: Path) -> Reference:
    root = work / "reference" / sc.name
    shutil.rmtree(root, ignore_errors=True)
    child = run_scenario(sc, root, "run")
    code = child.wait()
    seconds = time.perf_counter() - child.started
    if code != 0:
        raise RuntimeError(f"reference run {sc.name} failed (exit {code}):\n{child.output()[-2000:]}")
    return Reference(root, seconds)


def kill_case(sc: Scenario, ref: Reference, root: Path, rng: random.Random, tally: Tally,
              write: tuple[str, int, str] | None = None) -> bool:
    """Kill ``sc`` at a random moment (or at ``write``), resume it, check; record in ``tally``."""
    name = f"{sc.name}@{'-'.join(map(str, write)) if write else 'random'}"
    for attempt in range(MAX_REDRAWS + 1):
        shutil.rmtree(root, ignore_errors=True)
        moment = rng.uniform(0.0, ref.seconds)
        child = run_scenario(sc, root, "killed", kill_at_write=write)
        if write is None:
            while child.poll() is None and time.perf_counter() - child.started < moment:
                time.sleep(0.005)
            killed = child.poll() is None
            child.kill()
        else:
            killed = child.wait() == -signal.SIGKILL
        if killed:
            break
        tally.redraws += 1
        if write is not None:  # that write never happens: a later moment of a random kill instead
            write, name = None, f"{sc.name}@random"
    else:
        tally.skipped.append(f"{name}: finished before every kill moment")
        return True
    if write is None:
        name += f"{moment:.2f}s"
    problems = integrity_problems(case_dirs(root)[0], None, temporaries=True)  # right after the kill
    resumed = run_scenario(sc, root, "resumed", resume=True)
    code = resumed.wait()
    if code != 0:
        problems.append(f"resume exited {code}: {_last_lines(resumed.output())}")
    problems += integrity_problems(case_dirs(root)[0], sc.run_ids)
    lost = result_differences(case_dirs(ref.root)[0], case_dirs(root)[0], sc.run_ids)
    return tally.record("kills", name, problems + lost, lost=len({d.split(":")[0] for d in lost}))


def kill_plan(n: int, rng: random.Random, names: list[str]) -> list[tuple[str, tuple[str, int, str] | None]]:
    """``n`` kills: a third aimed at writes (checkpoints, results, index, caches, the grid
    record), the rest at random moments, spread over the scenarios (half on the plain run)."""
    aimed = {"gcn": [("checkpoint", 1), ("checkpoint", 3), ("results", 1), ("index", 1), ("config", 1),
                     ("metrics", 1)],
             "twalk": [("split-cache", 1), ("twalk-cache", 1), ("checkpoint", 2), ("results", 1)],
             "compare": [("grid-record", 1), ("results", 1), ("checkpoint", 4), ("index", 2), ("grid-record", 3)]}
    writes = [(s, (t, k, when)) for s in names for t, k in aimed.get(s, []) for when in ("before", "after")]
    rng.shuffle(writes)
    writes = writes[: n // 3]
    weights = {"gcn": 5, "twalk": 3, "compare": 2}  # a grid costs two runs and a report
    cycle = [name for name in names for _ in range(weights.get(name, 1))]
    randoms = [(cycle[i % len(cycle)], None) for i in range(n - len(writes))]
    plan = writes + randoms
    rng.shuffle(plan)
    return plan


# --------------------------------------------------------------------------- corruption

def flip_tensor_byte(path: Path, rng: random.Random) -> None:
    """Flip one byte inside the largest tensor record of a ``torch.save`` zip file (the
    pickle and the zip headers stay valid, so ``torch.load`` itself does not notice)."""
    with zipfile.ZipFile(path) as z:
        info = max((i for i in z.infolist() if "/data/" in i.filename), key=lambda i: i.file_size)
    with open(path, "r+b") as f:
        f.seek(info.header_offset + 26)
        name_len, extra_len = int.from_bytes(f.read(2), "little"), int.from_bytes(f.read(2), "little")
        offset = info.header_offset + 30 + name_len + extra_len + rng.randrange(info.file_size)
        f.seek(offset)
        byte = f.read(1)[0]
        f.seek(offset)
        f.write(bytes([byte ^ 0x10]))


def truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def change_digit(path: Path) -> None:
    """Change one digit of the first metric in a results JSON (still valid JSON)."""
    text = path.read_text()
    match = re.search(r'"test_accuracy": (\d)', text)
    digit = match.group(1)
    path.write_text(text[: match.start(1)] + str((int(digit) + 1) % 10) + text[match.end(1):])


def tear_index(path: Path) -> None:
    lines = path.read_text().splitlines(keepends=True)
    lines[0] = lines[0][: len(lines[0]) // 2] + "\n"
    path.write_text("".join(lines))


def one_line_report(output: str, needle: str) -> list[str]:
    """The output must say ``needle`` on exactly one line and hold no traceback."""
    problems = []
    if "Traceback" in output:
        problems.append(f"traceback in the output: {_last_lines(output)}")
    lines = [line for line in output.splitlines() if needle in line]
    if len(lines) != 1:
        problems.append(f"expected one line saying {needle!r}, got {len(lines)}: {_last_lines(output)}")
    return problems


def _last_lines(text: str, n: int = 3) -> str:
    return " | ".join(text.strip().splitlines()[-n:])


CORRUPTIONS = ("checkpoint-truncated", "checkpoint-flipped", "split-cache-flipped", "twalk-cache-flipped",
               "results-truncated", "results-digit", "index-torn", "raw-download-flipped")
"""The damaged artefacts, one case each (:func:`corruption_case`)."""


def corruption_cases(work: Path, refs: dict[str, Reference], rng: random.Random, tally: Tally) -> None:
    """Every stored artefact damaged in turn; each must be reported and recomputed or refused."""
    for name in CORRUPTIONS:
        tally.record("corrupts", name, corruption_case(name, work, refs, rng))


def corruption_case(name: str, work: Path, refs: dict[str, Reference], rng: random.Random) -> list[str]:
    """Damage one artefact (:data:`CORRUPTIONS`) and return what went wrong (nothing: it was
    reported on one line and recomputed, or refused with exit 2)."""
    if name == "raw-download-flipped":
        return raw_download_case(work / "corrupt" / "raw")
    sc = scenarios(work)
    gcn, twalk = sc["gcn"], sc["twalk"]
    root = work / "corrupt" / name
    shutil.rmtree(root, ignore_errors=True)
    results, data = case_dirs(root)[0], case_dirs(root)[2]

    if name.startswith("checkpoint-"):  # a run killed after its second epoch, its checkpoint damaged
        run_scenario(gcn, root, "killed", kill_at_write=("checkpoint", 2, "after")).wait()
        target = results / "checkpoints" / "gcn.pt"
        truncate(target) if name == "checkpoint-truncated" else flip_tensor_byte(target, rng)
        child = run_scenario(gcn, root, "resumed", resume=True)
        code, out = child.wait(), child.output()
        problems = [] if code == 2 else [f"exit {code}, expected 2 (refused)"]
        problems += one_line_report(out, str(target))
        if (results / "gcn.json").exists():
            problems.append("a results file was written from the damaged checkpoint")
        return problems

    s = twalk if "cache" in name else gcn
    if run_scenario(s, root, "first").wait() != 0:
        return [f"the run to damage failed: {_last_lines((root / 'first.log').read_text())}"]
    if name == "index-torn":  # the next run writing to the folder must rebuild the index
        tear_index(results / "index.jsonl")
        child = spawn([*gcn.argv(*case_dirs(root)), "--epochs", "1", "--run-name", "other"], root / "other.log")
        code, out = child.wait(), child.output()
        problems = [] if code == 0 else [f"exit {code}: {_last_lines(out)}"]
        return problems + one_line_report(out, "rebuilding the index") + integrity_problems(results, ("gcn", "other"))
    if "cache" in name:  # a new run over the damaged cache
        pattern = "processed/*.pt" if name == "split-cache-flipped" else "processed/features/*/twalk-*.pt"
        [target] = list(data.glob(pattern))
        flip_tensor_byte(target, rng)
        shutil.rmtree(results)
        needle = "processed cache" if name == "split-cache-flipped" else "twalk cache"
    else:  # the same command again over a damaged results file: redone from the checkpoint
        target = results / "gcn.json"
        truncate(target) if name == "results-truncated" else change_digit(target)
        needle = f"results file {target} is corrupt"
    child = run_scenario(s, root, "rerun")
    code, out = child.wait(), child.output()
    problems = [] if code == 0 else [f"exit {code}: {_last_lines(out)}"]
    problems += one_line_report(out, needle)
    problems += integrity_problems(results, s.run_ids)
    return problems + result_differences(case_dirs(refs[s.name].root)[0], results, s.run_ids)


def raw_download_case(root: Path) -> list[str]:
    """A registered file downloaded from a local ``file://`` URL, then damaged on disk: the
    next lookup must report it, delete it and download it again (the manifest's sha256)."""
    from gnn_sparse.data.registry import DatasetSpec, resolve_file
    from gnn_sparse.utils.io import sha256_file

    shutil.rmtree(root, ignore_errors=True)
    source = root / "server" / "graph.txt.gz"
    source.parent.mkdir(parents=True)
    with gzip.open(source, "wt") as f:
        f.writelines(f"{i} {i + 1} {i}\n" for i in range(200))
    spec = DatasetSpec(name="local", url=source.as_uri(), file="graph.txt.gz", columns="src,dst,time",
                       num_nodes=201, num_events=200, sha256=sha256_file(source))
    with contextlib.redirect_stderr(io.StringIO()):  # the download's progress bar
        path = resolve_file(spec, root=root / "data")
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with contextlib.redirect_stderr(io.StringIO()):
            again = resolve_file(spec, root=root / "data")
    messages = [str(w.message) for w in caught if "differs from the manifest" in str(w.message)]
    problems = [] if len(messages) == 1 and "\n" not in messages[0] else [f"warnings: {messages}"]
    if sha256_file(again) != spec.sha256:
        problems.append("the damaged raw file was used")
    return problems


# --------------------------------------------------------------------------- disk full

def disk_full_case(work: Path, ref: Reference, tally: Tally) -> None:
    """The results folder on a tmpfs of 1.5 checkpoints: the second checkpoint does not fit."""
    size = int(1.5 * (case_dirs(ref.root)[0] / "checkpoints" / "gcn.pt").stat().st_size) // 4096 * 4096
    root = work / "disk-full"
    results = case_dirs(root)[0]
    if results.exists():
        subprocess.run(["umount", str(results)], capture_output=True)
    shutil.rmtree(root, ignore_errors=True)
    results.mkdir(parents=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(results)], capture_output=True)
    if mounted.returncode != 0:
        tally.skipped.append(f"disk-full: cannot mount a tmpfs ({mounted.stderr.decode().strip()})")
        return
    gcn = scenarios(work)["gcn"]
    try:
        child = run_scenario(gcn, root, "full")
        code, out = child.wait(), child.output()
        problems = [] if code == 2 else [f"exit {code}, expected 2: {_last_lines(out)}"]
        problems += one_line_report(out, "no space left")
        problems += integrity_problems(results, None)
        if not (results / "checkpoints" / "gcn.pt").exists():
            problems.append("no checkpoint was kept (the disk filled before the first one?)")
        subprocess.run(["mount", "-o", f"remount,size={8 * size}", str(results)], check=True)
        child = run_scenario(gcn, root, "resumed", resume=True)
        if child.wait() != 0:
            problems.append(f"resume after freeing space exited {child.code}: {_last_lines(child.output())}")
        problems += integrity_problems(results, gcn.run_ids)
        lost = result_differences(case_dirs(ref.root)[0], results, gcn.run_ids)
        tally.record("disk-full", f"tmpfs-{size // 1024}KiB", problems + lost, lost=bool(lost))
    finally:
        subprocess.run(["umount", str(results)], capture_output=True)


# --------------------------------------------------------------------------- races

def race_cases(work: Path, refs: dict[str, Reference], tally: Tally) -> None:
    race_two_grids(work, refs, tally)
    race_same_run(work, refs, tally)


def race_two_grids(work: Path, refs: dict[str, Reference], tally: Tally) -> None:
    """Two identical ``compare`` grids over one results folder at once."""
    cmp = scenarios(work)["compare"]
    root = work / "race" / "compare"
    shutil.rmtree(root, ignore_errors=True)
    a, b = run_scenario(cmp, root, "grid-a"), run_scenario(cmp, root, "grid-b")
    codes, outs = (a.wait(), b.wait()), (a.output(), b.output())
    problems = [f"grid exited {c}: {_last_lines(o)}" for c, o in zip(codes, outs) if c != 0]
    problems += _trained_once(root, cmp.run_ids)
    records = list((case_dirs(root)[0] / "compare").glob("*.json"))
    sessions = json.loads(records[0].read_text()).get("sessions", []) if len(records) == 1 else []
    if len(sessions) != 2:
        problems.append(f"the grid record holds {len(sessions)} sessions, expected 2")
    problems += integrity_problems(case_dirs(root)[0], cmp.run_ids)
    lost = result_differences(case_dirs(refs["compare"].root)[0], case_dirs(root)[0], cmp.run_ids)
    tally.record("races", "two-compare-grids", problems + lost, lost=len(lost))


def race_same_run(work: Path, refs: dict[str, Reference], tally: Tally) -> None:
    """One configuration started twice at once: one trains, the other waits and reuses it."""
    gcn = scenarios(work)["gcn"]
    root = work / "race" / "same-run"
    shutil.rmtree(root, ignore_errors=True)
    a, b = run_scenario(gcn, root, "run-a", quiet=False), run_scenario(gcn, root, "run-b", quiet=False)
    codes, outs = (a.wait(), b.wait()), (a.output(), b.output())
    problems = [f"run exited {c}: {_last_lines(o)}" for c, o in zip(codes, outs) if c != 0]
    problems += _trained_once(root, gcn.run_ids)
    if sum("already finished" in o for o in outs) != 1:
        problems.append("not exactly one of the two processes reused the other's finished run")
    problems += integrity_problems(case_dirs(root)[0], gcn.run_ids)
    lost = result_differences(case_dirs(refs["gcn"].root)[0], case_dirs(root)[0], gcn.run_ids)
    tally.record("races", "same-run-twice", problems + lost, lost=len(lost))


def _trained_once(root: Path, run_ids: tuple[str, ...]) -> list[str]:
    """Each run's results written once by the children under ``root`` (a run trained twice
    to completion writes them twice)."""
    out = []
    for run_id in run_ids:
        n = written(root, rf"/results/{re.escape(run_id)}\.json$")
        if n != 1:
            out.append(f"{run_id}: trained to completion {n} times, expected once")
    return out


# --------------------------------------------------------------------------- torchrun

def torchrun_case(work: Path, tally: Tally, rng: random.Random) -> None:
    """Kill rank 1 of a 2-process gloo run after its first checkpoint; the launcher must stop
    within :data:`TORCHRUN_STOP_S` naming the failed rank; ``--resume`` must then reproduce an
    uninterrupted 2-process run."""
    if shutil.which("torchrun") is None:
        tally.skipped.append("torchrun: not installed")
        return

    def command(results: Path, *extra: str) -> list[str]:
        return ["torchrun", "--standalone", "--nproc_per_node", "2", str(REPO / "run_link_prediction.py"),
                "--device", "cpu", "--method", "dst-ee", "--epochs", "4", "--batch-size", "512",
                "--results-dir", str(results), "--run-name", "ddp", *COMMON, *extra]

    env = {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{os.environ.get('PYTHONPATH', '')}", "OMP_NUM_THREADS": "1"}
    root = work / "torchrun"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    ref = subprocess.run(command(root / "reference"), env=env, capture_output=True, text=True, timeout=CHILD_TIMEOUT_S)
    if ref.returncode != 0:
        tally.record("torchrun", "reference", [f"uninterrupted run exited {ref.returncode}: {_last_lines(ref.stderr)}"])
        return
    results = root / "results"
    with open(root / "killed.log", "w") as log:
        launcher = subprocess.Popen(command(results), env=env, stdout=log, stderr=subprocess.STDOUT)
        checkpoint = results / "checkpoints" / "ddp.pt"
        deadline = time.monotonic() + CHILD_TIMEOUT_S
        while not checkpoint.exists() and launcher.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(rng.uniform(0.0, 0.5))
        victims = _rank_pids(launcher.pid, rank=1)
        problems, stop_s = [], float("nan")
        if launcher.poll() is not None or not victims:
            problems.append("the run ended before rank 1 could be killed")
            launcher.wait()
        else:
            os.kill(victims[0], signal.SIGKILL)
            killed_at = time.monotonic()
            try:
                code = launcher.wait(timeout=TORCHRUN_STOP_S)
                stop_s = time.monotonic() - killed_at
                if code == 0:
                    problems.append("torchrun exited 0 after a rank was killed")
            except subprocess.TimeoutExpired:
                problems.append(f"the launcher still ran {TORCHRUN_STOP_S:.0f} s after rank 1 was killed (a hang)")
                launcher.kill()
                launcher.wait()
                stop_s = TORCHRUN_STOP_S
    out = (root / "killed.log").read_text(errors="replace")
    if not problems and not re.search(r"rank\s*:\s*1|local_rank:\s*1", out):
        problems.append(f"no line names the failed rank 1: {_last_lines(out)}")
    leftover = _rank_pids(launcher.pid, rank=None)
    if leftover:
        problems.append(f"rank processes still alive: {leftover}")
    problems += integrity_problems(results, None)
    resumed = subprocess.run(command(results, "--resume"), env=env, capture_output=True, text=True,
                             timeout=CHILD_TIMEOUT_S)
    if resumed.returncode != 0:
        problems.append(f"resume exited {resumed.returncode}: {_last_lines(resumed.stderr)}")
    problems += integrity_problems(results, ("ddp",))
    lost = result_differences(root / "reference", results, ("ddp",))
    tally.record("torchrun", f"kill-rank-1 (stopped in {stop_s:.1f} s)", problems + lost, lost=bool(lost))


def _rank_pids(launcher: int, rank: int | None) -> list[int]:
    """Worker processes of a torchrun launcher (``RANK=rank`` in their environment; any rank
    with ``None``)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            env = (proc / "environ").read_bytes().split(b"\0")
            status = (proc / "status").read_text()
        except OSError:
            continue
        ppid = int(re.search(r"PPid:\s*(\d+)", status).group(1))
        ranks = [e for e in env if e.startswith(b"RANK=")]
        if ppid == launcher and ranks and (rank is None or ranks[0] == f"RANK={rank}".encode()):
            found.append(int(proc.name))
    return found


# --------------------------------------------------------------------------- main

def run_all(work: Path, kills: int, seed: int, categories: tuple[str, ...], budget_s: float | None = None,
            email_eu_kills: int = 0, log=print) -> Tally:
    """The categories in turn, the kills last (``kills`` on the small file, then
    ``email_eu_kills`` at random moments of an ``email-eu`` run); with ``budget_s``, no kill
    starts after that many seconds (the tally counts the kills actually run)."""
    started = time.perf_counter()
    torch.set_num_threads(1)
    work.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    tally = Tally()
    sc = scenarios(work)
    names = [*BASE_SCENARIOS, *(["email-eu"] if email_eu_kills and "kills" in categories else [])]
    refs = {name: reference_run(sc[name], work) for name in names}
    log("reference runs: " + ", ".join(f"{n} {r.seconds:.1f} s" for n, r in refs.items()))
    if "corrupts" in categories:
        corruption_cases(work, refs, rng, tally)
    if "disk-full" in categories:
        disk_full_case(work, refs["gcn"], tally)
    if "races" in categories:
        race_cases(work, refs, tally)
    if "torchrun" in categories:
        torchrun_case(work, tally, rng)
    log(f"{tally.summary()} ({time.perf_counter() - started:.0f} s); now the kills")
    if "kills" in categories:
        plan = kill_plan(kills, rng, list(BASE_SCENARIOS)) + [("email-eu", None)] * email_eu_kills
        for i, (name, write) in enumerate(plan, 1):
            if budget_s is not None and time.perf_counter() - started > budget_s:
                tally.skipped.append(f"kills: time budget of {budget_s:.0f} s reached after {i - 1} of {len(plan)}")
                break
            ok = kill_case(sc[name], refs[name], work / "kills" / f"{i:03d}", rng, tally, write)
            if not ok:
                log(f"kill {i}: FAILED: {tally.failures[-1]}")
            else:
                shutil.rmtree(work / "kills" / f"{i:03d}", ignore_errors=True)
            if i % 10 == 0:
                log(f"kills: {i}/{len(plan)} done, {tally.passed.get('kills', 0)} survived "
                    f"({time.perf_counter() - started:.0f} s)")
    return tally


CATEGORIES = ("kills", "corrupts", "disk-full", "races", "torchrun")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=100, help="random kills (default: 100)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the kill moments (default: 0)")
    parser.add_argument("--work", type=Path, required=True, help="scratch folder (emptied first)")
    parser.add_argument("--only", nargs="+", choices=CATEGORIES, default=list(CATEGORIES),
                        help="run only these categories")
    parser.add_argument("--email-eu-kills", type=int, default=0,
                        help="random kills of an email-eu run after the others (default: 0; needs the graph "
                             "in $GNN_SPARSE_SHARED_DATA)")
    parser.add_argument("--budget-s", type=float, default=None,
                        help="start no kill after this many seconds (the other categories run first)")
    args = parser.parse_args(argv)
    shutil.rmtree(args.work, ignore_errors=True)
    started = time.perf_counter()
    tally = run_all(args.work, args.kills, args.seed, tuple(args.only), args.budget_s, args.email_eu_kills,
                    log=lambda msg: print(msg, file=sys.stderr, flush=True))
    for c in tally.tried:
        verb = "detected" if c == "corrupts" else "survived"
        print(f"{c:10s} {verb} {tally.passed[c]}/{tally.tried[c]}")
    for line in tally.cases:
        if not line.startswith("kills/"):
            print(line)
    for line in tally.skipped:
        print(f"skipped: {line}")
    for line in tally.failures:
        print(f"FAILED {line}")
    print(f"faults: {tally.summary()}; {time.perf_counter() - started:.0f} s")
    return 0 if tally.ok() else 1


if __name__ == "__main__":
    sys.exit(main())
