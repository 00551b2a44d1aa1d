"""`graphrec train` end to end on the real server: export, fit, evaluate, write back, rank in Cypher."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from graphrec.cli import main
from graphrec.conductor import conduct
from graphrec.db.connection import Connection
from graphrec.db.runner import QueryRunner
from graphrec.evaluation import EvalConfig
from graphrec.load import load_csv
from graphrec.model.kinds import LightGCNSpec
from graphrec.model.trainer import TrainConfig
from graphrec.runconfig import RunConfig

pytestmark = [pytest.mark.neo4j, pytest.mark.usefixtures("single_thread")]

TOP_UNSEEN = """
MATCH (m:Model {active: true})
MATCH (u:User {id: $user})
MATCH (i:Item) WHERE NOT (u)-[:INTERACTED]->(i)
WITH m, u, i, u[m.property] AS eu, i[m.property] AS ei
RETURN i.id AS item, reduce(s = 0.0, k IN range(0, size(eu) - 1) | s + eu[k] * ei[k]) AS score
ORDER BY score DESC LIMIT 3
"""


def planted_graph() -> pd.DataFrame:
    """Two tastes of 12 users: taste A likes items 101-106, taste B items 201-206. User 1 (taste A) has
    seen 101-105 in training; 106 is its held-out test item, the planted right answer."""
    rows = []
    for user in range(1, 25):
        items = range(101, 107) if user <= 12 else range(201, 207)
        for item in items:
            if user == 1 and item == 106:
                rows.append((user, item, "test"))
            elif (user + item) % 6 != 0 or user == 1:
                rows.append((user, item, "train"))
    return pd.DataFrame(rows, columns=["user_id", "item_id", "split"])


def toy_config() -> RunConfig:
    return RunConfig("toy", LightGCNSpec(embedding_dim=16, num_layers=2),
                     TrainConfig(lr=0.05, batch_size=64, epochs=40, patience=100, ks=(1, 3), monitor="recall@3",
                                 seed=7),
                     evaluate=EvalConfig(protocol="full", task="user", full_ks=(1, 3)))


def test_training_ranks_the_planted_item_first_from_cypher(runner: QueryRunner, tmp_path: Path) -> None:
    load_csv(runner, interactions=planted_graph())
    report, fitted = conduct(runner, [toy_config()], tmp_path / "run", write_back=True, progress=False)
    row = report.row("toy")
    assert row["version"] == 1 and row["user recall@1"] == 1.0
    assert "users 24, items 12" in report.notes[0]
    top = runner.run(TOP_UNSEEN, {"user": 1})
    assert top[0]["item"] == 106, top
    model = runner.run("MATCH (m:Model {active: true}) RETURN m.version AS version, m.status AS status, "
                       "m.kind AS kind, m.fold_in AS fold_in, m.metrics AS metrics")
    metrics = json.loads(model[0].pop("metrics"))
    assert model == [{"version": 1, "status": "ready", "kind": "lightgcn", "fold_in": "propagate"}]
    assert {key: metrics.pop(key) for key in ("user ndcg@1", "user ndcg@3", "user recall@1", "user recall@3")} == {
        "user ndcg@1": 1.0, "user ndcg@3": 1.0, "user recall@1": 1.0, "user recall@3": 1.0}
    assert sorted(metrics) == ["user coverage@10", "user ild@10"]  # what the list diversity costs, beside
    assert 0 < metrics["user ild@10"] <= 1 and 0 < metrics["user coverage@10"] <= 1
    assert json.loads((tmp_path / "run" / "toy" / "metrics.json").read_text())["best_epoch"] >= 1
    assert json.loads((tmp_path / "run" / "evaluation.json").read_text())["rows"][0]["method"] == "toy"


def test_train_command_writes_a_new_version_each_run(runner: QueryRunner, connection: Connection,
                                                     tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    load_csv(runner, interactions=planted_graph())
    config = tmp_path / "toy.toml"
    config.write_text("[model]\nkind = 'lightgcn'\nembedding_dim = 8\n[train]\nepochs = 3\nbatch_size = 64\n"
                      "lr = 0.05\nks = [3]\nmonitor = 'recall@3'\n")
    flags = ["--uri", connection.uri, "--password", connection.password]
    for _ in range(2):
        assert main(["train", "--config", str(config), "--run-dir", str(tmp_path / "run"), "--quiet", *flags]) == 0
    capsys.readouterr()
    assert main(["models", "--json", *flags]) == 0
    models = json.loads(capsys.readouterr().out)
    assert sorted((m["version"], m["active"]) for m in models) == [(1, False), (2, True)]
    assert main(["activate", "1", *flags]) == 0
    assert runner.run("MATCH (m:Model {active: true}) RETURN m.version AS v") == [{"v": 1}]


def test_conduct_on_a_snapshot_without_train_interactions_names_the_problem(tmp_path: Path) -> None:
    import numpy as np
    import torch

    from graphrec.errors import ConfigError
    from graphrec.export import SPLITS, Snapshot

    pairs = {split: torch.zeros((2, 0), dtype=torch.long) for split in SPLITS}
    weights = {split: torch.zeros(0) for split in SPLITS}
    negatives = {split: torch.zeros((0, 0), dtype=torch.long) for split in SPLITS}
    empty = Snapshot(np.arange(3), np.arange(4), np.arange(0), pairs, weights, dict(pairs), dict(weights),
                     torch.zeros((2, 0), dtype=torch.long), negatives, dict(negatives))
    with pytest.raises(ConfigError, match=r"nothing to fit: the snapshot holds no train interactions \(3 users, 4 items\)"):
        conduct(None, [toy_config()], tmp_path, snapshot=empty, progress=False)
