"""Fixtures for the learning-core tests."""
from collections.abc import Iterator

import pytest
import torch


@pytest.fixture(autouse=True)
def single_thread() -> Iterator[None]:
    """Runs each test on one intra-op thread: the graphs here are tiny, and on a
    busy machine each multi-threaded sparse product would otherwise wait
    milliseconds for a descheduled worker thread."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
