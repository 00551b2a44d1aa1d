"""The `.cypher` files: splitting into statements, and every statement valid on the real server."""

from __future__ import annotations

from pathlib import Path

import pytest

from graphrec.db import cypher
from graphrec.db.runner import QueryRunner


def test_split_keeps_semicolons_inside_strings_and_drops_comments_and_browser_commands() -> None:
    text = """// header; with a semicolon
:param k => 3
RETURN 'a;b' AS x; // trailing comment
MATCH (n:`odd;label`) RETURN "c\\";d" AS y
;
"""
    assert cypher.split_statements(text) == (
        "RETURN 'a;b' AS x",
        'MATCH (n:`odd;label`) RETURN "c\\";d" AS y',
    )


def test_unknown_file_names_the_known_ones() -> None:
    with pytest.raises(FileNotFoundError, match="known: .*schema"):
        cypher.statements("no_such_query")


def test_statement_refuses_a_file_with_several() -> None:
    with pytest.raises(ValueError, match="holds 3 statements"):
        cypher.statement("schema")


@pytest.mark.parametrize("path", sorted(cypher.CYPHER_DIR.glob("*.cypher")), ids=lambda p: p.stem)
def test_every_file_has_the_header_browser_and_the_driver_accept(path: Path) -> None:
    assert cypher.check_header(path) == []


@pytest.mark.parametrize("text, problem", [
    (":param k => 3;\nRETURN $k", "starts with its `//` header"),
    ("// k\n:param k => 3\nRETURN $k", "2: not of the form `:param NAME => VALUE;`"),
    ("// m\n:param m => {a: 1};\nRETURN $m", "2: a map value must be in parentheses, `({a: 1})`"),
    ("// k\n:param k => 3;\n:param k => 4;\nRETURN $k", "3: $k is set twice"),
    ("// k\n:param k => 3;\nRETURN $k, $n", "$n is used but has no `:param n => ...;` line"),
    ("// k\n:param k => 3;\n:param x => 1;\nRETURN $k", "3: $x is set but not used"),
    ("// k\n:param k => 3;\nRETURN $k;\n:param j => 1;\nRETURN $j", "4: a `:` line after the statements began"),
    ("// k\n// more\n:param k => 3;\n// late\n:param j => 1;\nRETURN $k, $j", "5: a `:` line after"),
])
def test_header_problems_name_the_line(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "bad.cypher"
    path.write_text(text)
    found = cypher.check_header(path)
    assert any(problem in message for message in found), found


def test_a_good_header_with_auto_and_strings_passes(tmp_path: Path) -> None:
    path = tmp_path / "good.cypher"
    path.write_text("// ok\n:param rows => [];\n:param f => ({});\n:auto\n"
                    "UNWIND $rows AS r CALL (r) { RETURN '$not_a_param' AS s } IN TRANSACTIONS RETURN $f")
    assert cypher.check_header(path) == []
    assert cypher.split_statements(path.read_text()) == (
        "UNWIND $rows AS r CALL (r) { RETURN '$not_a_param' AS s } IN TRANSACTIONS RETURN $f",)


@pytest.mark.neo4j
@pytest.mark.parametrize("path", sorted(cypher.CYPHER_DIR.glob("*.cypher")), ids=lambda p: p.stem)
def test_every_statement_compiles_on_the_server(runner: QueryRunner, path) -> None:
    statements = cypher.statements(path.stem)
    assert statements, f"{path} holds no statement"
    for query in statements:
        if query.upper().startswith("CREATE CONSTRAINT") or query.upper().startswith("CREATE INDEX"):
            continue  # schema commands cannot be EXPLAINed; test_schema applies them for real
        runner.run("EXPLAIN " + query)


@pytest.mark.neo4j
def test_schema_is_idempotent_and_creates_the_constraints(runner: QueryRunner) -> None:
    from graphrec.load import apply_schema

    apply_schema(runner)
    apply_schema(runner)
    names = {row["name"] for row in runner.run("SHOW CONSTRAINTS YIELD name")}
    assert {"user_id", "item_id", "group_id"} <= names
