"""Bulk loading (offline importer) on the session's own server: the same graph as the online path, refusals
that change nothing, bad input rejected while the server still runs, and a failed import undone."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from graphrec.cli import main
from graphrec.db.runner import QueryRunner
from graphrec.db.server import admin
from graphrec.db.server.install import ServerError
from graphrec.db.server.lifecycle import LocalServer, free_port
from graphrec.load import BulkLoadRefused, InputError, graph_summary, load_csv, load_group_benchmark, load_lightgcn
from graphrec.synthetic import taste_clusters
from tests.conftest import WIPE
from tests.test_load import EMPTY, expected_summary, write_group_benchmark, write_lightgcn

pytestmark = pytest.mark.neo4j


def dump(runner: QueryRunner) -> dict[str, object]:
    """Every node and relationship with its properties (JSON, so that 1 and 1.0 differ; times as text), the schema,
    the counts."""
    nodes = runner.run("MATCH (n) RETURN labels(n) AS labels, properties(n) AS props")
    rels = runner.run("MATCH (a)-[r]->(b) RETURN labels(a) AS a, a.id AS a_id, type(r) AS type, "
                      "labels(b) AS b, b.id AS b_id, properties(r) AS props")
    schema = runner.run("SHOW INDEXES YIELD name, type, entityType, labelsOrTypes, properties, state "
                        "WHERE type <> 'LOOKUP' RETURN * ORDER BY name")
    return {"nodes": sorted(json.dumps(row, sort_keys=True, default=str) for row in nodes),
            "relationships": sorted(json.dumps(row, sort_keys=True, default=str) for row in rels),
            "schema": schema, "summary": graph_summary(runner)}


def assert_same_graph_both_ways(runner: QueryRunner, server: LocalServer, load) -> dict[str, object]:
    """Load with `load(bulk)` online, then bulk into the emptied database: the dumps must be equal."""
    load(False)
    online = dump(runner)
    runner.run(WIPE)
    pid = server.status().pid
    load(True)
    assert server.status().running and server.status().pid != pid  # it was restarted
    assert dump(runner) == online
    return online


def test_csv_tables_and_property_types_bulk_load_like_online(runner: QueryRunner, server: LocalServer,
                                                             tmp_path: Path) -> None:
    tables = taste_clusters(n_users=60, n_items=40, n_groups=6, seed=3)
    paths: dict[str, object] = dict(tables.to_csv(str(tmp_path)))
    items = tables.items.copy()  # a DataFrame, with a property of each type the importer can store
    items.loc[:3, "title"] = ['say "hi", twice', "two\nlines\rand a carriage return", "ünï", ""]
    items["year"] = [1999, None] + [2001] * (len(items) - 2)
    items["score"] = [0.1 + 0.2, None] + [2.0] * (len(items) - 2)
    items["new"] = [True, None] + [False] * (len(items) - 2)
    items["tags"] = [["a", "b"], None] + [["c"]] * (len(items) - 2)
    items["sizes"] = [[1, 2], None] + [[3]] * (len(items) - 2)
    items["empty"] = None
    paths["items"] = items
    written = {}

    def load(bulk: bool) -> None:
        written[bulk] = load_csv(runner, **paths, bulk=bulk, server=server, progress=False)

    online = assert_same_graph_both_ways(runner, server, load)
    assert written[True] == written[False]
    assert online["summary"] == expected_summary(tables)


def test_lightgcn_folder_bulk_loads_from_the_command_line(runner: QueryRunner, server: LocalServer,
                                                          tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    write_lightgcn(tmp_path)
    # The command line finds the server of `graphrec neo4j start`: here, the session's.
    monkeypatch.setattr(LocalServer, "from_environment", classmethod(lambda cls, **kwargs: server))
    for name in ("NEO4J_URI", "NEO4J_USER", "NEO4J_PASSWORD", "NEO4J_DATABASE"):
        monkeypatch.delenv(name, raising=False)

    def load(bulk: bool) -> None:
        assert main(["load", "lightgcn", str(tmp_path), *(["--bulk"] if bulk else [])]) == 0

    assert_same_graph_both_ways(runner, server, load)
    out, err = capsys.readouterr()
    assert "graph:   users 3, items 5, user_interactions 9, user_train 6, user_test 3" in out
    assert f"running (pid {server.status().pid})" in out and server.bolt_uri in out
    assert "Relationship import COMPLETED" in err and "applying the schema" in err


def test_group_benchmark_bulk_loads_negatives_like_online(runner: QueryRunner, server: LocalServer,
                                                          tmp_path: Path) -> None:
    write_group_benchmark(tmp_path)
    online = assert_same_graph_both_ways(
        runner, server, lambda bulk: load_group_benchmark(runner, tmp_path, bulk=bulk, server=server, progress=False))
    assert online["summary"]["group_test"] == 2
    assert runner.run("MATCH (:Group {id: 1})-[r:HELD_OUT {split: 'test'}]->(i:Item) "
                      "RETURN i.id AS item, r.negatives AS negatives") == [{"item": 15, "negatives": [23, 24, 25]}]


def test_a_database_with_nodes_is_refused_and_left_as_it_was(runner: QueryRunner, server: LocalServer,
                                                             tmp_path: Path) -> None:
    load_csv(runner, users=pd.DataFrame({"id": [1, 2]}))
    before, pid = dump(runner), server.status().pid
    write_lightgcn(tmp_path)
    with pytest.raises(BulkLoadRefused, match="holds 2 nodes: a bulk load only imports into an empty database"):
        load_lightgcn(runner, tmp_path, bulk=True, server=server)
    assert server.status().pid == pid and dump(runner) == before


def test_an_index_the_import_would_drop_is_refused(runner: QueryRunner, server: LocalServer, tmp_path: Path) -> None:
    runner.run("CREATE INDEX item_title FOR (i:Item) ON (i.title)")
    try:
        write_lightgcn(tmp_path)
        with pytest.raises(BulkLoadRefused, match="indexes or constraints that a bulk load would drop: item_title"):
            load_lightgcn(runner, tmp_path, bulk=True, server=server)
        assert graph_summary(runner) == EMPTY
    finally:
        runner.run("DROP INDEX item_title")


def test_a_server_graphrec_does_not_manage_is_refused(runner: QueryRunner, server: LocalServer,
                                                      tmp_path: Path) -> None:
    elsewhere = LocalServer(tmp_path / "other", bolt_port=free_port(), http_port=free_port())
    write_lightgcn(tmp_path)
    with pytest.raises(BulkLoadRefused, match="into the local server graphrec manages .* is not it"):
        load_lightgcn(runner, tmp_path, bulk=True, server=elsewhere)
    assert graph_summary(runner) == EMPTY


def test_a_new_home_is_imported_then_started_and_a_stopped_one_checked(tmp_path: Path) -> None:
    """No runner and no server yet: the import builds the database, which the first start serves. Once that
    server is stopped, a second bulk load starts it to look, finds the nodes, refuses and stops it again."""
    write_lightgcn(tmp_path)
    home = LocalServer(tmp_path / "home", bolt_port=free_port(), http_port=free_port())
    timings: dict[str, float] = {}
    try:
        written = load_lightgcn(None, tmp_path, bulk=True, server=home, progress=False, timings=timings)
        assert written["user_interactions"] == 9 and "stop" not in timings and "check" not in timings
        assert home.status().running
        with QueryRunner(home.connection()) as runner:
            assert graph_summary(runner) == {**EMPTY, "users": 3, "items": 5, "user_interactions": 9,
                                             "user_train": 6, "user_test": 3}
            assert {"user_id", "item_id", "group_id"} <= {row["name"] for row in runner.run("SHOW CONSTRAINTS")}
        home.stop()
        with pytest.raises(BulkLoadRefused, match="holds 8 nodes"):
            load_lightgcn(None, tmp_path, bulk=True, server=home, progress=False)
        assert not home.status().running  # started only to look, stopped again
        home.start()
        with QueryRunner(home.connection()) as runner:
            assert graph_summary(runner)["user_interactions"] == 9
    finally:
        home.stop()


def test_bad_input_is_rejected_while_the_server_runs(runner: QueryRunner, server: LocalServer, tmp_path: Path) -> None:
    pid = server.status().pid
    write_lightgcn(tmp_path)
    (tmp_path / "test.txt").write_text("zero 1\n")
    with pytest.raises(InputError, match="test.txt, line 1, field 'uid'"):
        load_lightgcn(runner, tmp_path, bulk=True, server=server)
    with pytest.raises(ValueError, match="property 'Item.mixed' holds values of mixed"):
        load_csv(runner, items=pd.DataFrame({"id": [1, 2], "mixed": [1, "one"]}), bulk=True, server=server)
    write_group_benchmark(tmp_path)
    (tmp_path / "groupRatingNegative.txt").write_text("(0,14)\n(1,15) 23\n")
    with pytest.raises(ValueError, match="'Group HELD_OUT.negatives' holds an empty list"):
        load_group_benchmark(runner, tmp_path, bulk=True, server=server)
    assert server.status().pid == pid and graph_summary(runner) == EMPTY


def test_a_failed_import_puts_the_database_back(runner: QueryRunner, server: LocalServer, tmp_path: Path) -> None:
    load_csv(runner, users=pd.DataFrame({"id": [1, 2]}))
    before = dump(runner)
    server.stop()
    try:
        with pytest.raises(ServerError, match=r"(?s)the offline import failed .* left as it was.*import.log"):
            admin.import_database(server, "neo4j", ["--id-type=integer", f"--nodes=User={tmp_path / 'missing.csv'}"])
        assert not (server.home / "aside-neo4j").exists()
    finally:
        server.start()
    assert dump(runner) == before
