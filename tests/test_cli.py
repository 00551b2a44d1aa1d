"""The `graphrec` command line against the real server."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from graphrec.cli import format_table, main, parse_params
from graphrec.db.connection import Connection
from graphrec.db.runner import QueryRunner
from graphrec.load import load_csv
from graphrec.synthetic import taste_clusters


def flags(connection: Connection) -> list[str]:
    return ["--uri", connection.uri, "--user", connection.user, "--password", connection.password]


def test_params_are_json_when_they_parse() -> None:
    assert parse_params(["k=20", "ids=[1,2]", "name=Ada", "flag=true"]) == {
        "k": 20, "ids": [1, 2], "name": "Ada", "flag": True}
    with pytest.raises(ValueError, match="NAME=VALUE"):
        parse_params(["oops"])


def test_table_format() -> None:
    assert format_table([{"a": 1, "b": "x"}, {"a": 22, "b": None}]) == (
        "a  | b   \n---+-----\n1  | x   \n22 | null\n(2 rows)")
    assert format_table([]) == "(no rows)"


@pytest.mark.neo4j
def test_load_csv_then_query_a_cypher_file_as_json(runner: QueryRunner, connection: Connection,
                                                   tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tables = taste_clusters(n_users=30, n_items=20, n_groups=3, seed=5)
    paths = tables.to_csv(str(tmp_path))
    args = [f"--{name.replace('_', '-')}={path}" for name, path in paths.items()]
    assert main(["load", "csv", *flags(connection), *args]) == 0
    assert "user_interactions 360" in capsys.readouterr().out

    assert main(["cypher", "graph_summary", *flags(connection), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)[0]
    assert (summary["users"], summary["items"], summary["groups"]) == (30, 20, 3)

    assert main(["cypher", "missing_ids.cypher", "--param", "label=User", "--param", "ids=[1, 777]",
                 *flags(connection), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == [{"missing": [777]}]


@pytest.mark.neo4j
def test_errors_are_one_line_and_exit_1(runner: QueryRunner, connection: Connection, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "interactions.csv"
    bad.write_text("user_id,item_id\n1,x\n")
    assert main(["load", "csv", *flags(connection), f"--interactions={bad}"]) == 1
    assert f"graphrec: error: {bad}, line 2, field 'item_id'" in capsys.readouterr().err
    assert main(["cypher", "RETURN nope", *flags(connection)]) == 1
    assert "Neo4j refused: Neo.ClientError.Statement.SyntaxError" in capsys.readouterr().err


@pytest.mark.neo4j
@pytest.mark.usefixtures("single_thread")
def test_demo_loads_trains_writes_back_and_recommends(runner: QueryRunner, connection: Connection, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", *flags(connection), "--run-dir", str(tmp_path / "demo")]) == 0
    out = capsys.readouterr().out
    assert "user_interactions 2,400" in out and "written back as version 1" in out
    assert runner.run("MATCH (m:Model {active: true}) RETURN m.users AS users, m.items AS items") == [
        {"users": 200, "items": 100}]
    assert "top 5 for user 1 (basis embedding, model v1 lightgcn)" in out
    assert "top 5 for group 5001 (strategy combined, basis combined, model v1 lightgcn)" in out
    assert "top 5 for group 5001 (strategy least_misery, basis members, model v1 lightgcn)" in out
    # The planted taste: item 1001 + n belongs to taste n % 4; user 1's picks come from theirs.
    tastes = [row["item"] % 4 for row in runner.run(
        "MATCH (:User {id: 1})-[:INTERACTED]->(i:Item) RETURN i.id - 1001 AS item")]
    taste = max(set(tastes), key=tastes.count)
    top = [int(line.split("|")[1]) for line in out.split("top 5 for user 1")[1].splitlines()[3:8]]
    assert sum((item - 1001) % 4 == taste for item in top) >= 4, (taste, top)


@pytest.mark.neo4j
def test_a_command_that_imports_torch_prints_no_future_warning(runner: QueryRunner, connection: Connection,
                                                               tmp_path: Path) -> None:
    # torch_geometric calls the deprecated torch.jit.script at import; main() silences that before any import.
    # A fresh process, since the warning is printed once, at the first import.
    load_csv(runner, **taste_clusters(n_users=30, n_items=20, n_groups=3, seed=5).as_dict())
    script = Path(sys.executable).with_name("graphrec")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "graphrec.cli"]
    result = subprocess.run([*command, "export", "--out", str(tmp_path / "snapshot"), *flags(connection)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "snapshot in" in result.stdout
    assert "FutureWarning" not in result.stderr and "Warning" not in result.stderr, result.stderr
