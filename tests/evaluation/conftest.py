"""Evaluation tests run on one torch thread (see `single_thread` in tests/conftest.py)."""
import pytest


@pytest.fixture(autouse=True)
def _one_thread(single_thread: None) -> None:
    """Applies `single_thread` to every test in this folder."""
