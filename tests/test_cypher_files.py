"""The `.cypher` files: splitting into statements, and every statement valid on the real server."""

from __future__ import annotations

import pytest

from graphrec import cypher_files
from graphrec.db import QueryRunner


def test_split_keeps_semicolons_inside_strings_and_drops_comments_and_browser_commands() -> None:
    text = """// header; with a semicolon
:param k => 3
RETURN 'a;b' AS x; // trailing comment
MATCH (n:`odd;label`) RETURN "c\\";d" AS y
;
"""
    assert cypher_files.split_statements(text) == (
        "RETURN 'a;b' AS x",
        'MATCH (n:`odd;label`) RETURN "c\\";d" AS y',
    )


def test_unknown_file_names_the_known_ones() -> None:
    with pytest.raises(FileNotFoundError, match="known: .*schema"):
        cypher_files.statements("no_such_query")


def test_statement_refuses_a_file_with_several() -> None:
    with pytest.raises(ValueError, match="holds 3 statements"):
        cypher_files.statement("schema")


@pytest.mark.neo4j
@pytest.mark.parametrize("path", sorted(cypher_files.CYPHER_DIR.glob("*.cypher")), ids=lambda p: p.stem)
def test_every_statement_compiles_on_the_server(runner: QueryRunner, path) -> None:
    statements = cypher_files.statements(path.stem)
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
