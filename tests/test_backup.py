"""Backup and restore of the local server's database: a round trip gives the same graph, vectors and indexes;
what would overwrite data is refused unless forced, with nothing changed."""

from __future__ import annotations

import stat
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from graphrec.backup import BackupRefused, backup, restore
from graphrec.cli import main
from graphrec.db.runner import QueryRunner
from graphrec.db.server.install import ServerError
from graphrec.db.server.lifecycle import LocalServer
from graphrec.load import load_csv
from graphrec.model.base import Stored
from graphrec.synthetic import taste_clusters
from graphrec.writeback import read_embeddings, write_model
from tests.conftest import WIPE
from tests.test_bulk_load import dump

pytestmark = pytest.mark.neo4j


def test_backup_and_restore_round_trip(runner: QueryRunner, server: LocalServer, tmp_path: Path) -> None:
    tables = taste_clusters(n_users=30, n_items=20, n_groups=3, seed=2)
    load_csv(runner, **tables.as_dict())
    vectors = np.random.default_rng(1).standard_normal((20, 4)).astype(np.float32)
    write_model(runner, Stored({"item": (tables.items["id"].to_numpy(), vectors)}, fold_in="propagate"), {},
                progress=False)
    before = dump(runner)
    archive = backup(server, tmp_path / "graph.dump", say=lambda _: None)
    assert archive == tmp_path / "graph.dump" and stat.S_IMODE(archive.stat().st_mode) == 0o600
    assert server.status().running and dump(runner) == before
    with pytest.raises(BackupRefused, match="graph.dump exists: choose another name or pass --force"):
        backup(server, archive, say=lambda _: None)

    runner.run("CREATE (:User {id: 999999})")
    pid = server.status().pid
    with pytest.raises(BackupRefused, match=r"holds 55 nodes: a restore replaces them all; .* --force"):
        restore(server, archive, say=lambda _: None)
    assert server.status().pid == pid  # refused before stopping anything
    (tmp_path / "not-a-dump").write_text("hello")
    with pytest.raises(ServerError, match="not-a-dump .*is it a dump of `graphrec backup`"):
        restore(server, tmp_path / "not-a-dump", force=True, say=lambda _: None)
    assert server.status().pid == pid

    runner.run(WIPE)  # an empty database is restored without --force (the command-line test forces one)
    restore(server, archive, say=lambda _: None)
    assert server.status().running and dump(runner) == before
    version, back = read_embeddings(runner, "item", tables.items["id"].tolist())
    assert version == 1 and np.array_equal(back, vectors)
    rows = runner.run("CALL db.index.vector.queryNodes('item_embedding_v1_cosine', 1, $q) YIELD node "
                      "RETURN node.id AS id", {"q": vectors[3].tolist()})
    assert rows == [{"id": int(tables.items["id"].iloc[3])}]  # the vector index came back, online


def test_backup_and_restore_from_the_command_line(runner: QueryRunner, server: LocalServer, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(LocalServer, "from_environment", classmethod(lambda cls, **kwargs: server))
    monkeypatch.delenv("NEO4J_URI", raising=False)
    load_csv(runner, users=pd.DataFrame({"id": [1, 2], "name": ["a", "b"]}))
    before = dump(runner)
    assert main(["backup", str(tmp_path / "users.dump")]) == 0
    assert f"backed up into {tmp_path / 'users.dump'}" in capsys.readouterr().out
    assert main(["restore", str(tmp_path / "users.dump")]) == 1
    assert capsys.readouterr().err == ("graphrec: error: database 'neo4j' holds 2 nodes: a restore replaces them "
                                       "all; back them up first (`graphrec backup PATH`) and pass --force to "
                                       "replace them\n")
    runner.run("MATCH (u:User {id: 2}) SET u.name = 'changed'")
    assert main(["restore", str(tmp_path / "users.dump"), "--force"]) == 0
    assert "restored from" in capsys.readouterr().out and dump(runner) == before
    monkeypatch.setenv("NEO4J_URI", "bolt://db.example.org:7687")
    assert main(["backup", str(tmp_path / "other.dump")]) == 1
    assert "works on the local server graphrec manages" in capsys.readouterr().err
