"""Serving recommendations from the real server: known-answer graphs for users, groups, similar items,
cold start, explanations and errors, each ranking checked on the exact scan in Cypher and on the large-catalogue
path (candidates from the procedure graphrec.topItems)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch

from graphrec.cli import main
from graphrec.db import cypher
from graphrec.db.connection import Connection
from graphrec.db.runner import QueryRunner
from graphrec.evaluation.diversity import mmr_order
from graphrec.load import load_csv
from graphrec.model.base import Stored
from graphrec.recommend import STRATEGIES, Recommender, RecommendError
from graphrec.writeback import write_model

EXACT, INDEX = 10_000, 0
"""exact_max_items that force the exact scan, and the large-catalogue path (graphrec.topItems), on these small
catalogues."""

Vectors = Mapping[int, Iterable[float]]


def serve(runner: QueryRunner, *, users: Vectors, items: Vectors, groups: Vectors | None = None,
          new_users: Iterable[int] = (), interactions: Iterable[tuple[int, int]] = (),
          memberships: Iterable[tuple[int, int]] = (), group_interactions: Iterable[tuple[int, int]] = (),
          item_properties: Mapping[str, list[Any]] | None = None,
          neighbours: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None) -> None:
    """Load the nodes and edges, then write the given vectors (and item–item weights) back as the active model.

    `new_users` get a node but no vector (users new since the training)."""

    def table(rows: Iterable[Any], *columns: str) -> pd.DataFrame | None:
        frame = pd.DataFrame(list(rows), columns=list(columns))
        return frame if len(frame) else None  # the loader refuses empty tables

    members = table(memberships, "user_id", "group_id")
    load_csv(runner,
             users=table(([u] for u in [*users, *new_users]), "id"),
             items=pd.DataFrame({"id": list(items), **(item_properties or {})}),
             groups=table(([g] for g in sorted({g for _, g in memberships} | set(groups or {}))), "id"),
             memberships=members,
             interactions=table(interactions, "user_id", "item_id"),
             group_interactions=table(group_interactions, "group_id", "item_id"))
    embeddings = {kind: (np.array(list(vectors)), np.array(list(vectors.values()), dtype=np.float32))
                  for kind, vectors in (("user", users), ("item", items), ("group", groups)) if vectors}
    write_model(runner, Stored(embeddings, fold_in="propagate", neighbours=neighbours), {"params": {"kind": "lightgcn"}},
                progress=False)


def exact_top(query: np.ndarray, items: Mapping[int, np.ndarray], k: int, skip: Iterable[int] = ()) -> list[int]:
    """The ids of the k items of highest inner product with `query`, ties by id."""
    skipped = set(skip)
    scored = [(-float(np.dot(query, v)), i) for i, v in items.items() if i not in skipped]
    return [i for _, i in sorted(scored)[:k]]


def random_vectors(ids: Iterable[int], dim: int, seed: int) -> dict[int, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {i: rng.standard_normal(dim).astype(np.float32) for i in ids}


pytestmark = pytest.mark.neo4j


@pytest.fixture(params=[EXACT, INDEX], ids=["exact", "topItems"])
def exact_max_items(request: pytest.FixtureRequest) -> int:
    return request.param


def test_user_top_k_ranks_by_inner_product_and_leaves_out_seen_excluded_and_filtered(
        runner: QueryRunner, exact_max_items: int) -> None:
    items = random_vectors(range(100, 140), 6, seed=1)
    users = random_vectors([1, 2], 6, seed=2)
    seen = exact_top(users[1], items, 3)
    genre = ["a" if i % 2 else "b" for i in items]
    serve(runner, users=users, items=items, interactions=[(1, i) for i in seen],
          item_properties={"genre": genre, "title": [f"item {i}" for i in items]})
    recommender = Recommender(runner, exact_max_items=exact_max_items)

    ranking = recommender.recommend_user(1, 5)
    assert ranking.ids == exact_top(users[1], items, 5, skip=seen)
    assert ranking.basis == "embedding" and ranking.version == 1 and ranking.kind == "user"
    assert [row["rank"] for row in ranking.items] == [1, 2, 3, 4, 5]
    best = ranking.items[0]
    assert best["score"] == pytest.approx(float(np.dot(users[1], items[best["id"]])), abs=1e-4)
    assert best["properties"] == {"genre": genre[best["id"] - 100], "title": f"item {best['id']}"}

    excluded = ranking.ids[:2]
    assert recommender.recommend_user(1, 5, exclude=excluded).ids == \
        exact_top(users[1], items, 5, skip=[*seen, *excluded])
    odd = {i: v for i, v in items.items() if i % 2}
    assert recommender.recommend_user(1, 5, filter={"genre": "a"}).ids == exact_top(users[1], odd, 5, skip=seen)
    assert recommender.recommend_user(1, 5, filter={"genre": "z"}).ids == []


def test_the_large_catalogue_path_returns_the_exact_top_20(runner: QueryRunner) -> None:
    """1,000 random items in 8 dimensions, plus for each of 40 users 20 planted items spread around their
    direction, with long vectors: the 130 candidates per query (k + 10 seen + oversample) from graphrec.topItems
    must hold the user's top 20, and the re-ranking must give numpy's top 20. (Planted so that the vector index,
    which served this path until 2026-12-01, could pass too: on plain random items it found 99.75% of the top 20
    among 130 candidates.)"""
    rng = np.random.default_rng(3)
    items = {10_000 + n: rng.standard_normal(8).astype(np.float32) for n in range(1000)}
    users = {u: rng.standard_normal(8).astype(np.float32) for u in range(1, 41)}
    for user, vector in users.items():
        direction = vector / np.linalg.norm(vector)
        for r in range(20):
            items[20_000 + 100 * user + r] = (direction * (4.0 - 0.1 * r)
                                              + 0.5 * rng.standard_normal(8)).astype(np.float32)
    seen = {u: [int(i) for i in rng.choice(list(items), 10, replace=False)] for u in users}
    serve(runner, users=users, items=items, interactions=[(u, i) for u, its in seen.items() for i in its])
    recommender = Recommender(runner, exact_max_items=INDEX)
    for user, vector in users.items():
        ranking = recommender.recommend_user(user, 20)
        expected = exact_top(vector, items, 20, skip=seen[user])
        # The same score at every rank, each the item's own: items whose float32 scores differ by less than
        # ~1e-5 may trade places (even across the 20th rank), anything else would change a score.
        assert [row["score"] for row in ranking.items] == pytest.approx(
            [float(np.dot(vector, items[i])) for i in expected], rel=1e-5, abs=1e-5)
        assert [row["score"] for row in ranking.items] == pytest.approx(
            [float(np.dot(vector, items[i])) for i in ranking.ids], rel=1e-5, abs=1e-5)
        assert not set(ranking.ids) & set(seen[user])


def test_item_weights_sums_each_sources_relationships_by_hand(runner: QueryRunner) -> None:
    """graphrec.itemWeights on four items: 1 -> 3 (0.5), 1 -> 4 (0.25), 2 -> 3 (2.0), 2 -> 1 (1.0), 3 -> 4
    (-1.0), and one relationship of another type that must not count. Sources [1, 2] and [3], item 1
    excluded: item 3 gets (0.5 + 2.0, 0), item 4 (0.25, -1.0); nothing reaches item 2."""
    runner.run("UNWIND range(1, 4) AS id CREATE (:Item {id: id})")
    runner.run("UNWIND $edges AS e MATCH (a:Item {id: e[0]}), (b:Item {id: e[1]}) "
               "CREATE (a)-[:SIMILAR_v1 {weight: e[2]}]->(b)",
               {"edges": [[1, 3, 0.5], [1, 4, 0.25], [2, 3, 2.0], [2, 1, 1.0], [3, 4, -1.0]]})
    runner.run("MATCH (a:Item {id: 1}), (b:Item {id: 2}) CREATE (a)-[:SIMILAR_v2 {weight: 9.0}]->(b)")
    rows = runner.run(
        "MATCH (i:Item) WITH collect(i) AS all "
        "WITH [i IN all WHERE i.id IN [1, 2]] AS first, [i IN all WHERE i.id = 3] AS second, "
        "     [i IN all WHERE i.id = 1] AS out "
        "CALL graphrec.itemWeights('SIMILAR_v1', [first, second], out) YIELD node, weights "
        "RETURN node.id AS id, weights ORDER BY id")
    assert rows == [{"id": 3, "weights": [2.5, 0.0]}, {"id": 4, "weights": [0.25, -1.0]}]
    assert runner.run("CALL graphrec.itemWeights('SIMILAR_v1', [], []) YIELD node RETURN count(node) AS n") == [{"n": 0}]

    def best(n: int, rank: str = "sum", coefficients: list[float] | None = None) -> list[int]:
        return [row["id"] for row in runner.run(
            "MATCH (i:Item) WITH collect(i) AS all "
            "CALL graphrec.itemWeights('SIMILAR_v1', [[i IN all WHERE i.id IN [1, 2]], [i IN all WHERE i.id = 3]], "
            "                          [i IN all WHERE i.id = 1], $n, $rank, $coefficients) YIELD node "
            "RETURN node.id AS id ORDER BY id", {"n": n, "rank": rank, "coefficients": coefficients or []})]

    # keys of items 3 and 4: sum 2.5 and -0.75; min 0.0 and -1.0; max 2.5 and 0.25
    assert best(-1) == best(2) == best(5) == [3, 4] and best(0) == []
    assert best(1) == best(1, "min") == best(1, "max") == [3]
    assert best(1, "sum", [0.0, -1.0]) == [4]  # 0.0 and 1.0
    assert best(1, "max", [0.0, 1.0]) == [3]  # the second source alone: 0.0 and -1.0
    assert best(1, "min", [1.0, 0.0]) == [3]  # the first alone: 2.5 and 0.25
    assert best(1, "sum", [0.0, 0.0]) == [3] and best(2, "sum", [0.0, 0.0]) == [3, 4]  # one key: lowest ids
    assert best(1, "sum", [1.0, -2.25 - 1e-12]) == [3, 4]  # 2.5 and 2.5 + 1e-12: within the slack
    assert best(1, "sum", [1.0, -2.26]) == [4]  # 2.5 and 2.51

    def keys(rank: str, coefficients: list[float] | None = None) -> dict[int, float]:
        return {row["id"]: row["score"] for row in runner.run(
            "MATCH (i:Item) WITH collect(i) AS all "
            "CALL graphrec.itemWeights('SIMILAR_v1', [[i IN all WHERE i.id IN [1, 2]], [i IN all WHERE i.id = 3]], "
            "                          [i IN all WHERE i.id = 1], 1, $rank, $coefficients) YIELD node, score "
            "RETURN node.id AS id, score", {"rank": rank, "coefficients": coefficients or []})}

    # the yielded key; Borda: per source the other reached items scored at most as high (source 1: 2.5 > 0.25,
    # source 2: 0.0 > -1.0), so 1 + 1 and 0 + 0, counted among both items though only item 3 is yielded
    assert keys("sum") == {3: 2.5} and keys("min", [1.0, 0.0]) == {3: 2.5}
    assert keys("borda") == {3: 2.0} and keys("borda", [0.0, 3.0]) == {3: 3.0}
    for rank, coefficients, message in (("median", [], "rank must be"), ("sum", [1.0], "1 coefficients for 2")):
        with pytest.raises(Exception, match=message):
            best(1, rank, coefficients)


MMR_QUERY = ("RETURN graphrec.mmr([id IN $ids | head(COLLECT { MATCH (i:Item {id: id}) RETURN i })], $scores, $k, "
             "$lambda, $property) AS picked")


def store_vectors(runner: QueryRunner, vectors: Mapping[int, list[float] | None]) -> None:
    """Items with their vector in `vec`, float32 as write-back stores them (a zero one as a plain list, which
    db.create.setNodeVectorProperty refuses); None: no property."""
    runner.run("UNWIND $rows AS row CREATE (i:Item {id: row.id}) "
               "WITH i, row WHERE row.v IS NOT NULL AND any(x IN row.v WHERE x <> 0) "
               "CALL db.create.setNodeVectorProperty(i, 'vec', row.v)",
               {"rows": [{"id": i, "v": v} for i, v in vectors.items()]})
    runner.run("UNWIND $rows AS row MATCH (i:Item {id: row.id}) SET i.vec = row.v",
               {"rows": [{"id": i, "v": v} for i, v in vectors.items() if v is not None and not any(v)]})


def test_mmr_function_picks_by_hand_and_as_mmr_order(runner: QueryRunner) -> None:
    """graphrec.mmr, serving's MMR, on a pool worked by hand, then on shuffled random pools against the offline
    mmr_order. By hand: a (score 1) and b (0.9) point the same way, c (0.8) at right angles, d (0.5) has no
    vector, e (0) a zero one; relevance is the score. lambda 0.5: a (0.5); c 0.4 beats d 0.25, e 0 and
    b 0.45 - 0.5 * 1; then d, e, b. lambda 1: every value 0 but b's -1, so ties go down the ranking: a, c, d, e, b
    too; lambda 0 or null, or no vector property: the ranking by score."""
    a, b, c, d, e = 1, 2, 3, 4, 5
    store_vectors(runner, {a: [1.0, 0.0], b: [2.0, 0.0], c: [0.0, 3.0], d: None, e: [0.0, 0.0]})

    def mmr(ids: list[int], scores: list[float], k: int, lam: float | None, prop: str | None = "vec") -> list[int]:
        picked = runner.run(MMR_QUERY, {"ids": ids, "scores": scores, "k": k, "lambda": lam, "property": prop})
        return [ids[n] for n in picked[0]["picked"]]

    pool, scores = [a, b, c, d, e], [1.0, 0.9, 0.8, 0.5, 0.0]
    assert mmr(pool, scores, 5, 0.5) == [a, c, d, e, b]
    assert mmr(pool, scores, 3, 0.5) == [a, c, d]
    assert mmr(pool, scores, 9, 1.0) == [a, c, d, e, b]
    assert mmr([e, c, a, d, b], [0.0, 0.8, 1.0, 0.5, 0.9], 5, 0.5) == [a, c, d, e, b]  # unranked: ranked first
    for lam in (0.0, None):
        assert mmr(pool, scores, 3, lam) == [a, b, c]
    assert mmr(pool, scores, 5, 0.5, None) == pool
    assert mmr(pool, [0.7] * 5, 2, 0.5) == [a, c]  # equal scores: relevance 1 for all, ties to the first
    assert mmr(pool, scores, 0, 0.5) == []
    runner.run("MATCH (i:Item) DETACH DELETE i")

    rng = np.random.default_rng(11)
    vectors = {i: rng.standard_normal(3).astype(np.float32) for i in range(10, 30)}
    store_vectors(runner, {i: (None if i == 17 else v.tolist()) for i, v in vectors.items()})
    for case in range(12):
        ids = [int(i) for i in rng.permutation(list(vectors))[:15]]
        scores = np.round(rng.standard_normal(15), 1).tolist()  # rounded: some ties
        k, lam = (4, 8, 15, 20)[case % 4], (0.3, 0.7, 1.0)[case % 3]
        expected = mmr_order(torch.tensor(scores, dtype=torch.float64),
                             torch.tensor(np.array([np.zeros(3) if i == 17 else vectors[i] for i in ids])), k, lam)
        assert mmr(ids, scores, k, lam) == [ids[n] for n in expected.tolist()], (case, ids, scores, k, lam)


# Two members whose tastes disagree. Scores (member 1, member 2) per item:
# A (10, -5), B (2, 2), C (-6, 12), D (1, 1), E (0, 0); with the group's own vector (0.1, 0, 1):
# A 1, B 0.2, C -0.6, D 0.1, E 5. F (3, 3) is the group's own item, B is member 1's.
A, B, C, D, E, F = 101, 102, 103, 104, 105, 106
GROUP_ITEMS = {A: [10, -5, 0], B: [2, 2, 0], C: [-6, 12, 0], D: [1, 1, 0], E: [0, 0, 5], F: [3, 3, 0]}


def test_inner_products_function_equals_numpy_in_float64(runner: QueryRunner) -> None:
    """graphrec.innerProducts, serving's q . v of the candidates: for each node, each query vector's inner
    product with the node's float32 vector, summed in float64 (13 dimensions: no whole number of SIMD lanes);
    null for a null query and for a node without the vector."""
    rng = np.random.default_rng(5)
    vectors = {i: rng.standard_normal(13).astype(np.float32) for i in range(1, 8)}
    store_vectors(runner, {**{i: v.tolist() for i, v in vectors.items()}, 99: None})
    queries = [rng.standard_normal(13).tolist(), None, rng.standard_normal(13).tolist()]
    ids = [3, 99, 1, 7]
    [row] = runner.run("RETURN graphrec.innerProducts('vec', 'stamp-a', $queries, "
                       "[id IN $ids | head(COLLECT { MATCH (i:Item {id: id}) RETURN i })]) AS products",
                       {"queries": queries, "ids": ids})
    expected = [[None if q is None or i == 99
                 else pytest.approx(float(np.dot(np.array(q), vectors[i].astype(np.float64))), rel=1e-12, abs=1e-12)
                 for q in queries] for i in ids]
    assert row["products"] == expected
    with pytest.raises(Exception, match="graphrec.innerProducts: query 1 has 3 dimensions"):
        runner.run("RETURN graphrec.innerProducts('vec', 'stamp-a', [null, [1.0, 2.0, 3.0]], []) AS products")


@pytest.mark.parametrize("shape", ["outlier", "ties"])
def test_top_items_gives_the_exact_borda_points_of_its_n_best_whatever_n(runner: QueryRunner, shape: str) -> None:
    """graphrec.topItems' Borda, called directly: for n = 1, 5, 20, 100 and beyond, its n best and their points
    are numpy's (points over every item left, ties by id), three items excluded. Its buckets are crowded on
    purpose: `outlier`, 600 random items and one 1,000 times as long, so a member's other scores share a few
    buckets and their bounds are wide; `ties`, 30 vectors of small integers shared by 600 items and integer
    queries, so every score is exact and ties 20 items at a time."""
    rng = np.random.default_rng(5)
    if shape == "ties":
        table = rng.integers(-3, 4, (30, 4)).astype(np.float32)
        vectors = {n: table[n % 30] for n in range(1, 601)}
        queries = rng.integers(-3, 4, (4, 4)).astype(np.float64)
    else:
        vectors = {n: rng.standard_normal(8).astype(np.float32) for n in range(1, 601)}
        vectors[1] = vectors[1] * np.float32(1000)
        queries = rng.standard_normal((4, 8))
    store_vectors(runner, {i: v.tolist() for i, v in vectors.items()})
    excluded = [3, 7, 11]
    ids = np.array(list(vectors))
    left = ~np.isin(ids, excluded)
    points = member_aggregates(np.array(list(vectors.values()), dtype=np.float64)[left] @ queries.T)["borda"]
    expected = [(int(i), -float(p)) for p, i in sorted(zip(-points, ids[left]))]
    for n in (1, 5, 20, 100, len(expected), 10**12):  # n past the catalogue: every item, no n-sized buffer
        rows = runner.run("MATCH (x:Item) WHERE x.id IN $excluded WITH collect(x) AS out "
                          "CALL graphrec.topItems('vec', $stamp, $queries, 'borda', $n, out) YIELD node, score "
                          "RETURN node.id AS id, score",
                          {"excluded": excluded, "stamp": f"stamp-borda-{shape}", "queries": queries.tolist(), "n": n})
        assert [(row["id"], row["score"]) for row in rows] == expected[:n], n


@pytest.mark.parametrize("shape", ["norms", "ties", "hand"])
@pytest.mark.parametrize("queries_kind", ["random", "opposed"])
def test_top_items_reads_by_norm_and_still_gives_the_exact_n_best(runner: QueryRunner, shape: str,
                                                                   queries_kind: str) -> None:
    """graphrec.topItems' average, least misery and most pleasure, called directly: for n = 1, 5, 20, 100 and
    beyond, the n best ids, their scores and each query's score are numpy's (ties by id), three items excluded.
    It reads the items by decreasing norm and stops once |q| |v| is below the n-th best, so the norms spread far:
    `norms`, 800 random directions whose lengths follow a Pareto law; `ties`, 40 small integer vectors scaled by
    1, 2, 4 and 8, each scaled vector held by 5 items (every score exact, ties at every cut), and a zero vector.
    `opposed` queries come in pairs q, -q: their mean is zero, so the average is 0 for every item and cannot be
    cut (exactly 0 only with the exact scores of `ties`; with `norms` it is rounding noise, not compared), and
    most pleasure is |q . v|. `hand`: least misery reads the shortest query first and the others only where its
    score reaches the n-th best; queries (1, 0) and (1, 1) tie item 10 = (4, 3), read first (longer), and item
    5 = (4, 0), read in a later round after 300 items (0, 4.5), at 4: the first query's 4 for item 5 must not
    end its reading, as it wins the tie by its id."""
    rng = np.random.default_rng(8)
    if shape == "ties":
        table = rng.integers(-3, 4, (40, 4)).astype(np.float32)
        vectors = {n: table[n % 40] * np.float32(2 ** ((n // 40) % 4)) for n in range(1, 801)}
        vectors[801] = np.zeros(4, np.float32)
        base = rng.integers(-3, 4, (2, 4)).astype(np.float64)
    elif shape == "hand":
        vectors = {10: np.float32([4, 3]), 5: np.float32([4, 0]), 20: np.float32([1, 1]), 30: np.float32([0, 2]),
                   **{1000 + k: np.float32([0, 4.5]) for k in range(300)}}  # between them: 5 in a later round
        base = np.array([[1.0, 0.0], [1.0, 1.0]])
    else:
        directions = rng.standard_normal((800, 8))
        lengths = rng.pareto(1.5, 800) + 0.01
        vectors = {n + 1: (directions[n] / np.linalg.norm(directions[n]) * lengths[n]).astype(np.float32)
                   for n in range(800)}
        base = rng.standard_normal((2, 8))
    queries = np.concatenate([base, -base]) if queries_kind == "opposed" else np.concatenate([base, 2 * base[::-1]])
    store_vectors(runner, {i: v.tolist() for i, v in vectors.items()})
    excluded = [3, 7, 11]
    ids = np.array(list(vectors))
    left = ~np.isin(ids, excluded)
    kept = np.array(list(vectors.values()), dtype=np.float64)[left] @ queries.T
    aggregates = member_aggregates(kept)
    for strategy in ("average", "least_misery", "most_pleasure")[(shape, queries_kind) == ("norms", "opposed"):]:
        value = sum(kept[:, m] / 4 for m in range(4)) if strategy == "average" else aggregates[strategy]
        expected = sorted(zip(-value, ids[left], range(len(value))))
        for n in (1, 5, 20, 100, len(expected), 10**12):
            rows = runner.run("MATCH (x:Item) WHERE x.id IN $excluded WITH collect(x) AS out "
                              "CALL graphrec.topItems('vec', $stamp, $queries, $strategy, $n, out) "
                              "YIELD node, score, scores RETURN node.id AS id, score, scores",
                              {"excluded": excluded, "stamp": f"stamp-norm-{shape}-{queries_kind}",
                               "queries": queries.tolist(), "strategy": strategy, "n": n})
            best = expected[:n]
            assert [row["id"] for row in rows] == [int(i) for _, i, _ in best], (strategy, n)
            exact = {"rel": 1e-12, "abs": 1e-12} if shape == "norms" else {"rel": 0, "abs": 0}
            assert [row["score"] for row in rows] == pytest.approx([-float(v) for v, _, _ in best], **exact)
            assert [row["scores"] for row in rows] == [pytest.approx(kept[at].tolist(), **exact) for _, _, at in best]


@pytest.fixture
def group_graph(runner: QueryRunner) -> QueryRunner:
    serve(runner, users={1: [1, 0, 0], 2: [0, 1, 0]}, items=GROUP_ITEMS, groups={7: [0.1, 0, 1]},
          memberships=[(1, 7), (2, 7)], interactions=[(1, B)], group_interactions=[(7, F)])
    return runner


@pytest.mark.parametrize("strategy, expected", [
    ("average", [C, A, B, D, E]),         # means 3, 2.5, 2, 1, 0
    ("least_misery", [B, D, E, A, C]),    # minima 2, 1, 0, -5, -6
    ("most_pleasure", [C, A, B, D, E]),   # maxima 12, 10, 2, 1, 0
    ("borda", [B, A, C, D, E]),           # points 3+3, 4+0, 0+4, 2+2 (ties by id), 1+1
    ("group", [E, A, B, D, C]),           # the group vector: 5, 1, 0.2, 0.1, -0.6
])
def test_group_strategies_give_their_known_rankings(group_graph: QueryRunner, exact_max_items: int,
                                                    strategy: str, expected: list[int]) -> None:
    ranking = Recommender(group_graph, exact_max_items=exact_max_items).recommend_group(7, 5, strategy=strategy)
    assert ranking.ids == expected
    assert ranking.strategy == strategy and ranking.basis == ("group" if strategy == "group" else "members")
    first = ranking.items[0]
    vector = np.array(GROUP_ITEMS[first["id"]], dtype=np.float32)
    assert [(m["user"], m["score"]) for m in first["members"]] == [
        (1, pytest.approx(float(vector[0]), abs=1e-4)), (2, pytest.approx(float(vector[1]), abs=1e-4))]
    assert first["group_score"] == pytest.approx(float(vector @ [0.1, 0, 1]), abs=1e-4)


def member_aggregates(kept: np.ndarray) -> dict[str, np.ndarray]:
    """Each member strategy's score of the items left (`kept`: items x members scores): the mean, the lowest, the
    highest, and Borda points (one per other item the member scores at most as high, as
    graphrec.evaluation.scorers counts them)."""
    borda = sum(np.searchsorted(np.sort(kept[:, m]), kept[:, m], side="right") - 1 for m in range(kept.shape[1]))
    return {"average": kept.mean(1), "least_misery": kept.min(1), "most_pleasure": kept.max(1),
            "borda": borda.astype(np.float64)}


@pytest.mark.parametrize("count, dim, sizes, shape", [
    (1500, 8, (2, 6), "normal"), (1499, 13, (2, 6), "normal"), (2048, 512, (8, 9), "normal"),
    (1500, 4, (2, 6), "ties"), (1500, 8, (2, 6), "outlier")],
    ids=["small", "ragged", "parallel", "ties", "outlier"])
def test_every_group_strategy_serves_the_exact_top_20_of_the_whole_catalogue(
        runner: QueryRunner, exact_max_items: int, count: int, dim: int, sizes: tuple[int, int], shape: str
) -> None:
    """1,500 random items in 8 dimensions and groups of 2-5 random members, who disagree: the least-misery
    top items sit deep in every member's list (where the vector index lost two thirds of them on Gowalla).
    Each strategy's top 20 must be numpy's over the whole catalogue, the member items left out or not; Borda
    points are counted over every item left (an item gets one point per other item a member scores at most as
    high, as graphrec.evaluation.scorers counts them). `parallel`: 8 members over 2,048 items of 512
    dimensions, 8.4M products, at graphrec.topItems' PARALLEL_PRODUCTS: its blocks run in parallel. `ragged`:
    1,499 items of 13 dimensions, neither a multiple of the scan's four rows nor of its SIMD lanes. `ties`: 30
    distinct vectors of small integers shared by 1,500 items, so every score is an exact integer and every
    member ties 50 items at a time (Borda's equal scores share the best rank, crowd one bucket of graphrec.topItems'
    count, and the ties of the sums go by id). `outlier`: the small case with one item 1,000 times as long, which
    squeezes every other score of a member into a few of graphrec.topItems' Borda buckets (so its bounds are wide
    and the exact count within a bucket decides)."""
    if dim >= 512 and exact_max_items:
        pytest.skip("the parallel scan is graphrec.topItems'; the exact scan in Cypher is the small case's")
    rng = np.random.default_rng(11)
    if shape == "ties":
        table = rng.integers(-3, 4, (30, dim)).astype(np.float32)
        items = {10_000 + n: table[n % 30] for n in range(count)}
        users = {u: rng.integers(-3, 4, dim).astype(np.float32) for u in range(1, 21)}
    else:
        items = {10_000 + n: rng.standard_normal(dim).astype(np.float32) for n in range(count)}
        users = {u: rng.standard_normal(dim).astype(np.float32) for u in range(1, 21)}
    if shape == "outlier":
        items[10_000] = items[10_000] * np.float32(1000)
    groups = {100 + g: [int(u) for u in rng.choice(list(users), rng.integers(*sizes), replace=False)]
              for g in range(4)}
    seen = {u: [int(i) for i in rng.choice(list(items), 5, replace=False)] for u in users}
    serve(runner, users=users, items=items, memberships=[(u, g) for g, us in groups.items() for u in us],
          interactions=[(u, i) for u, its in seen.items() for i in its])
    recommender = Recommender(runner, exact_max_items=exact_max_items)
    ids = np.array(list(items))
    vectors = np.array(list(items.values()), dtype=np.float64)
    for group, members in groups.items():
        scores = vectors @ np.array([users[u] for u in members], dtype=np.float64).T  # items x members
        for exclude_member_items in (False, True):
            left = ~np.isin(ids, [i for u in members for i in seen[u]]) if exclude_member_items else np.ones(len(ids), bool)
            kept = scores[left]
            expected = member_aggregates(kept)
            for strategy, value in expected.items():
                ranking = recommender.recommend_group(group, 20, strategy=strategy,
                                                      exclude_member_items=exclude_member_items)
                best = sorted(zip(-value, ids[left]))[:20]
                if strategy == "borda":
                    assert ranking.ids == [int(i) for _, i in best], (group, strategy)
                    assert [row["score"] for row in ranking.items] == [-float(s) for s, _ in best], (group, strategy)
                else:  # float32 scores within ~1e-5 may trade places; every served score must be the true one,
                    # to float32's error on q.v from distances, about 1e-7 (|q|^2 + M^2): 1e-4 at 512 dimensions
                    assert [row["score"] for row in ranking.items] == pytest.approx(
                        [-float(s) for s, _ in best], rel=1e-4, abs=1e-4 * max(1, dim // 64)), (group, strategy)
                    assert len(set(ranking.ids) & {int(i) for _, i in best}) >= 19, (group, strategy)


def test_a_model_with_weights_and_vectors_serves_the_exact_top_20_and_borda_over_the_whole_catalogue(
        runner: QueryRunner, exact_max_items: int) -> None:
    """A model with both parts (GF-CF's shape): user m scores item i by q_m . v_i plus the weights of the
    SIMILAR relationships from m's items to i. 400 items in 6 dimensions, 12 weights out of each, 20 users with
    8 items each, groups of 3-6 of them. A user's top 20 must be numpy's, and so must every group strategy's;
    Borda's over every item left: an item's points from a member are the other items that member scores at most
    as high. (The procedure path once counted them among its candidates only, the top of q . v and the items
    reached by weights: 0.80-0.84 of the exact top 20 on Gowalla.)"""
    rng = np.random.default_rng(23)
    items = {10_000 + n: rng.standard_normal(6).astype(np.float32) for n in range(400)}
    ids = np.array(list(items))
    users = {u: rng.standard_normal(6).astype(np.float32) for u in range(1, 21)}
    groups = {100 + g: [int(u) for u in rng.choice(list(users), rng.integers(3, 7), replace=False)] for g in range(4)}
    seen = {u: [int(i) for i in rng.choice(ids, 8, replace=False)] for u in users}
    sources = np.repeat(ids, 12)
    targets = np.concatenate([rng.choice(ids[ids != i], 12, replace=False) for i in ids])
    weights = rng.uniform(0.0, 2.0, sources.size)
    serve(runner, users=users, items=items, memberships=[(u, g) for g, us in groups.items() for u in us],
          interactions=[(u, i) for u, its in seen.items() for i in its], neighbours=(sources, targets, weights))
    recommender = Recommender(runner, exact_max_items=exact_max_items)
    position = {int(i): n for n, i in enumerate(ids)}
    vectors = np.array(list(items.values()), dtype=np.float64)

    def scores(user: int) -> np.ndarray:
        score = vectors @ users[user].astype(np.float64)
        reach = np.isin(sources, seen[user])
        np.add.at(score, [position[int(t)] for t in targets[reach]], weights[reach])
        return score

    for user in users:
        ranking = recommender.recommend_user(user, 20)
        score, left = scores(user), ~np.isin(ids, seen[user])
        best = sorted(zip(-score[left], ids[left]))[:20]
        assert ranking.ids == [int(i) for _, i in best], user
        assert [row["score"] for row in ranking.items] == pytest.approx([-float(s) for s, _ in best], rel=1e-6)
    for group, members in groups.items():
        member_scores = np.stack([scores(u) for u in members], axis=1)  # items x members
        for exclude_member_items in (False, True):
            left = ~np.isin(ids, [i for u in members for i in seen[u]]) if exclude_member_items else np.ones(len(ids), bool)
            kept = member_scores[left]
            expected = {**member_aggregates(kept), "combined": kept.mean(1)}  # no group side: the average
            for strategy, value in expected.items():
                ranking = recommender.recommend_group(group, 20, strategy=strategy,
                                                      exclude_member_items=exclude_member_items)
                best = sorted(zip(-value, ids[left]))[:20]
                assert ranking.ids == [int(i) for _, i in best], (group, strategy, exclude_member_items)
                assert [row["score"] for row in ranking.items] == pytest.approx([-float(s) for s, _ in best],
                                                                                rel=1e-5, abs=1e-5)


def test_average_and_least_misery_disagree_and_member_items_can_be_left_out(group_graph: QueryRunner) -> None:
    recommender = Recommender(group_graph)
    assert recommender.recommend_group(7, 1, strategy="average").ids == [C]
    assert recommender.recommend_group(7, 1, strategy="least_misery").ids == [B]
    assert recommender.recommend_group(7, 1, strategy="least_misery", exclude_member_items=True).ids == [D]
    assert F not in recommender.recommend_group(7, 6, strategy="least_misery").ids


def test_combined_mixes_the_group_vector_with_the_members_and_falls_back_to_them(group_graph: QueryRunner) -> None:
    recommender = Recommender(group_graph)
    fallback = recommender.recommend_group(7, 5)
    assert fallback.basis == "members" and fallback.ids == [C, A, B, D, E]  # no group_weight: the average
    group_graph.run("MATCH (m:Model {active: true}) SET m.group_weight = 0.5")
    combined = recommender.recommend_group(7, 5)
    # 0.5 * group + 0.5 * average: E 2.5, A 1.75, C 1.2, B 1.1, D 0.55
    assert combined.basis == "combined" and combined.ids == [E, A, C, B, D]
    assert combined.items[0]["score"] == pytest.approx(2.5, abs=1e-4)


def test_combined_counts_unscored_members_in_its_candidates_as_in_its_score(
        runner: QueryRunner, exact_max_items: int) -> None:
    """A group with its own vector g, one member with a vector q and four without vector or history (unscored):
    combined = a g.v + (1 - a) q.v / 5 (every member counted). Its top 20 over 1,500 items, with no
    oversampling, must be numpy's: the candidates must follow the same mix (q / 5, not q / 1)."""
    rng = np.random.default_rng(5)
    items = {10_000 + n: rng.standard_normal(8).astype(np.float32) for n in range(1500)}
    g = rng.standard_normal(8).astype(np.float32)
    q = rng.standard_normal(8).astype(np.float32)
    q -= g * (q @ g) / (g @ g)  # orthogonal to g, of g's norm: the two mixes point 34 degrees apart
    q *= np.linalg.norm(g) / np.linalg.norm(q)
    serve(runner, users={1: q}, items=items, groups={50: g}, new_users=[2, 3, 4, 5],
          memberships=[(u, 50) for u in range(1, 6)])
    runner.run("MATCH (m:Model {active: true}) SET m.group_weight = 0.5")
    ranking = Recommender(runner, exact_max_items=exact_max_items, oversample=0).recommend_group(50, 20)
    vectors = np.array(list(items.values()), dtype=np.float64)
    expected = 0.5 * vectors @ g + 0.5 * (vectors @ q) / 5
    best = np.argsort(-expected)[:20]
    assert ranking.basis == "combined" and sorted(ranking.items[0]["unscored"]) == [2, 3, 4, 5]
    assert [row["score"] for row in ranking.items] == pytest.approx(expected[best].tolist(), rel=1e-4, abs=1e-4)


def test_cold_start_folds_new_users_in_and_gives_users_without_history_popular_items(
        runner: QueryRunner, exact_max_items: int) -> None:
    items = random_vectors(range(100, 130), 5, seed=6)
    users = random_vectors([1, 2, 3], 5, seed=7)
    history = {1: [100, 101, 102, 103], 2: [100, 101, 104], 3: [100], 8: [101, 105, 106]}
    serve(runner, users=users, items=items, new_users=[8, 9],
          interactions=[(u, i) for u, its in history.items() for i in its])
    degree = {i: sum(i in its for its in history.values()) for i in items}
    folded = sum(items[i] / np.sqrt(len(history[8]) * degree[i]) for i in history[8])
    recommender = Recommender(runner, exact_max_items=exact_max_items)

    new = recommender.recommend_user(8, 5)
    assert new.basis == "folded_in" and new.ids == exact_top(folded, items, 5, skip=history[8])
    assert new.items[0]["score"] == pytest.approx(float(np.dot(folded, items[new.ids[0]])), abs=1e-4)
    nobody = recommender.recommend_user(9, 3)
    assert nobody.basis == "popular" and nobody.ids == [100, 101, 102]  # 3, 3 and 1 interactions, ties by id
    assert [row["score"] for row in nobody.items] == [3.0, 3.0, 1.0]


def test_similar_items_by_cosine(runner: QueryRunner, exact_max_items: int) -> None:
    items = random_vectors(range(100, 160), 6, seed=8)
    serve(runner, users={1: [1.0] * 6}, items=items)
    unit = {i: v / np.linalg.norm(v) for i, v in items.items()}
    ranking = Recommender(runner, exact_max_items=exact_max_items).similar_items(100, 5)
    assert ranking.ids == exact_top(unit[100], unit, 5, skip=[100])
    assert ranking.items[0]["score"] == pytest.approx(float(np.dot(unit[100], unit[ranking.ids[0]])), abs=1e-5)


def test_explain_names_the_nearest_own_item_and_a_shared_neighbour_path(runner: QueryRunner) -> None:
    # user 1 has P (orthogonal to T) and Q (close to T); user 2 has Q and T; user 3 has nothing in common.
    P, Q, T = 100, 101, 102
    serve(runner, users={1: [1, 1, 0], 2: [0, 1, 1], 3: [1, 0, 0]},
          items={P: [1, 0, 0], Q: [0, 1, 0.2], T: [0, 1, 0]}, groups={7: [0, 0, 2]},
          memberships=[(1, 7), (3, 7)], interactions=[(1, P), (1, Q), (2, Q), (2, T)])
    recommender = Recommender(runner)

    why = recommender.explain(T, user=1)
    assert why["score"] == pytest.approx(1.0) and not why["interacted"]
    assert [b["item"] for b in why["because"]] == [Q, P]
    assert why["because"][0]["co_users"] == 1 and why["because"][1]["co_users"] == 0
    assert why["steps"] == [{"label": "User", "id": 1}, {"label": "Item", "id": Q},
                            {"label": "User", "id": 2}, {"label": "Item", "id": T}]

    group = recommender.explain(T, group=7)
    assert [(m["user"], m["score"]) for m in group["members"]] == [(1, pytest.approx(1.0)), (3, pytest.approx(0.0))]
    assert group["group_score"] == pytest.approx(0.0)
    assert [step["id"] for step in group["steps"]] == [7, 1, Q, 2, T]


def test_clear_errors_instead_of_empty_lists(runner: QueryRunner) -> None:
    load_csv(runner, users=pd.DataFrame({"id": [1, 2]}), items=pd.DataFrame({"id": [100, 101]}),
             groups=pd.DataFrame({"id": [7, 8]}), memberships=pd.DataFrame({"user_id": [1], "group_id": [7]}))
    recommender = Recommender(runner)
    with pytest.raises(RecommendError, match="no active model"):
        recommender.recommend_user(1)
    write_model(runner, Stored({"user": (np.array([1, 2]), np.eye(2, dtype=np.float32)),
                              "item": (np.array([100]), np.ones((1, 2), dtype=np.float32))}, fold_in="propagate"), {}, progress=False)
    for call, message in [
        (lambda: recommender.recommend_user(3), "unknown user 3"),
        (lambda: recommender.recommend_group(9), "unknown group 9"),
        (lambda: recommender.recommend_group(8), "group 8 has no members"),
        (lambda: recommender.recommend_group(7, strategy="group"), "group 7 has no score of its own in model v1"),
        (lambda: recommender.similar_items(555), "unknown item 555"),
        (lambda: recommender.similar_items(101), "model v1 knows nothing of item 101"),
        (lambda: recommender.explain(555, user=1), "unknown item 555"),
        (lambda: recommender.explain(100), "exactly one of user= or group="),
        (lambda: recommender.recommend_user(1, 0), "k must be an integer from 1 to 1000, not 0"),
        (lambda: recommender.recommend_user(1, k=2.5), "k must be an integer"),
        (lambda: recommender.recommend_group(7, strategy="median"), "unknown strategy 'median'"),
        (lambda: recommender.recommend_user(1, filter={"~embedding_v1": 1}), "cannot filter on item property"),
        (lambda: recommender.recommend_user("1"), "a user id is an integer"),
    ]:
        with pytest.raises(RecommendError, match=message):
            call()
    assert recommender.recommend_user(1, 5).ids == [100]  # fewer items than k is an answer, not an error


class RecordingRunner:
    """Answers the ranking query with `answers` in turn and the lookup with a catalogue of `items` items."""

    def __init__(self, answers: list[list[dict[str, Any]]], items: int) -> None:
        self.answers, self.items, self.sent = answers, items, []

    def run(self, query: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        self.sent.append((query, params))
        if query == cypher.statement("serving_lookup"):
            return [{"version": 1, "items": self.items, "user": None, "group": None, "item": None}]
        return self.answers.pop(0)

    read = run  # the Recommender reads through QueryRunner.read


def row(rank: int) -> dict[str, Any]:
    return {"rank": rank, "id": 100 + rank, "score": 1.0 / rank, "basis": "embedding", "version": 1, "properties": []}


def test_a_short_candidate_answer_is_repeated_as_an_exact_scan() -> None:
    fake = RecordingRunner([[row(1)], [row(1), row(2), row(3)]], items=50_000)
    ranking = Recommender(fake, exact_max_items=2000, oversample=10).recommend_user(5, 3, filter={"genre": "jazz"})
    assert ranking.ids == [101, 102, 103]
    (first, first_params), lookup, (second, second_params) = fake.sent
    assert first == second == cypher.statement("recommend_user")  # the same text, values as parameters
    assert first_params == {"user": 5, "k": 3, "filter": {"genre": "jazz"}, "exclude": [], "draw": False,
                            "exact_max_items": 2000, "oversample": 10, "diversity": None, "diversity_by": "graph"}
    assert second_params["exact_max_items"] > 50_000 and second_params["oversample"] == 0


def test_a_short_exact_answer_is_final() -> None:
    fake = RecordingRunner([[row(1)]], items=500)
    assert Recommender(fake, exact_max_items=2000).recommend_user(5, 3).ids == [101]
    assert len(fake.sent) == 2  # the ranking and the lookup that found the scan already exact


def test_strategies_are_the_documented_ones() -> None:
    header = cypher.cypher_path("recommend_group").read_text()
    assert all(f"'{strategy}'" in header for strategy in STRATEGIES)


def test_the_cli_prints_rankings_and_explanations(group_graph: QueryRunner, connection: Connection,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    flags = ["--uri", connection.uri, "--user", connection.user, "--password", connection.password]
    assert main(["recommend", "group", "7", "-k", "2", "--strategy", "least_misery", *flags]) == 0
    out = capsys.readouterr().out
    assert "top 2 for group 7 (strategy least_misery, basis members, model v1 lightgcn)" in out
    assert f"1    | {B}  | 2.0   | 1:2.000 2:2.000" in out
    assert main(["recommend", "user", "2", "-k", "1", "--json", *flags]) == 0
    assert [item["id"] for item in json.loads(capsys.readouterr().out)["items"]] == [C]
    assert main(["similar", str(A), "-k", "1", *flags]) == 0
    assert "similar to item 101" in capsys.readouterr().out
    assert main(["explain", "user", "1", str(C), *flags]) == 0
    assert f"item {C} for user 1" in capsys.readouterr().out
    assert main(["recommend", "user", "99", *flags]) == 1
    assert "unknown user 99" in capsys.readouterr().err
