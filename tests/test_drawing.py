"""Browser's drawing of a recommendation (`$draw` in recommend_user and recommend_group): the subject, its
items with their scores, and why, as APOC virtual nodes without vectors; nothing else of the query changes."""

from __future__ import annotations

import warnings
from typing import Any

import neo4j
import numpy as np
import pytest

from graphrec.db import cypher
from graphrec.db.runner import QueryRunner
from tests.test_recommend import random_vectors, serve

pytestmark = pytest.mark.neo4j

SERVING = {"k": 4, "filter": {}, "exclude": [], "exact_max_items": 10_000, "oversample": 0, "diversity": None,
           "diversity_by": "graph"}


def drawn(row: dict[str, Any]) -> tuple[dict[int, neo4j.graph.Node], list[neo4j.graph.Relationship]]:
    """The nodes (by their `id` property) and relationships of a row's `graph`."""
    nodes = {x["id"]: x for x in row["graph"] if isinstance(x, neo4j.graph.Node)}
    return nodes, [x for x in row["graph"] if isinstance(x, neo4j.graph.Relationship)]


def browser_id(entity: neo4j.graph.Entity) -> int:
    """The id Browser 5.24 tells drawn nodes and relationships apart by: the legacy one (boltMappings.ts)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return entity.id


def ends(rel: neo4j.graph.Relationship) -> tuple[str, int, int]:
    return rel.type, rel.start_node["id"], rel.end_node["id"]


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))


def run(runner: QueryRunner, name: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    """The rows with graph values as the driver's Node and Relationship objects (QueryRunner.run makes maps)."""
    with runner.driver.session(database=runner.database) as session:
        return [dict(record) for record in session.run(cypher.statement(name), params)]


def test_a_user_s_drawing_holds_the_items_their_scores_and_the_most_similar_own_item(runner: QueryRunner) -> None:
    items = random_vectors(range(100, 130), 5, seed=11)
    users = random_vectors([1], 5, seed=12)
    seen = [100, 101, 102]
    serve(runner, users=users, items=items, interactions=[(1, i) for i in seen],
          item_properties={"title": [f"item {i}" for i in items]})
    plain = run(runner, "recommend_user", {**SERVING, "user": 1, "draw": False})
    rows = run(runner, "recommend_user", {**SERVING, "user": 1, "draw": True})
    assert [row["graph"] for row in plain] == [None] * 4
    assert [{k: v for k, v in row.items() if k != "graph"} for row in rows] == [
        {k: v for k, v in row.items() if k != "graph"} for row in plain]
    interacted: dict[int, list[int]] = {}
    for row in rows:
        nodes, rels = drawn(row)
        because = max(seen, key=lambda j: cosine(items[j], items[row["id"]]))
        assert set(nodes) == {1, row["id"], because}
        assert nodes[row["id"]]["title"] == f"item {row['id']}" and nodes[1].labels == {"User"}
        assert not [key for node in nodes.values() for key in node if key.startswith("~embedding_v")]
        by_type = {rel.type: rel for rel in rels}
        first = because not in interacted  # a relationship shared by rows is drawn once, in the first
        interacted.setdefault(because, []).append(row["rank"])
        assert sorted(map(ends, rels)) == sorted([("RECOMMENDED", 1, row["id"]), ("SIMILAR", because, row["id"])]
                                                 + [("INTERACTED", 1, because)] * first)
        assert by_type["RECOMMENDED"]["rank"] == row["rank"]
        assert by_type["RECOMMENDED"]["score"] == pytest.approx(row["score"], abs=1e-4)
        assert by_type["SIMILAR"]["similarity"] == pytest.approx(cosine(items[because], items[row["id"]]), abs=2e-3)
    assert len(interacted) < len(rows)  # some own item explains several items
    assert len({browser_id(drawn(row)[0][1]) for row in rows}) == 1  # one user node, whichever the row


def test_a_group_s_drawing_holds_its_members_and_their_scores(runner: QueryRunner) -> None:
    items = random_vectors(range(100, 120), 4, seed=21)
    users = random_vectors([1, 2, 3], 4, seed=22)
    serve(runner, users=users, items=items, memberships=[(1, 7), (2, 7), (3, 7)],
          item_properties={"title": [f"item {i}" for i in items]})
    params = {**SERVING, "group": 7, "strategy": "least_misery", "exclude_member_items": False}
    plain = run(runner, "recommend_group", {**params, "draw": False})
    rows = run(runner, "recommend_group", {**params, "draw": True})
    assert [row["graph"] for row in plain] == [None] * 4
    assert [{k: v for k, v in row.items() if k != "graph"} for row in rows] == [
        {k: v for k, v in row.items() if k != "graph"} for row in plain]
    for row in rows:
        nodes, rels = drawn(row)
        assert set(nodes) == {7, 1, 2, 3, row["id"]} and nodes[7].labels == {"Group"}
        assert not [key for node in nodes.values() for key in node if key.startswith("~embedding_v")]
        assert sorted(map(ends, rels)) == sorted(
            [("RECOMMENDED", 7, row["id"])] + [("MEMBER_OF", u, 7) for u in (1, 2, 3) if row["rank"] == 1]
            + [("SCORED", u, row["id"]) for u in (1, 2, 3)])
        scored = {rel.start_node["id"]: rel["score"] for rel in rels if rel.type == "SCORED"}
        assert scored == pytest.approx({m["user"]: m["score"] for m in row["members"]}, abs=1e-4)
        recommended = next(rel for rel in rels if rel.type == "RECOMMENDED")
        assert (recommended["rank"], recommended["score"]) == (row["rank"], pytest.approx(row["score"], abs=1e-4))
        assert recommended["score"] == pytest.approx(min(scored.values()), abs=1e-4)  # least misery
