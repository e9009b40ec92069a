"""The fault-injection harness (``benchmarks/faults.py``), loaded from its file, and the
uninterrupted reference runs its cases compare against (made once per session)."""
import importlib.util
import random
import sys
from pathlib import Path

import pytest

HARNESS = Path(__file__).resolve().parents[2] / "benchmarks" / "faults.py"


@pytest.fixture(scope="session")
def faults():
    spec = importlib.util.spec_from_file_location("faults_harness", HARNESS)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def work(tmp_path_factory):
    return tmp_path_factory.mktemp("faults")


@pytest.fixture(scope="session")
def refs(faults, work):
    """``{scenario: Reference}``: each scenario run once, uninterrupted."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    scenarios = faults.scenarios(work)
    yield {name: faults.reference_run(scenarios[name], work) for name in faults.BASE_SCENARIOS}
    torch.set_num_threads(threads)


@pytest.fixture
def rng():
    return random.Random(0)
