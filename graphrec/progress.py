"""Progress bars that read well in a terminal and in a log, and the one stopwatch.

`progress_bar` is tqdm's bar with one difference: when standard error is not a terminal (CI, a run log, a pipe), it
writes a plain line at most every `LOG_INTERVAL` seconds and one at the end, instead of a `\\r` frame for every
update. `Stopwatch` records seconds per named stage for every room that reports timings.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO

from tqdm import tqdm

LOG_INTERVAL = 10.0
"""Seconds between two lines of a bar written to a log (not a terminal)."""


class _Lines:
    """A file for tqdm that turns its `\\r` frames into whole lines (blank frames dropped)."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def write(self, text: str) -> None:
        for line in text.replace("\r", "\n").splitlines():
            if line.strip():
                self.stream.write(line.rstrip() + "\n")

    def flush(self) -> None:
        self.stream.flush()


def is_terminal(stream: TextIO | None = None) -> bool:
    """Whether `stream` (default standard error) is a terminal."""
    stream = sys.stderr if stream is None else stream
    return bool(getattr(stream, "isatty", lambda: False)())


def progress_bar(iterable: Any = None, **kwargs: Any) -> tqdm:
    """`tqdm(iterable, **kwargs)`, writing lines every `LOG_INTERVAL` s when standard error is not a terminal."""
    if not is_terminal():
        kwargs = {"mininterval": LOG_INTERVAL, "maxinterval": max(LOG_INTERVAL, kwargs.get("maxinterval", 0)),
                  **kwargs, "file": _Lines(sys.stderr), "dynamic_ncols": False, "ncols": 100}
    return tqdm(iterable, **kwargs)


def say(message: str) -> None:
    """Print `message` on its own line without breaking a bar that is being drawn."""
    tqdm.write(message)


class Stopwatch:
    """Seconds per named stage, in the order they ran.

    Args:
        seconds (dict, optional): where to record them (default: a new dict, `self.seconds`).
    """

    def __init__(self, seconds: dict[str, float] | None = None) -> None:
        self.seconds: dict[str, float] = {} if seconds is None else seconds
        self._last = time.perf_counter()

    def lap(self, stage: str) -> float:
        """Record the seconds since the last lap (or the start) as `stage`'s, and return them."""
        now = time.perf_counter()
        self.seconds[stage] = now - self._last
        self._last = now
        return self.seconds[stage]

    @contextmanager
    def timed(self, stage: str) -> Iterator[None]:
        """Record the seconds the `with` block takes as `stage`'s."""
        self._last = time.perf_counter()
        try:
            yield
        finally:
            self.lap(stage)
