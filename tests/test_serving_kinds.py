"""What is served is what was fitted: for every model kind, on a generated graph in the real server, the top-k
that `recommend_user` and `recommend_group` return from Cypher equals the top-k of the fitted model's own
scores (its `scorer`), on the exact scan and on the vector-index path."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from graphrec.conductor import conduct
from graphrec.db import QueryRunner
from graphrec.evaluation import EvalConfig
from graphrec.export import Snapshot
from graphrec.load import load_csv
from graphrec.model.kinds import KINDS
from graphrec.recommend import Recommender
from graphrec.runconfig import RunConfig
from graphrec.synthetic import taste_clusters
from graphrec.training import TrainConfig

pytestmark = [pytest.mark.neo4j, pytest.mark.usefixtures("single_thread")]

K = 5
SPECS = {
    "popularity": ("popularity", {}),
    "mf": ("mf", {"embedding_dim": 8}),
    "lightgcn": ("lightgcn", {"embedding_dim": 8, "num_layers": 2}),
    "itemknn": ("itemknn", {"neighbours": 10, "shrink": 2.0}),
    "gfcf": ("filter", {"filter": "gfcf", "k": 8, "neighbours": 10}),
    "chebycf": ("filter", {"filter": "chebycf", "k": 8, "neighbours": 10}),
}
BASIS = {"popularity": "popular", "itemknn": "folded_in"}
TRAIN = TrainConfig(lr=0.05, batch_size=128, epochs=5, ks=(10,), monitor="recall@10", validation="none")


def offline_top(scores: np.ndarray, item_ids: np.ndarray, seen: set[int], k: int) -> tuple[list[int], np.ndarray]:
    """The k best item ids by score (ties by id, as the Cypher orders them) and their scores."""
    keep = np.array([i not in seen for i in item_ids.tolist()])
    ids, values = item_ids[keep], scores[keep]
    order = np.lexsort((ids, -values))[:k]
    return ids[order].tolist(), values[order]


def assert_same_ranking(served: list[dict], ids: list[int], scores: np.ndarray, all_scores: dict[int, float]) -> None:
    """Scores by rank equal (float32 arithmetic in Cypher); ids equal except among near-ties."""
    got = np.array([row["score"] for row in served])
    np.testing.assert_allclose(got, scores, rtol=1e-4, atol=1e-4)
    for row, expected in zip(served, ids):
        if row["id"] != expected:
            assert abs(all_scores[row["id"]] - all_scores[expected]) < 1e-4, (row, expected)


@pytest.fixture(params=[10_000, 0], ids=["exact", "index"])
def exact_max_items(request: pytest.FixtureRequest) -> int:
    return request.param


@pytest.mark.parametrize("name", sorted(SPECS))
def test_cypher_serves_the_fitted_top_k_of_every_model_kind(runner: QueryRunner, tmp_path: Path, name: str,
                                                            exact_max_items: int) -> None:
    tables = taste_clusters(n_users=60, n_items=50, n_groups=6, seed=3)
    load_csv(runner, **tables.as_dict())
    kind, params = SPECS[name]
    spec = KINDS[kind](**params)
    config = RunConfig(name, spec, TRAIN if spec.trained else None,
                       evaluate=EvalConfig(protocol="full", task="user", full_ks=(10,)))
    _, fitted = conduct(runner, [config], tmp_path, write_back=True, progress=False)
    snapshot = Snapshot.load(tmp_path / "snapshot")
    model = fitted[name]
    users = model.scorer("user")(torch.arange(len(snapshot.user_ids)), None).numpy()
    history = {int(u): set() for u in snapshot.user_ids}
    train = snapshot.interactions["train"]
    for u, i in zip(snapshot.user_ids[train[0].numpy()], snapshot.item_ids[train[1].numpy()]):
        history[int(u)].add(int(i))
    recommender = Recommender(runner, exact_max_items=exact_max_items, oversample=50)
    for index, user in enumerate(snapshot.user_ids[:20].tolist()):
        ids, scores = offline_top(users[index], snapshot.item_ids, history[user], K)
        if name == "itemknn":  # without vectors, only items the user's items have a weight to are ranked
            ids, scores = ids[: int((scores > 0).sum())], scores[scores > 0]
        ranking = recommender.recommend_user(user, K)
        assert ranking.model_kind == kind and ranking.basis == BASIS.get(name, "embedding")
        assert_same_ranking(ranking.items, ids, scores, dict(zip(snapshot.item_ids.tolist(), users[index].tolist())))

    members = {}
    for row in tables.memberships.itertuples():
        members.setdefault(int(row.group_id), []).append(int(row.user_id))
    group_items = {}
    for row in tables.group_interactions.itertuples():
        group_items.setdefault(int(row.group_id), set()).add(int(row.item_id))
    position = {int(u): k for k, u in enumerate(snapshot.user_ids.tolist())}
    for group, users_of in list(members.items())[:3]:
        least = np.min([users[position[u]] for u in users_of], axis=0)
        ids, scores = offline_top(least, snapshot.item_ids, group_items.get(group, set()), K)
        if name == "itemknn":
            continue  # least misery over weights alone: items some member reaches and another does not score 0
        ranking = recommender.recommend_group(group, K, strategy="least_misery")
        assert_same_ranking(ranking.items, ids, scores, dict(zip(snapshot.item_ids.tolist(), least.tolist())))
