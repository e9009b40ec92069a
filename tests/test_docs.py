"""The documentation: the site builds with ``mkdocs build --strict`` (a broken link or anchor,
or a docstring the API reference cannot parse, fails it), and every figure of
``docs/benchmarks.md`` comes with the command that reproduces it."""
from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = ROOT / "docs" / "benchmarks.md"
SITE_PACKAGES = ("mkdocs", "material", "mkdocstrings", "mkdocstrings_handlers.python")
"""What ``mkdocs.yml`` needs: mkdocs, mkdocs-material and mkdocstrings with its python handler
(the ``docs`` extra)."""


def _missing(modules) -> list[str]:
    missing = []
    for name in modules:
        try:
            found = importlib.util.find_spec(name) is not None
        except ModuleNotFoundError:
            found = False
        if not found:
            missing.append(name)
    return missing


MISSING = _missing(SITE_PACKAGES)


@pytest.mark.skipif(bool(MISSING), reason=f"the docs extra is not installed (pip install -e '.[docs]'): "
                                          f"{', '.join(MISSING)} not importable")
def test_the_site_builds_without_a_warning(tmp_path):
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
                          cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-6000:]
    assert (tmp_path / "site" / "api" / "sparsity" / "index.html").is_file()
    assert "DSTEE" in (tmp_path / "site" / "api" / "sparsity" / "index.html").read_text(encoding="utf-8")


def _sections(text: str) -> list[tuple[str, list[str]]]:
    sections, title, lines = [], "", []
    for line in text.splitlines():
        if line.startswith("## "):
            sections.append((title, lines))
            title, lines = line[3:], []
        else:
            lines.append(line)
    return sections + [(title, lines)]


def test_every_benchmark_table_follows_its_command():
    for title, lines in _sections(BENCHMARKS.read_text(encoding="utf-8")):
        tables = [i for i, line in enumerate(lines) if line.startswith("|")]
        outputs = [i for i, line in enumerate(lines) if line.startswith("    ") and not lines[i - 1].strip()]
        figures = tables + outputs
        if not figures:
            continue
        commands = [i for i, line in enumerate(lines) if line.strip() == "```bash"]
        assert commands and commands[0] < min(figures), f"section {title!r}: a figure before any ```bash command"


def test_the_benchmark_scripts_named_exist():
    named = set(re.findall(r"benchmarks/[\w]+\.py", BENCHMARKS.read_text(encoding="utf-8")))
    assert named and all((ROOT / name).is_file() for name in named), sorted(named)
