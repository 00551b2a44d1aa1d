"""Who writes a model version, and whether they are still alive.

A write-back records its writer on its Model node while the version is 'writing' (`writer_identity`):
`writer_host` (the host name and, on Linux, the boot id), `writer_pid`, `writer_started` (the process's start
time in clock ticks since boot, so that a pid reused by another process does not look alive), and `heartbeat`
(the server's time, refreshed every `HEARTBEAT_SECONDS` while the write-back runs, see `WriterLease`). A writer
that fails gives its version up at once (`writer_exited`).

A 'writing' version is **abandoned** (`abandoned_versions`) when its writer is gone:

- it gave the version up (an error or an interrupt inside the write-back), or
- on this host: no process with that pid and start time is alive (killed, crashed, machine rebooted), or
- on another host: no heartbeat for `STALE_SECONDS`, or
- no writer was recorded (a version written before graphrec recorded writers).

`graphrec models` marks abandoned versions, `graphrec prune` removes them (never a live writer's), and every
write-back first removes the abandoned versions older than its own.
"""

from __future__ import annotations

import os
import socket
import threading
from pathlib import Path
from typing import Any

from graphrec.db import cypher
from graphrec.db.runner import QueryRunner

HEARTBEAT_SECONDS = 15.0
"""How often a running write-back stamps its Model (default 15 s)."""

STALE_SECONDS = 120
"""A writer on another host without a heartbeat for this long is taken for gone (default 120 s)."""


def host_id() -> str:
    """This machine as a writer's host: its host name and the boot id (a reboot makes another host)."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        boot = ""
    return f"{socket.gethostname()}/{boot}" if boot else socket.gethostname()


def process_started(pid: int) -> int | None:
    """The start time of process `pid` in clock ticks since boot (Linux), None when unknown or not running."""
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return None


def writer_identity() -> dict[str, Any]:
    """The Model properties that name this process as a version's writer."""
    return {"writer_host": host_id(), "writer_pid": os.getpid(), "writer_started": process_started(os.getpid())}


def is_gone(writer: dict[str, Any]) -> bool:
    """Whether the writer of a 'writing' version (a row of `cypher/model_writers.cypher`) is gone."""
    if writer["exited"] is not None or writer["host"] is None or writer["pid"] is None:
        return True
    if writer["host"] == host_id():
        return not _alive(writer["pid"], writer["started"])
    return writer["heartbeat_age"] is None or writer["heartbeat_age"] > STALE_SECONDS


def _alive(pid: int, started: int | None) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # another user's process: alive
    now = process_started(pid)
    return started is None or now is None or now == started


def writers(runner: QueryRunner) -> list[dict[str, Any]]:
    """The 'writing' versions and their writers (`cypher/model_writers.cypher`), each with `gone`."""
    return [{**row, "gone": is_gone(row)} for row in runner.read(cypher.statement("model_writers"))]


def abandoned_versions(runner: QueryRunner) -> list[int]:
    """The 'writing' versions whose writer is gone, oldest first."""
    return [row["version"] for row in writers(runner) if row["gone"]]


class WriterLease:
    """Keeps a 'writing' version visibly alive while a write-back runs.

    Inside the block a thread stamps the Model's heartbeat every `seconds` (the first at once); when the block
    raises (an error, an interrupt), the version is given up (`writer_exited`), so that it counts as
    abandoned even though this process lives on.

    Args:
        runner (QueryRunner): the database.
        version (int): the version being written.
        seconds (float): between heartbeats (default: `HEARTBEAT_SECONDS`).
    """

    def __init__(self, runner: QueryRunner, version: int, seconds: float = HEARTBEAT_SECONDS) -> None:
        self.runner, self.version, self.seconds = runner, version, seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"heartbeat v{version}", daemon=True)

    def __enter__(self) -> WriterLease:
        self._stamp(exited=False)
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        if kind is not None:
            try:
                self._stamp(exited=True)
            except Exception:  # the server may be what failed; the pid and the heartbeat still tell
                pass

    def _beat(self) -> None:
        while not self._stop.wait(self.seconds):
            try:
                self._stamp(exited=False)
            except Exception:  # a missed beat is retried at the next; the write-back reports real failures
                pass

    def _stamp(self, exited: bool) -> None:
        self.runner.run(cypher.statement("model_heartbeat"), {"version": self.version, "exited": exited})
