import pytest


@pytest.fixture(autouse=True)
def _single_thread(one_thread):
    """Every vision test on one thread (``one_thread`` in tests/conftest.py says why)."""
