"""Writing embeddings back to the real server: versions, atomic activation, crash safety, MIPS vectors, pruning."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from graphrec.db import cypher
from graphrec.db.connection import Connection
from graphrec.db.runner import QueryRunner
from graphrec.load import load_csv
from graphrec.model.base import Stored
from graphrec.writeback import (
    WritebackError,
    activate,
    active_model,
    list_models,
    prune,
    read_embeddings,
    write_model,
)

pytestmark = pytest.mark.neo4j

USERS, ITEMS, GROUPS = 40, 30, 4
DIM = 8


@pytest.fixture
def graph(runner: QueryRunner) -> Iterator[QueryRunner]:
    """User, Item and Group nodes (ids 0..n-1)."""
    load_csv(runner, users=pd.DataFrame({"id": range(USERS)}), items=pd.DataFrame({"id": range(ITEMS)}),
             groups=pd.DataFrame({"id": range(GROUPS)}))
    yield runner


def constant(value: float, users: int = USERS, dim: int = DIM) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Every vector filled with `value`: a reader can tell versions apart from any single vector."""
    return {kind: (np.arange(n), np.full((n, dim), value, dtype=np.float32))
            for kind, n in (("user", users), ("item", ITEMS), ("group", GROUPS))}


def random_embeddings(seed: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(seed)
    return {kind: (rng.permutation(n), rng.standard_normal((n, DIM)).astype(np.float32))
            for kind, n in (("user", USERS), ("item", ITEMS), ("group", GROUPS))}


def properties_named(runner: QueryRunner, prefix: str) -> int:
    rows = runner.run("MATCH (n) UNWIND keys(n) AS key WITH key WHERE key STARTS WITH $prefix "
                      "RETURN count(*) AS c", {"prefix": prefix})
    return rows[0]["c"]


def test_round_trip_of_every_kind_and_the_model_node(graph: QueryRunner) -> None:
    first = random_embeddings(1)
    version = write_model(graph, Stored(first, fold_in="propagate"),
                          {"params": {"dim": DIM, "lr": 0.001}, "metrics": {"recall@20": 0.1}},
                          batch_size=7, progress=False)
    assert version == 1
    for kind, (ids, vectors) in first.items():
        read_version, back = read_embeddings(graph, kind, ids)
        assert read_version == 1
        np.testing.assert_allclose(back, vectors, rtol=1e-6)
    model = active_model(graph)
    assert model is not None
    assert {k: model[k] for k in ("version", "status", "active", "property", "mips_property",
                                  "similarity_index", "dim", "users", "items", "groups")} == {
        "version": 1, "status": "ready", "active": True, "property": "~embedding_v1",
        "mips_property": "~embedding_v1_mips",
        "similarity_index": "item_embedding_v1_cosine", "dim": DIM,
        "users": USERS, "items": ITEMS, "groups": GROUPS}
    assert "index" not in model  # the MIPS index is no longer built: the augmented vectors are read directly
    assert model["params"] == '{"dim": 8, "lr": 0.001}' and model["metrics"] == '{"recall@20": 0.1}'
    norms = np.linalg.norm(first["item"][1].astype(np.float64), axis=1)
    assert model["max_item_norm"] == pytest.approx(norms.max())

    second = random_embeddings(2)
    assert write_model(graph, Stored(second, fold_in="propagate"), {}, progress=False) == 2
    assert write_model(graph, Stored(second, fold_in="propagate"), {}, activate=False, progress=False) == 3
    assert [(m["version"], m["status"], m["active"]) for m in list_models(graph)] == [
        (1, "ready", False), (2, "ready", True), (3, "ready", False)]
    _, back = read_embeddings(graph, "user", second["user"][0])
    np.testing.assert_allclose(back, second["user"][1], rtol=1e-6)
    _, old = read_embeddings(graph, "item", first["item"][0], version=1)
    np.testing.assert_allclose(old, first["item"][1], rtol=1e-6)


def test_activate_switches_back_and_refuses_versions_that_are_not_ready(graph: QueryRunner) -> None:
    write_model(graph, Stored(constant(1.0), fold_in="propagate"), {}, progress=False)
    write_model(graph, Stored(constant(2.0), fold_in="propagate"), {}, progress=False)
    assert activate(graph, 1) == 2
    assert active_model(graph)["version"] == 1
    assert read_embeddings(graph, "user", [0])[1][0, 0] == 1.0
    with pytest.raises(WritebackError, match="version 7 does not exist or is not 'ready'"):
        activate(graph, 7)
    assert [m["version"] for m in list_models(graph) if m["active"]] == [1]


def test_readers_see_all_old_or_all_new_during_a_write_back(graph: QueryRunner) -> None:
    """Version 1 is all 1.0, version 2 all 2.0; a reader polls the active version and 40 users' vectors."""
    write_model(graph, Stored(constant(1.0), fold_in="propagate"), {}, progress=False)
    seen: list[int] = []
    failures: list[str] = []
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            try:
                version, vectors = read_embeddings(graph, "user", range(USERS))
            except WritebackError as error:  # a missing vector or no active model
                failures.append(str(error))
                continue
            if not (vectors == float(version)).all():
                failures.append(f"version {version} read {np.unique(vectors)}")
            seen.append(version)

    reader = threading.Thread(target=read)
    reader.start()
    try:
        time.sleep(0.3)
        write_model(graph, Stored(constant(2.0), fold_in="propagate"), {}, batch_size=5, workers=1,
                    progress=False)
        time.sleep(0.3)
    finally:
        stop.set()
        reader.join()
    assert not failures
    assert seen[0] == 1 and seen[-1] == 2, "the reader must run through the switch"
    switch = seen.index(2)
    assert set(seen[:switch]) == {1} and set(seen[switch:]) == {2}, "never back to the old version"
    assert switch > 5, "the reader read version 1 while version 2 was being written"


def test_a_killed_write_back_leaves_the_previous_version_active_and_prune_removes_it(
        graph: QueryRunner, connection: Connection) -> None:
    many = 4_000  # enough batches of 20 that the write-back is still writing when it is killed
    load_csv(graph, users=pd.DataFrame({"id": range(USERS, many)}))
    write_model(graph, Stored(constant(1.0, users=many), fold_in="propagate"), {}, progress=False)
    script = textwrap.dedent("""
        import sys
        import numpy as np
        from graphrec.db.connection import Connection
        from graphrec.db.runner import QueryRunner
        from graphrec.model.base import Stored
        from graphrec.writeback import write_model
        uri, password, many = sys.argv[1], sys.argv[2], int(sys.argv[3])
        vectors = {kind: (np.arange(n), np.full((n, 8), 2.0, dtype=np.float32))
                   for kind, n in (("user", many), ("item", 30), ("group", 4))}
        with QueryRunner(Connection(uri, "neo4j", password, "neo4j")) as runner:
            write_model(runner, Stored(vectors, fold_in="propagate"), {}, batch_size=20, workers=1, progress=False)
    """)
    child = subprocess.Popen([sys.executable, "-c", script, connection.uri, connection.password, str(many)],
                             cwd=Path(__file__).resolve().parents[1], env=dict(os.environ))
    try:
        deadline = time.monotonic() + 60
        while properties_named(graph, "~embedding_v2") < 100:
            assert child.poll() is None, "the write-back ended before it could be killed"
            assert time.monotonic() < deadline
            time.sleep(0.02)
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait()
    assert child.returncode == -signal.SIGKILL
    assert [(m["version"], m["status"], m["active"]) for m in list_models(graph)] == [
        (1, "ready", True), (2, "writing", False)]
    version, vectors = read_embeddings(graph, "user", range(many))
    assert version == 1 and (vectors == 1.0).all()
    with pytest.raises(WritebackError, match="not 'ready'"):
        activate(graph, 2)

    assert prune(graph, keep=2) == [2]
    assert [m["version"] for m in list_models(graph)] == [1]
    assert properties_named(graph, "~embedding_v2") == 0
    assert properties_named(graph, "~embedding_v1") == many + ITEMS + GROUPS + ITEMS  # and items' _mips
    assert write_model(graph, Stored(constant(3.0, users=many), fold_in="propagate"), {}, progress=False) == 2


def test_prune_keeps_the_active_and_newest_ready_versions(graph: QueryRunner) -> None:
    for value in (1.0, 2.0, 3.0, 4.0):
        write_model(graph, Stored(constant(value), fold_in="propagate"), {}, progress=False)
    activate(graph, 2)
    assert prune(graph, keep=2) == [3, 1]
    assert [(m["version"], m["active"]) for m in list_models(graph)] == [(2, True), (4, False)]
    indexes = {row["name"] for row in graph.run("SHOW VECTOR INDEXES YIELD name")}
    assert indexes == {"item_embedding_v2_cosine", "item_embedding_v4_cosine"}
    assert properties_named(graph, "~embedding_v1") == properties_named(graph, "~embedding_v3") == 0
    assert prune(graph, keep=1) == [4]
    assert read_embeddings(graph, "group", [0, 1])[1].tolist() == [[2.0] * DIM] * 2


def test_prune_drops_the_mips_index_of_a_version_written_before_it_was_given_up(graph: QueryRunner) -> None:
    write_model(graph, Stored(constant(1.0), fold_in="propagate"), {}, progress=False)
    write_model(graph, Stored(constant(2.0), fold_in="propagate"), {}, progress=False)
    graph.run(cypher.statement("embedding_index_create").replace("{property}", "~embedding_v1_mips"),
              {"name": "item_embedding_v1_mips", "dimensions": DIM + 1, "similarity": "euclidean"})
    assert prune(graph, keep=1) == [1]
    assert {row["name"] for row in graph.run("SHOW VECTOR INDEXES YIELD name")} == {"item_embedding_v2_cosine"}


def test_the_augmented_item_vectors_rank_by_inner_product_not_cosine(graph: QueryRunner) -> None:
    """Item 0 points the user's way but is short; item 1 is off-angle but long: inner product prefers 1."""
    items = np.zeros((ITEMS, DIM), dtype=np.float32)
    items[0, :2] = [1.0, 0.0]
    items[1, :2] = [3.0, 3.0]
    items[2:, 0] = -np.linspace(0.1, 2.0, ITEMS - 2)  # everything else points away
    user = np.zeros(DIM, dtype=np.float32)
    user[0] = 1.0
    cosine = items @ user / np.maximum(np.linalg.norm(items, axis=1), 1e-9)
    assert cosine.argmax() == 0 and (items @ user).argmax() == 1
    embeddings = {"user": (np.arange(USERS), np.tile(user, (USERS, 1))), "item": (np.arange(ITEMS), items)}
    write_model(graph, Stored(embeddings, fold_in="propagate"), {}, progress=False)
    rows = graph.run(cypher.statement("recommend_user"), {
        "user": 0, "k": 5, "filter": {}, "exclude": [], "exact_max_items": 0, "oversample": 0, "draw": False,
        "diversity": None, "diversity_by": "graph"})
    assert [row["id"] for row in rows][:2] == [1, 0]
    assert rows[0]["score"] == pytest.approx(3.0, abs=1e-5)
    raw = graph.run("MATCH (i:Item) RETURN i.id AS id "
                    "ORDER BY vector.similarity.euclidean($q, i.`~embedding_v1_mips`) DESC LIMIT 5",
                    {"q": user.tolist() + [0.0]})
    assert raw[0]["id"] == 1
    assert graph.run("SHOW VECTOR INDEXES YIELD name, properties") == [
        {"name": "item_embedding_v1_cosine", "properties": ["~embedding_v1"]}]


@pytest.mark.parametrize("spoil, message", [
    (lambda e: e.update(user=(np.append(e["user"][0], 999), np.vstack([e["user"][1], e["user"][1][:1]]))),
     "1 user ids have no User node, e.g. \\[999\\]"),
    (lambda e: e["item"][1].__setitem__((3, 2), np.nan), "1 item vectors are not finite"),
    (lambda e: e["group"][1].__setitem__((0, 0), np.inf), "1 group vectors are not finite"),
    (lambda e: e.update(group=(e["group"][0], np.zeros((GROUPS, DIM + 1), dtype=np.float32))),
     "the same dimension"),
    (lambda e: e.update(user=(e["user"][0][:-1], e["user"][1])), "shape"),
    (lambda e: e.update(item=(np.zeros(ITEMS, dtype=np.int64), e["item"][1])), "unique"),
    (lambda e: e.update(movie=e["item"]), "unknown embedding kind 'movie'"),
    (lambda e: e.pop("item"), "item embeddings are required"),
])
def test_bad_input_writes_nothing(graph: QueryRunner, spoil, message: str) -> None:
    embeddings = random_embeddings(3)
    spoil(embeddings)
    with pytest.raises(WritebackError, match=message):
        write_model(graph, Stored(embeddings, fold_in="propagate"), {}, progress=False)
    assert list_models(graph) == []
    assert properties_named(graph, "embedding_") == 0


def test_unknown_run_keys_are_refused(graph: QueryRunner) -> None:
    with pytest.raises(WritebackError, match="unknown run keys \\['epochs'\\]"):
        write_model(graph, Stored(random_embeddings(4), fold_in="propagate"), {"epochs": 3}, progress=False)
    assert list_models(graph) == []


def test_group_weight_is_stored_on_the_model_and_null_without_it(graph: QueryRunner) -> None:
    write_model(graph, Stored(random_embeddings(5), fold_in="propagate", group_weight=0.75), {}, progress=False)
    write_model(graph, Stored(random_embeddings(6), fold_in="propagate"), {}, progress=False)
    assert [(m["version"], m.get("group_weight")) for m in list_models(graph)] == [(1, 0.75), (2, None)]
    assert graph.run("MATCH (m:Model {version: 1}) RETURN valueType(m.group_weight) AS t") == [
        {"t": "FLOAT NOT NULL"}]


@pytest.mark.parametrize("weight, drop_groups, message", [
    (1.5, False, "group_weight must be a number in \\[0, 1\\], got 1.5"),
    (float("nan"), False, "group_weight must be a number in \\[0, 1\\]"),
    (0.5, True, "group_weight needs 'group' embeddings"),
])
def test_bad_group_weight_writes_nothing(graph: QueryRunner, weight: float, drop_groups: bool, message: str) -> None:
    embeddings = random_embeddings(7)
    if drop_groups:
        embeddings.pop("group")
    with pytest.raises(WritebackError, match=message):
        write_model(graph, Stored(embeddings, fold_in="propagate", group_weight=weight), {}, progress=False)
    assert list_models(graph) == []


def stored_parts(runner: QueryRunner, version: int) -> tuple[dict, list]:
    """Every vector property of `version` by (label, id, property) with its value type, and its relationships as
    sorted (from, to, weight, value type) rows."""
    props = runner.read(
        "MATCH (n:User|Item|Group) UNWIND keys(n) AS key WITH n, key WHERE key STARTS WITH $prefix "
        "RETURN labels(n)[0] AS label, n.id AS id, key, n[key] AS value, valueType(n[key]) AS type",
        {"prefix": f"~embedding_v{version}"})
    rels = runner.read(
        "MATCH (a:Item)-[r]->(b:Item) WHERE type(r) = $type "
        "RETURN a.id AS a, b.id AS b, r.weight AS w, valueType(r.weight) AS t, keys(r) AS keys ORDER BY a, b",
        {"type": f"SIMILAR_v{version}"})
    return ({(p["label"], p["id"], p["key"].removeprefix(f"~embedding_v{version}")): (p["value"], p["type"])
             for p in props}, [tuple(r.values()) for r in rels])


def test_graphrecs_procedures_and_plain_cypher_store_the_same_version(graph: QueryRunner) -> None:
    """Method 'graphrec' (graphrec's write procedures, what 'auto' picks on a server with the plugin) and the
    plain-Cypher fallback store the same vectors (float32 arrays) and the same relationships and weights, in
    batches that split the data (3 vectors per transaction, 2 sessions; about 10 relationships per transaction)."""
    from graphrec.writeback.transfer import has_write_procedures, resolve_method

    assert has_write_procedures(graph) and resolve_method(graph, "auto") == "graphrec"
    rng = np.random.default_rng(30)
    sources = rng.integers(0, ITEMS, 200)
    targets = rng.integers(0, ITEMS, 200)
    pairs = np.unique(np.c_[sources, targets][sources != targets], axis=0)
    neighbours = (pairs[:, 0], pairs[:, 1], rng.random(len(pairs)))
    embeddings = random_embeddings(8)
    fold = (np.arange(ITEMS), rng.standard_normal((ITEMS, DIM)).astype(np.float32))
    written = {method: write_model(graph, Stored(embeddings, fold=fold, fold_in="sum", neighbours=neighbours), {},
                                   batch_size=3, relationship_batch=10, workers=2, method=method, progress=False)
               for method in ("graphrec", "procedure")}
    by_procedures, by_cypher = (stored_parts(graph, version) for version in written.values())
    assert by_procedures == by_cypher
    vectors, rels = by_procedures
    assert len(vectors) == USERS + GROUPS + 3 * ITEMS  # vectors, and the items' MIPS and fold vectors
    assert {type_ for _, type_ in vectors.values()} == {"LIST<FLOAT NOT NULL> NOT NULL"}  # float32 arrays
    assert rels == [(int(a), int(b), float(w), "FLOAT NOT NULL", ["weight"]) for a, b, w in zip(*neighbours)]
    _, back = read_embeddings(graph, "item", embeddings["item"][0], version=written["graphrec"])
    np.testing.assert_array_equal(back, embeddings["item"][1])


def test_an_unknown_write_method_is_refused_before_anything_is_written(graph: QueryRunner) -> None:
    with pytest.raises(ValueError, match="write method 'bulk'"):
        write_model(graph, Stored(random_embeddings(9), fold_in="propagate"), {}, method="bulk", progress=False)
    assert list_models(graph) == []
