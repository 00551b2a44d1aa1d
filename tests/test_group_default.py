"""The default group model (`graphrec/configs/groups-filter.toml`, kind 'group') end to end on the real server:
on generated groups whose picks follow a hidden group taste, it chooses by validation, writes back one version
whose `combined` group top-k from Cypher equals its offline scores (groups with history and ad hoc groups), and
`graphrec models` names the choice."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from graphrec.cli import main
from graphrec.conductor import conduct
from graphrec.db.connection import Connection
from graphrec.db.runner import QueryRunner
from graphrec.export import Snapshot
from graphrec.load import load_group_benchmark
from graphrec.recommend import Recommender
from graphrec.runconfig import read_config
from graphrec.synthetic import hidden_group_taste
from tests.test_serving_kinds import assert_same_ranking, offline_top

pytestmark = [pytest.mark.neo4j, pytest.mark.usefixtures("single_thread")]

CONFIG = Path(__file__).resolve().parents[1] / "graphrec" / "configs" / "groups-filter.toml"


def test_the_default_group_model_serves_what_it_chose(runner: QueryRunner, connection: Connection, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    data = hidden_group_taste(n_users=300, user_topics=8, group_topics=4, topic_size=20, n_groups=120,
                              group_size=3, ad_hoc_groups=5, seed=3)
    load_group_benchmark(runner, data.write(tmp_path / "data"))
    config = read_config(CONFIG, evaluate={"task": "group"})
    report, fitted = conduct(runner, [config], tmp_path / "run", write_back=True, progress=False)
    model = fitted["group_filter"]
    selection = model.record["selection"]
    assert selection["cases"] >= 100 and selection["chosen"]["group_weight"] >= 0.75
    row = report.row("group_filter")
    assert row["group ndcg@10"] > 0.3 and row["version"] == 1
    assert any(note.startswith(f"group_filter: chose {selection['chosen']['kind']} ") for note in report.notes)

    snapshot = Snapshot.load(tmp_path / "run" / "snapshot")
    scores = model.scorer("group")(torch.arange(len(snapshot.group_ids)), None).numpy()
    own: dict[int, set[int]] = {int(g): set() for g in snapshot.group_ids}
    train = snapshot.group_interactions["train"]
    for g, i in zip(snapshot.group_ids[train[0].numpy()], snapshot.item_ids[train[1].numpy()]):
        own[int(g)].add(int(i))
    recommender = Recommender(runner)
    ad_hoc = 0
    for index, group in enumerate(snapshot.group_ids.tolist()):
        if own[group] and index % 6:
            continue  # every ad hoc group, and every sixth group with history
        ranking = recommender.recommend_group(group, 5, strategy="combined")
        assert ranking.basis == ("combined" if own[group] else "members")
        ids, top = offline_top(scores[index], snapshot.item_ids, own[group], 5)
        # an ad hoc group is served its members' average: the offline ranking, a positive scale apart
        scale = 1.0 if own[group] else ranking.items[0]["score"] / top[0]
        ad_hoc += not own[group]
        assert scale > 0
        assert_same_ranking(ranking.items, ids, top * scale,
                            dict(zip(snapshot.item_ids.tolist(), (scores[index] * scale).tolist())))
    assert ad_hoc == 5

    assert main(["models", "--uri", connection.uri, "--password", connection.password]) == 0
    out = capsys.readouterr().out
    assert f"{selection['chosen']['kind']} " in out and "(validation 0." in out and "| group " in out
