"""What is served is what was fitted: for every model kind, on a generated graph in the real server, the top-k
that `recommend_user` and `recommend_group` return from Cypher equals the top-k of the fitted model's own
scores (its `scorer`), on the exact scan in Cypher and on the large-catalogue path (graphrec.topItems)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from graphrec.conductor import conduct
from graphrec.db.runner import QueryRunner
from graphrec.evaluation import EvalConfig
from graphrec.export import Snapshot
from graphrec.load import load_csv
from graphrec.model.kinds import KINDS
from graphrec.model.trainer import TrainConfig
from graphrec.recommend import Recommender
from graphrec.runconfig import RunConfig
from graphrec.synthetic import taste_clusters

pytestmark = [pytest.mark.neo4j, pytest.mark.usefixtures("single_thread")]

K = 5
SPECS = {
    "popularity": ("popularity", {}),
    "mf": ("mf", {"embedding_dim": 8}),
    "lightgcn": ("lightgcn", {"embedding_dim": 8, "num_layers": 2}),
    "itemknn": ("itemknn", {"neighbours": 10, "shrink": 2.0}),
    "gfcf": ("filter", {"filter": "gfcf", "k": 8, "neighbours": 10}),
    "chebycf": ("filter", {"filter": "chebycf", "k": 8, "neighbours": 10}),
    "group_filter": ("filter", {"filter": "chebycf", "k": 8, "neighbours": 10, "group_weight": 0.3}),
    "chebycf_weights": ("filter", {"filter": "chebycf", "k": 8, "neighbours": 10, "low_rank": "weights"}),
    "chebycf_vectors": ("filter", {"filter": "chebycf", "k": 8, "split": 8, "neighbours": 0}),
    "groupgf": ("groupgf", {"neighbours": 10, "split": 8, "group_weight": 0.5}),
    "groupgf_weights": ("groupgf", {"neighbours": 10}),
}
WEIGHTS_ONLY = ("itemknn", "chebycf_weights", "groupgf_weights")
BASIS = {"popularity": "popular", "itemknn": "folded_in", "chebycf_weights": "folded_in", "groupgf_weights": "folded_in"}
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


@pytest.fixture(params=[10_000, 0], ids=["exact", "topItems"])
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
        if name in WEIGHTS_ONLY:  # without vectors, only items the user's items have a weight to are ranked
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
        if name in WEIGHTS_ONLY:
            continue  # least misery over weights alone: items some member reaches and another does not score 0
        ranking = recommender.recommend_group(group, K, strategy="least_misery")
        assert_same_ranking(ranking.items, ids, scores, dict(zip(snapshot.item_ids.tolist(), least.tolist())))
    if name == "groupgf_weights":  # served without vectors: a group with history by 'group' (its own row)
        groups = model.scorer("group")(torch.arange(len(snapshot.group_ids)), None).numpy()
        for index, group in enumerate(snapshot.group_ids.tolist()):
            if group not in group_items:
                continue
            ids, scores = offline_top(groups[index], snapshot.item_ids, group_items[group], K)
            ids, scores = ids[: int((scores > 0).sum())], scores[scores > 0]
            ranking = recommender.recommend_group(group, K, strategy="group")
            assert ranking.basis == "group"
            assert_same_ranking(ranking.items, ids, scores, dict(zip(snapshot.item_ids.tolist(), groups[index].tolist())))
    if "group_weight" not in params:
        return
    # the group side of a filter with group_weight a: a * own + (1 - a) * members' mean, Cypher's 'combined';
    # a group without train interactions of its own ranks by its members' average, (1 - a) times less (the filter;
    # Group-GF scores it by its members' mean row itself)
    groups = model.scorer("group")(torch.arange(len(snapshot.group_ids)), None).numpy()
    own = {int(g): set() for g in snapshot.group_ids}
    train = snapshot.group_interactions["train"]
    for g, i in zip(snapshot.group_ids[train[0].numpy()], snapshot.item_ids[train[1].numpy()]):
        own[int(g)].add(int(i))
    served_groups = 0
    for index, group in enumerate(snapshot.group_ids.tolist()):
        scale = 1.0 if own[group] or kind == "groupgf" else 1 / (1 - params["group_weight"])
        ids, scores = offline_top(groups[index] * scale, snapshot.item_ids, own[group], K)
        ranking = recommender.recommend_group(group, K, strategy="combined")
        assert ranking.basis == ("combined" if own[group] else "members")
        assert_same_ranking(ranking.items, ids, scores, dict(zip(snapshot.item_ids.tolist(),
                                                                 (groups[index] * scale).tolist())))
        served_groups += bool(own[group])
    assert served_groups >= 3


def test_a_weighted_model_serves_scores_similar_items_and_explanations_computed_by_hand(runner: QueryRunner) -> None:
    """Items 1-4; user 10 has items 1, 2 and a stored vector, user 11 has item 3 and none (folded in),
    group 50 = {10, 11}. Weights w(j -> i), fold vectors a_j, item vectors v_i as below."""
    from graphrec.model.base import Stored
    from graphrec.writeback import write_model

    load_csv(runner, items=pd.DataFrame({"id": [1, 2, 3, 4]}),
             interactions=pd.DataFrame({"user_id": [10, 10, 11], "item_id": [1, 2, 3]}),
             memberships=pd.DataFrame({"user_id": [10, 11], "group_id": [50, 50]}))
    items = np.array([1, 2, 3, 4])
    fold = np.array([[1, 0], [0, 1], [1, 1], [0, 0]], dtype=np.float32)
    vectors = np.array([[0, 0], [0, 0], [0.1, 0], [0, 0.2]], dtype=np.float32)
    weights = (np.array([1, 1, 2, 2, 3]), np.array([3, 4, 3, 4, 1]), np.array([0.5, 0.2, 0.25, 0.6, 0.1]))
    write_model(runner, Stored(vectors={"item": (items, vectors), "user": (np.array([10]), np.array([[1.0, 1.0]]))},
                               fold=(items, fold), fold_in="sum", neighbours=weights),
                {"params": {"kind": "filter"}}, progress=False)
    assert runner.run("MATCH (:Item)-[r:SIMILAR_v1]->(:Item) RETURN count(r) AS n") == [{"n": 5}]
    for exact_max_items in (10, 0):
        recommender = Recommender(runner, exact_max_items=exact_max_items)
        # user 10: item 4 = 0.2 + 0.6 + (1, 1).(0, 0.2) = 1.0; item 3 = 0.5 + 0.25 + (1, 1).(0.1, 0) = 0.85
        stored = recommender.recommend_user(10, 4)
        assert stored.basis == "embedding" and stored.ids == [4, 3]
        assert [row["score"] for row in stored.items] == pytest.approx([1.0, 0.85], abs=1e-5)
        # user 11 folded in: q = a_3 = (1, 1); item 4 = 0.2, item 1 = 0.1 (weight 3 -> 1), item 2 = 0
        folded = recommender.recommend_user(11, 4)
        assert folded.basis == "folded_in" and folded.ids == [4, 1, 2]
        assert [row["score"] for row in folded.items] == pytest.approx([0.2, 0.1, 0.0], abs=1e-5)
        # group average: item 4 (1.0 + 0.2) / 2, item 3 (0.85 + 0.1) / 2, item 1 (0 + 0.1) / 2, item 2 0
        group = recommender.recommend_group(50, 4, strategy="average")
        assert group.ids == [4, 3, 1, 2] and group.basis == "members"
        assert [row["score"] for row in group.items] == pytest.approx([0.6, 0.475, 0.05, 0.0], abs=1e-5)
    # similar to item 1: w(1 -> j) + a_1 . v_j: item 3 0.5 + 0.1, item 4 0.2
    similar = Recommender(runner).similar_items(1, 5)
    assert similar.basis == "weight" and similar.ids == [3, 4]
    assert [row["score"] for row in similar.items] == pytest.approx([0.6, 0.2], abs=1e-5)
    why = Recommender(runner).explain(4, user=10)
    assert why["score"] == pytest.approx(1.0, abs=1e-5) and why["kind"] == "filter"
    assert [(b["item"], b["basis"]) for b in why["because"]] == [(2, "weight"), (1, "weight")]
    assert [b["value"] for b in why["because"]] == pytest.approx([0.6, 0.2])
    assert why["steps"] == [{"label": "User", "id": 10}, {"label": "Item", "id": 2}, {"label": "Item", "id": 4}]
    members = Recommender(runner).explain(4, group=50)
    assert [m["user"] for m in members["members"]] == [10, 11]
    assert [m["score"] for m in members["members"]] == pytest.approx([1.0, 0.2], abs=1e-5)


def test_a_user_without_interactions_is_served_popular_and_is_an_empty_row_in_combined(
        runner: QueryRunner, tmp_path: Path) -> None:
    # User 61 has no interaction and joins group 5001: the model stores no vector for them, Cypher serves them
    # the most interacted-with items, and the group's 'combined' score divides its scored members' sum by every
    # member, as the fitted model's members' mean row counts user 61's empty row.
    tables = taste_clusters(n_users=60, n_items=50, n_groups=6, seed=3)
    tables.users = pd.concat([tables.users, pd.DataFrame({"id": [61], "name": ["user 61"]})], ignore_index=True)
    tables.memberships = pd.concat([tables.memberships, pd.DataFrame({"user_id": [61], "group_id": [5001]})],
                                   ignore_index=True)
    load_csv(runner, **tables.as_dict())
    spec = KINDS["filter"](filter="chebycf", k=8, neighbours=10, group_weight=0.3)
    config = RunConfig("cold", spec, None, evaluate=EvalConfig(protocol="full", task="user", full_ks=(10,)))
    _, fitted = conduct(runner, [config], tmp_path, write_back=True, progress=False)
    snapshot = Snapshot.load(tmp_path / "snapshot")
    model = fitted["cold"]
    cold = int(np.flatnonzero(snapshot.user_ids == 61)[0])
    assert model.unscorable_users().nonzero()[0].tolist() == [cold]
    recommender = Recommender(runner, exact_max_items=10_000)
    ranking = recommender.recommend_user(61, K)
    counts = runner.run("MATCH (i:Item) RETURN i.id AS id, COUNT { (i)<-[:INTERACTED]-() } AS n")
    popular = sorted(counts, key=lambda row: (-row["n"], row["id"]))[:K]
    assert ranking.basis == "popular" and [row["id"] for row in ranking.items] == [row["id"] for row in popular]
    groups = model.scorer("group")(torch.arange(len(snapshot.group_ids)), None).numpy()
    index = int(np.flatnonzero(snapshot.group_ids == 5001)[0])
    train = snapshot.group_interactions["train"]
    own = set(snapshot.item_ids[train[1][train[0] == index].numpy()].tolist())
    assert own  # the group has history: its basis is 'combined'
    ids, scores = offline_top(groups[index], snapshot.item_ids, own, K)
    ranking = recommender.recommend_group(5001, K, strategy="combined")
    assert ranking.basis == "combined" and ranking.items[0]["unscored"] == [61]
    assert_same_ranking(ranking.items, ids, scores, dict(zip(snapshot.item_ids.tolist(), groups[index].tolist())))
