"""Forgetting a user on the real server: everything of theirs deleted, nothing of anyone else's, and the model
versions that learned from them named."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from graphrec.cli import main
from graphrec.db.connection import Connection
from graphrec.db.runner import QueryRunner
from graphrec.forget import ForgetError, forget_user
from graphrec.load import graph_summary, load_csv
from graphrec.model.base import Stored
from graphrec.synthetic import taste_clusters
from graphrec.writeback import write_model
from tests.test_bulk_load import dump

pytestmark = pytest.mark.neo4j


def flags(connection: Connection) -> list[str]:
    return ["--uri", connection.uri, "--password", connection.password]


@pytest.fixture
def trained(runner: QueryRunner) -> QueryRunner:
    """60 users, 40 items, 6 groups; two model versions with vectors for every user, item and group."""
    tables = taste_clusters(n_users=60, n_items=40, n_groups=6, seed=3)
    load_csv(runner, **tables.as_dict())
    rng = np.random.default_rng(0)
    for _ in range(2):
        vectors = {kind: (ids.to_numpy(), rng.standard_normal((len(ids), 4)).astype(np.float32))
                   for kind, ids in (("user", tables.users["id"]), ("item", tables.items["id"]),
                                     ("group", tables.groups["id"]))}
        write_model(runner, Stored(vectors, fold_in="propagate"), {}, progress=False)
    return runner


def member(runner: QueryRunner) -> int:
    return runner.run("MATCH (u:User)-[:MEMBER_OF]->(:Group) RETURN u.id AS id ORDER BY id LIMIT 1")[0]["id"]


def test_forget_deletes_the_user_and_only_the_user(trained: QueryRunner) -> None:
    user = member(trained)
    mine = trained.run("MATCH (u:User {id: $u}) RETURN COUNT { (u)-[:INTERACTED|HELD_OUT]->() } AS interactions, "
                       "COLLECT { MATCH (u)-[:MEMBER_OF]->(g) RETURN g.id ORDER BY g.id } AS groups", {"u": user})[0]
    before = dump(trained)
    done = forget_user(trained, user)
    assert (done.user, done.interactions, done.memberships, done.groups) == (
        user, mine["interactions"], len(mine["groups"]), mine["groups"])
    assert done.vectors == ["~embedding_v1", "~embedding_v2"]
    assert done.models == [
        {"version": 1, "status": "ready", "active": False,
         "stored": ["item vectors (40)", "group vectors (6)", "other users' vectors (60)"]},
        {"version": 2, "status": "ready", "active": True,
         "stored": ["item vectors (40)", "group vectors (6)", "other users' vectors (60)"]}]

    after = dump(trained)
    # Everything else is byte for byte as it was: the user's node and relationships are all that left.
    gone_nodes = set(before["nodes"]) - set(after["nodes"])
    assert set(after["nodes"]) < set(before["nodes"]) and len(gone_nodes) == 1
    assert json.loads(gone_nodes.pop())["props"]["id"] == user
    gone = [json.loads(r) for r in set(before["relationships"]) - set(after["relationships"])]
    assert set(after["relationships"]) < set(before["relationships"])
    assert len(gone) == mine["interactions"] + len(mine["groups"]) and all(r["a_id"] == user for r in gone)
    assert trained.run("MATCH (u:User {id: $u}) RETURN count(u) AS n", {"u": user}) == [{"n": 0}]
    assert graph_summary(trained)["users"] == 59

    with pytest.raises(ForgetError, match=f"no User node has id {user}: nothing to forget"):
        forget_user(trained, user)


def test_forget_from_the_command_line(trained: QueryRunner, connection: Connection,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    user = member(trained)
    groups = trained.run("MATCH (:User {id: $u})-[:MEMBER_OF]->(g) RETURN g.id AS g ORDER BY g", {"u": user})
    assert main(["forget", "user", str(user), *flags(connection)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"forgot user {user}: deleted the node, ")
    assert f"memberships (groups {', '.join(str(g['g']) for g in groups)}) and 2 vectors " \
           "(~embedding_v1, ~embedding_v2)" in out[0]
    assert out[1:4] == [
        f"model versions that still carry what was learned from user {user} (every version created before this "
        "forget):",
        "  v1 (ready): item vectors (40), group vectors (6), other users' vectors (60)",
        "  v2 (ready, active): item vectors (40), group vectors (6), other users' vectors (60)"]
    assert "`graphrec train --config CONFIG`" in out[4] and "--refit CONFIG" in out[4]
    assert "checkpoint.pt" in out[5]

    assert main(["forget", "user", str(user), *flags(connection)]) == 1
    assert capsys.readouterr().err == f"graphrec: error: no User node has id {user}: nothing to forget " \
                                      "(already forgotten?)\n"
    other = member(trained)
    assert main(["forget", "user", str(other), "--json", *flags(connection)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["user"] == other and [m["version"] for m in report["models"]] == [1, 2]


def test_forget_with_refit_recomputes_the_training_free_model_without_the_user(
        trained: QueryRunner, connection: Connection, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    config = tmp_path / "knn.toml"
    config.write_text('[model]\nkind = "itemknn"\nneighbours = 10\n\n[evaluate]\nprotocol = "full"\n'
                      'task = "user"\nfull_ks = [10]\n')
    user = trained.run("MATCH (u:User) RETURN min(u.id) AS id")[0]["id"]
    assert main(["forget", "user", str(user), "--refit", str(config), "--json", *flags(connection)]) == 0
    done = json.loads(capsys.readouterr().out)
    assert done["refitted"] == {"version": 3, "pruned": [1, 2]}
    models = trained.run("MATCH (m:Model) RETURN m.version AS version, m.active AS active, m.kind AS kind")
    assert models == [{"version": 3, "active": True, "kind": "itemknn"}]
    assert trained.run("MATCH (u:User {id: $user}) RETURN u", {"user": user}) == []
    assert trained.run("MATCH ()-[s:SIMILAR_v3]->() RETURN count(s) AS n")[0]["n"] > 0


def test_refit_refuses_a_trained_kind_before_forgetting(trained: QueryRunner, connection: Connection,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    user = trained.run("MATCH (u:User) RETURN min(u.id) AS id")[0]["id"]
    assert main(["forget", "user", str(user), "--refit", "graphrec/configs/demo.toml", *flags(connection)]) == 1
    assert "is trained" in capsys.readouterr().err
    assert trained.run("MATCH (u:User {id: $user}) RETURN u.id AS id", {"user": user}) == [{"id": user}]
