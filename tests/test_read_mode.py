"""Cluster-correct database use (issue 31): every serving and export statement runs in READ access mode, so
that a cluster or Aura may route it to a follower; `QueryRunner.read` reads in READ mode; every session of a
runner shares its bookmark manager (a read is causally after the runner's writes).

There is no cluster here: a single server refuses a write in a READ-access transaction just as a follower
would, which is what these tests rely on."""

from __future__ import annotations

import re
from typing import Any

import neo4j
import numpy as np
import pytest

from graphrec.db import cypher
from graphrec.db.runner import QueryRunner
from tests.test_recommend import serve

pytestmark = pytest.mark.neo4j

READS = (
    "recommend_user", "recommend_group", "similar_items", "explain_user", "explain_group", "serving_lookup",
    "recommend_user_plain", "recommend_group_plain", "serving_procedures",
    "model_active", "model_list", "model_next_version", "model_writers", "embedding_read", "embedding_count",
    "embedding_index_state", "embedding_index_await", "similar_count", "export_node_ids", "export_user_page",
    "export_group_page", "export_neighbours", "graph_summary", "item_text", "missing_ids", "user_neighbourhood",
    "bulk_target_nodes", "bulk_target_indexes", "writeback_procedures",
)
"""The statement files that only read: graphrec runs them through `QueryRunner.read` or `stream`."""

WRITES = (
    "schema", "model_schema", "model_create", "model_activate", "model_set_status", "model_delete",
    "model_heartbeat", "embedding_index_create", "embedding_index_drop", "embedding_write_set",
    "embedding_write_procedure", "embedding_write_graphrec", "embedding_remove", "similar_write",
    "similar_write_procedure", "similar_remove", "forget_user",
    "load_users", "load_items", "load_groups", "load_memberships", "load_user_interactions",
    "load_group_interactions", "load_user_cases", "load_group_cases",
)
"""The files that write, create or drop schema, or run `CALL { } IN TRANSACTIONS` (`QueryRunner.run`)."""

_PARAM = re.compile(r":param (\w+) => (.+);")


def header_params(session: neo4j.Session, name: str) -> dict[str, Any]:
    """The file's `:param` defaults, each VALUE evaluated by the server as Browser does (`RETURN VALUE`)."""
    params = {}
    for line in cypher.browser_params(name):
        param, value = _PARAM.fullmatch(line).groups()
        params[param] = session.execute_read(lambda tx, v=value: tx.run(f"RETURN {v} AS v").single()["v"])
    return params


def run_all(tx: neo4j.ManagedTransaction, name: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for query in cypher.statements(name):
        rows = tx.run(query, params).data()
    return rows


@pytest.fixture
def served(runner: QueryRunner) -> QueryRunner:
    """The headers' example ids: users 1-3, items 1001-1004 with titles, groups 5001-5002, a written-back model
    (version 1, active)."""
    rng = np.random.default_rng(31)
    vectors = lambda ids: {i: rng.standard_normal(4).astype(np.float32) for i in ids}
    serve(runner, users=vectors([1, 2, 3]), items=vectors([1001, 1002, 1003, 1004]), groups=vectors([5001, 5002]),
          interactions=[(1, 1001), (2, 1001), (2, 1002), (3, 1003)],
          memberships=[(1, 5001), (2, 5001), (2, 5002), (3, 5002)], group_interactions=[(5001, 1002)],
          item_properties={"title": ["a", "b", "c", "d"]})
    return runner


def test_every_statement_file_is_classified() -> None:
    files = {path.stem for path in cypher.CYPHER_DIR.glob("*.cypher")}
    assert not set(READS) & set(WRITES)
    assert files == set(READS) | set(WRITES), "a new cypher file: add it to READS (and read it) or WRITES"


def test_every_read_statement_runs_in_read_access_mode(served: QueryRunner) -> None:
    refused = {}
    with served.driver.session(database=served.database, default_access_mode=neo4j.READ_ACCESS) as session:
        for name in READS:
            try:
                session.execute_read(run_all, name, header_params(session, name))
            except neo4j.exceptions.ClientError as error:
                refused[name] = f"{error.code}: {error.message}"
        assert refused == {}
        # The check can fail: the server refuses a write in the same READ session.
        with pytest.raises(neo4j.exceptions.ClientError) as error:
            session.execute_read(run_all, "model_set_status", {"version": 1, "from": ["ready"], "to": "ready"})
        assert error.value.code == "Neo.ClientError.Statement.AccessMode"
    assert served.read(cypher.statement("model_active"))[0]["model"]["status"] == "ready"


def test_read_runs_in_read_access_mode(runner: QueryRunner) -> None:
    assert runner.read("RETURN 1 AS n") == [{"n": 1}]
    with pytest.raises(neo4j.exceptions.ClientError) as error:
        runner.read("CREATE (:ReadModeProbe)")
    assert error.value.code == "Neo.ClientError.Statement.AccessMode"
    assert runner.read("MATCH (n:ReadModeProbe) RETURN count(n) AS n") == [{"n": 0}]
    assert runner.read_file("graph_summary") == runner.read(cypher.statement("graph_summary"))


class RecordingDriver:
    """Delegates to the runner's driver, recording each session's options."""

    def __init__(self, driver: neo4j.Driver) -> None:
        self.driver, self.sessions = driver, []

    def session(self, **options: Any) -> neo4j.Session:
        self.sessions.append(options)
        return self.driver.session(**options)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.driver, name)


def test_sessions_share_the_runners_bookmark_manager(runner: QueryRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    recording = RecordingDriver(runner.driver)
    monkeypatch.setattr(runner, "driver", recording)
    runner.run("CREATE (:BookmarkProbe {n: 1})")
    after_write = runner.bookmark_manager.get_bookmarks()
    assert after_write, "the write's bookmark is held by the runner's manager"
    assert runner.read("MATCH (p:BookmarkProbe) RETURN p.n AS n") == [{"n": 1}]
    assert list(runner.stream("MATCH (p:BookmarkProbe) RETURN p.n AS n")) == [(1,)]
    runner.write_batches("UNWIND $rows AS n CREATE (:BookmarkProbe {n: n})", [2, 3])
    write, read, stream, batches = recording.sessions
    assert [s["default_access_mode"] for s in (write, read, stream, batches)] == [
        neo4j.WRITE_ACCESS, neo4j.READ_ACCESS, neo4j.READ_ACCESS, neo4j.WRITE_ACCESS]
    assert all(s["bookmark_manager"] is runner.bookmark_manager and s["database"] == runner.database
               for s in recording.sessions)
    assert runner.bookmark_manager.get_bookmarks() != after_write, "the batches' commits moved it on"
