"""Every script in examples/ runs (briefly) and ends with the sparsity it promises."""
import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples").glob("*.py"))


@pytest.mark.parametrize("script", EXAMPLES, ids=lambda p: p.name)
def test_example_runs(script):
    proc = subprocess.run([sys.executable, str(script), "2"], capture_output=True, text=True, timeout=300,
                          cwd=script.parent.parent)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "test acc" in proc.stdout
    sparsities = [float(s) for s in re.findall(r"sparsity (0\.\d+)", proc.stdout)]
    assert sparsities and all(abs(s - 0.9) < 0.01 for s in sparsities)


def test_there_is_an_example():
    assert EXAMPLES
