"""Leftovers of write-backs on the real server: abandoned versions shown, pruned and cleaned up automatically,
a live writer's version left alone."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from graphrec.cli import main
from graphrec.db import cypher
from graphrec.db.connection import Connection
from graphrec.db.runner import QueryRunner
from graphrec.model.base import Stored
from graphrec.writeback import list_models, prune, write_model
from graphrec.writeback.writers import STALE_SECONDS, WriterLease, abandoned_versions, host_id, writer_identity
from tests.test_writeback import GROUPS, ITEMS, USERS, constant, graph, properties_named  # noqa: F401 (fixture)

pytestmark = pytest.mark.neo4j


def flags(connection: Connection) -> list[str]:
    return ["--uri", connection.uri, "--password", connection.password]


def writing_model(runner: QueryRunner, version: int, **writer: Any) -> None:
    """A Model left 'writing' by the given writer (no vectors needed to tell whether it is abandoned)."""
    runner.run_file("model_schema")
    runner.run(cypher.statement("model_create"), {
        "props": {"version": version, "property": f"~embedding_v{version}", **writer}, "group_weight": None})


def test_a_killed_write_back_is_shown_abandoned_and_the_next_one_removes_it(
        graph: QueryRunner, connection: Connection, capsys: pytest.CaptureFixture[str]) -> None:
    write_model(graph, Stored(constant(1.0), fold_in="propagate"), {}, progress=False)
    script = textwrap.dedent("""
        import os, signal, sys
        import numpy as np
        from graphrec.db.connection import Connection
        from graphrec.db.runner import QueryRunner
        from graphrec.writeback import pipeline as writeback
        from graphrec.model.base import Stored
        real = writeback._create_indexes

        def create_then_die(*args):  # killed between its item vectors and its indexes, as by the OOM killer
            real(*args)
            os.kill(os.getpid(), signal.SIGKILL)

        writeback._create_indexes = create_then_die
        vectors = {kind: (np.arange(n), np.full((n, 8), 2.0, dtype=np.float32))
                   for kind, n in (("user", 40), ("item", 30), ("group", 4))}
        with QueryRunner(Connection(sys.argv[1], "neo4j", os.environ["NEO4J_PASSWORD"], "neo4j")) as runner:
            writeback.write_model(runner, Stored(vectors, fold_in="propagate"), {}, progress=False)
    """)
    child = subprocess.run([sys.executable, "-c", script, connection.uri], cwd=Path(__file__).resolve().parents[1],
                           env={**os.environ, "NEO4J_PASSWORD": connection.password}, timeout=300)
    assert child.returncode == -signal.SIGKILL
    assert [(m["version"], m["status"]) for m in list_models(graph)] == [(1, "ready"), (2, "writing")]
    assert abandoned_versions(graph) == [2] and properties_named(graph, "~embedding_v2") == 2 * ITEMS

    assert main(["models", *flags(connection)]) == 0
    out = capsys.readouterr().out
    assert "writing (abandoned: writer gone)" in out and "abandoned write-backs: v2; `graphrec prune`" in out
    assert main(["models", "--json", *flags(connection)]) == 0
    assert '"abandoned": true' in capsys.readouterr().out

    assert write_model(graph, Stored(constant(3.0), fold_in="propagate"), {}, progress=False) == 3
    assert [(m["version"], m["status"], m["active"]) for m in list_models(graph)] == [
        (1, "ready", False), (3, "ready", True)]
    assert properties_named(graph, "~embedding_v2") == 0
    assert graph.run("SHOW VECTOR INDEXES YIELD name WHERE name CONTAINS '_v2_' RETURN count(*) AS n") == [{"n": 0}]


def test_a_live_writer_is_left_alone_and_one_that_gave_up_is_abandoned(graph: QueryRunner) -> None:
    write_model(graph, Stored(constant(1.0), fold_in="propagate"), {}, progress=False)
    writing_model(graph, 2, **writer_identity())  # this very process, alive
    assert abandoned_versions(graph) == []
    assert prune(graph, keep=1) == []
    assert [m["version"] for m in list_models(graph)] == [1, 2]
    graph.run(cypher.statement("model_heartbeat"), {"version": 2, "exited": True})
    assert abandoned_versions(graph) == [2]
    assert prune(graph, keep=1) == [2]


def test_a_reused_pid_does_not_keep_a_version_alive(graph: QueryRunner) -> None:
    writing_model(graph, 1, **{**writer_identity(), "writer_started": 1})  # our pid, another process's start
    writing_model(graph, 2, writer_host=host_id(), writer_pid=2**22 + 7)  # no such process
    writing_model(graph, 3)  # written before writers were recorded
    assert abandoned_versions(graph) == [1, 2, 3]


def test_a_writer_on_another_host_is_judged_by_its_heartbeat(graph: QueryRunner) -> None:
    writing_model(graph, 1, writer_host="elsewhere/boot", writer_pid=1)
    assert abandoned_versions(graph) == [1]  # never beat
    graph.run(cypher.statement("model_heartbeat"), {"version": 1, "exited": False})
    assert abandoned_versions(graph) == []
    graph.run("MATCH (m:Model {version: 1}) SET m.heartbeat = datetime() - duration({seconds: $age})",
              {"age": STALE_SECONDS + 5})
    assert abandoned_versions(graph) == [1]


def test_the_lease_beats_while_it_runs_and_gives_the_version_up_on_an_error(graph: QueryRunner) -> None:
    writing_model(graph, 1, writer_host="elsewhere/boot", writer_pid=1)

    def heartbeat() -> Any:
        return graph.run("MATCH (m:Model {version: 1}) RETURN m.heartbeat AS t")[0]["t"]

    with WriterLease(graph, 1, seconds=0.2):
        first = heartbeat()
        time.sleep(0.7)
        assert heartbeat() > first
    assert abandoned_versions(graph) == []
    with pytest.raises(KeyError), WriterLease(graph, 1, seconds=10):
        raise KeyError("a failure inside the write-back")
    assert abandoned_versions(graph) == [1]


def test_prune_from_the_command_line(graph: QueryRunner, connection: Connection,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    for value in (1.0, 2.0, 3.0):
        write_model(graph, Stored(constant(value), fold_in="propagate"), {}, progress=False)
    assert main(["prune", "--keep", "1", *flags(connection)]) == 0
    assert capsys.readouterr().out.strip() == "removed: v2, v1; left: v3 (ready, active)"
    assert main(["prune", *flags(connection)]) == 0
    assert capsys.readouterr().out.strip() == "removed: nothing; left: v3 (ready, active)"
    assert properties_named(graph, "~embedding_v1") == properties_named(graph, "~embedding_v2") == 0
    assert properties_named(graph, "~embedding_v3") == USERS + ITEMS + GROUPS + ITEMS
