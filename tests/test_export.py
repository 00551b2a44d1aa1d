"""Neo4j → Snapshot: round trip against the database and the input tables, each filter on a hand-made graph
with a known answer, and the snapshot's own conversions (save/load, HeteroData, networkx, id lookups)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from graphrec.db.runner import QueryRunner
from graphrec.errors import ConfigError
from graphrec.export import SPLITS, Snapshot, export_snapshot
from graphrec.load import load_csv
from graphrec.synthetic import taste_clusters

pytestmark = pytest.mark.neo4j


def edge_set(ids: np.ndarray, items: np.ndarray, edges: torch.Tensor) -> set[tuple[int, int]]:
    """The (source id, item id) pairs of a (2, E) index tensor."""
    return set(zip(ids[edges[0].numpy()].tolist(), items[edges[1].numpy()].tolist()))


def user_pairs(snapshot: Snapshot, split: str) -> set[tuple[int, int]]:
    return edge_set(snapshot.user_ids, snapshot.item_ids, snapshot.interactions[split])


@pytest.fixture
def small(runner: QueryRunner):
    """A generated graph with an item nobody interacted with and a user without interactions."""
    tables = taste_clusters(n_users=40, n_items=30, n_groups=5, seed=2)
    tables.items = pd.concat([tables.items, pd.DataFrame({"id": [9999], "title": ["lonely"], "genre": ["x"]})])
    tables.users = pd.concat([tables.users, pd.DataFrame({"id": [999], "name": ["idle"]})])
    load_csv(runner, **tables.as_dict(), progress=False)
    return tables


@pytest.fixture
def hand_made(runner: QueryRunner) -> None:
    """Users 1-4, items 10-13, group 100 with members 1 and 3:

    1→10 (ts 100), 1→11 (200), 2→11 (300), 2→12 (50, test), 3→12 (400), 4→13 (500), group 100→13 (250).
    """
    interactions = pd.DataFrame(
        [(1, 10, 100, "train"), (1, 11, 200, "train"), (2, 11, 300, "train"), (2, 12, 50, "test"),
         (3, 12, 400, "train"), (4, 13, 500, "train")], columns=["user_id", "item_id", "ts", "split"])
    load_csv(runner, items=pd.DataFrame({"id": [10, 11, 12, 13]}), interactions=interactions,
             memberships=pd.DataFrame({"user_id": [1, 3], "group_id": [100, 100]}),
             group_interactions=pd.DataFrame({"group_id": [100], "item_id": [13], "ts": [250]}), progress=False)


def test_full_export_matches_the_tables_and_the_database(runner: QueryRunner, small) -> None:
    snapshot = export_snapshot(runner, batch_size=7)
    assert snapshot.user_ids.tolist() == sorted(small.users.id.tolist())
    assert snapshot.item_ids.tolist() == sorted(small.items.id.tolist())  # 9999 included
    assert snapshot.group_ids.tolist() == sorted(small.groups.id.tolist())
    inter = small.interactions
    for split in SPLITS:
        rows = inter[inter.split == split]
        assert user_pairs(snapshot, split) == set(zip(rows.user_id.tolist(), rows.item_id.tolist()))
        assert snapshot.interactions[split].shape == (2, len(rows))
    stored = runner.run("MATCH (u:User)-[r:INTERACTED|HELD_OUT]->(i:Item) "
                        "RETURN u.id AS u, i.id AS i, coalesce(r.split, 'train') AS split")
    assert {(r["u"], r["i"], r["split"]) for r in stored} == {
        (u, i, split) for split in SPLITS for u, i in user_pairs(snapshot, split)}
    assert edge_set(snapshot.user_ids, snapshot.group_ids, snapshot.memberships) == set(
        zip(small.memberships.user_id.tolist(), small.memberships.group_id.tolist()))
    assert edge_set(snapshot.group_ids, snapshot.item_ids, snapshot.group_interactions["train"]) == set(
        zip(small.group_interactions.group_id.tolist(), small.group_interactions.item_id.tolist()))
    assert torch.equal(snapshot.interaction_weights["train"], torch.ones(int((inter.split == "train").sum())))
    assert snapshot.counts()["user_test"] == int((inter.split == "test").sum())


def test_since_keeps_recent_interactions_and_the_whole_catalogue(runner: QueryRunner, hand_made) -> None:
    snapshot = export_snapshot(runner, since=200)
    assert user_pairs(snapshot, "train") == {(1, 11), (2, 11), (3, 12), (4, 13)}
    assert snapshot.interactions["test"].shape == (2, 0)
    assert snapshot.item_ids.tolist() == [10, 11, 12, 13]
    assert edge_set(snapshot.group_ids, snapshot.item_ids, snapshot.group_interactions["train"]) == {(100, 13)}
    assert export_snapshot(runner, since=260).group_interactions["train"].shape == (2, 0)


@pytest.mark.parametrize(("seeds", "hops", "users", "groups", "items", "members"), [
    ({"users": [1]}, 0, [1], [], [10, 11], set()),
    ({"users": [1]}, 1, [1], [100], [10, 11, 13], {(1, 100)}),
    ({"users": [1]}, 2, [1, 2, 3], [100], [10, 11, 12, 13], {(1, 100), (3, 100)}),
    ({"groups": [100]}, 0, [], [100], [13], set()),
    ({"groups": [100]}, 1, [1, 3], [100], [10, 11, 12, 13], {(1, 100), (3, 100)}),
])
def test_seeds_and_hops_select_the_known_neighbourhood(runner: QueryRunner, hand_made, seeds, hops, users,
                                                       groups, items, members) -> None:
    snapshot = export_snapshot(runner, hops=hops, **seeds)
    assert snapshot.user_ids.tolist() == users
    assert snapshot.group_ids.tolist() == groups
    assert snapshot.item_ids.tolist() == items
    assert edge_set(snapshot.user_ids, snapshot.group_ids, snapshot.memberships) == members


def test_since_also_limits_the_walk(runner: QueryRunner, hand_made) -> None:
    snapshot = export_snapshot(runner, users=[1], hops=2, since=200)
    assert snapshot.user_ids.tolist() == [1, 2, 3]  # 2 through item 11 (ts 300), 3 through group 100
    assert user_pairs(snapshot, "train") == {(1, 11), (2, 11), (3, 12)}
    assert snapshot.item_ids.tolist() == [11, 12, 13]


def test_min_interactions_drops_light_users_with_their_memberships(runner: QueryRunner, hand_made) -> None:
    snapshot = export_snapshot(runner, min_interactions=2)
    assert snapshot.user_ids.tolist() == [1]
    assert user_pairs(snapshot, "train") == {(1, 10), (1, 11)}
    assert edge_set(snapshot.user_ids, snapshot.group_ids, snapshot.memberships) == {(1, 100)}
    assert snapshot.item_ids.tolist() == [10, 11, 12, 13]
    assert export_snapshot(runner, min_interactions=1).user_ids.tolist() == [1, 2, 3, 4]


def test_bad_arguments_are_refused(runner: QueryRunner, hand_made) -> None:
    with pytest.raises(ValueError, match="hops needs"):
        export_snapshot(runner, hops=1)
    with pytest.raises(KeyError, match="unknown user"):
        export_snapshot(runner, users=[1, 77])


def assert_same_snapshot(got: Snapshot, want: Snapshot) -> None:
    """Every id array and every tensor equal (values, dtype and shape), and the same filters."""
    for name in ("user_ids", "item_ids", "group_ids"):
        assert getattr(got, name).dtype == getattr(want, name).dtype
        assert np.array_equal(getattr(got, name), getattr(want, name))
    for name in ("interactions", "interaction_weights", "group_interactions", "group_interaction_weights",
                 "negatives", "group_negatives"):
        assert getattr(got, name).keys() == getattr(want, name).keys()
        for split, tensor in getattr(want, name).items():
            assert getattr(got, name)[split].dtype == tensor.dtype
            assert torch.equal(getattr(got, name)[split], tensor), (name, split)
    assert torch.equal(got.memberships, want.memberships)
    assert got.filters == want.filters


@pytest.mark.parametrize("selection", [{}, {"users": [3, 17], "hops": 2}, {"min_interactions": 9}])
def test_parallel_sessions_give_the_same_snapshot(runner: QueryRunner, small, selection, tmp_path: Path) -> None:
    runner.run("MATCH (:User)-[r:HELD_OUT]->(:Item) WHERE r.line % 3 = 0 SET r.negatives = [1001, 1002, 1003]")
    runner.run("MATCH (:User)-[r:INTERACTED]->(i:Item) WHERE i.id % 4 = 0 SET r.weight = 0.5")
    one = export_snapshot(runner, batch_size=4, **selection)
    assert one.counts()["users"] > 8 and one.counts()["user_test"] > 0
    assert (one.negatives["test"] >= 0).any() and (one.interaction_weights["train"] == 0.5).any()
    for sessions in (2, 4, 64):  # 64 > the groups: empty ranges open no session
        assert_same_snapshot(export_snapshot(runner, batch_size=4, sessions=sessions, **selection), one)
    one.save(tmp_path / "one")
    export_snapshot(runner, batch_size=4, sessions=4, **selection).save(tmp_path / "four")
    for file in ("snapshot.pt", "snapshot.json"):
        assert (tmp_path / "four" / file).read_bytes() == (tmp_path / "one" / file).read_bytes()


@pytest.mark.parametrize("sessions", [0, -2, 1.5, True, "2"])
def test_a_bad_number_of_sessions_is_a_config_error(runner: QueryRunner, hand_made, sessions) -> None:
    with pytest.raises(ConfigError, match=r"export sessions must be an integer >= 1 .*not " + re.escape(repr(sessions))):
        export_snapshot(runner, sessions=sessions)


def test_negatives_are_kept_as_padded_item_indices(runner: QueryRunner, hand_made) -> None:
    runner.run("MATCH (:User {id: 2})-[r:HELD_OUT]->(:Item {id: 12}) SET r.negatives = [10, 13]")
    snapshot = export_snapshot(runner)
    assert snapshot.negatives["test"].tolist() == [snapshot.item_index([10, 13]).tolist()]
    assert snapshot.negatives["train"].shape == (5, 0)
    seeded = export_snapshot(runner, users=[2])
    assert seeded.item_ids.tolist() == [10, 11, 12, 13]  # the negatives' items join the catalogue


def test_save_and_load_round_trip(runner: QueryRunner, small, tmp_path: Path) -> None:
    snapshot = export_snapshot(runner, since=1_700_000_000, min_interactions=1)
    loaded = Snapshot.load(snapshot.save(tmp_path / "snap"))
    for name in ("user_ids", "item_ids", "group_ids"):
        assert np.array_equal(getattr(loaded, name), getattr(snapshot, name))
    for name in ("interactions", "interaction_weights", "group_interactions", "negatives"):
        assert all(torch.equal(getattr(loaded, name)[s], getattr(snapshot, name)[s]) for s in SPLITS)
    assert torch.equal(loaded.memberships, snapshot.memberships)
    assert loaded.filters == snapshot.filters == {"since": 1_700_000_000, "users": None, "groups": None,
                                                   "hops": 0, "min_interactions": 1}
    assert loaded.counts() == snapshot.counts()


def test_hetero_data_holds_the_train_graph(runner: QueryRunner, small) -> None:
    snapshot = export_snapshot(runner)
    data = snapshot.hetero_data()
    assert (data["user"].num_nodes, data["item"].num_nodes, data["group"].num_nodes) == (41, 31, 5)
    n_train = int((small.interactions.split == "train").sum())
    assert data["user", "interacted", "item"].edge_index.shape == (2, n_train)
    assert data["user", "interacted", "item"].edge_weight.shape == (n_train,)
    assert data["group", "interacted", "item"].edge_index.shape == (2, len(small.group_interactions))
    assert data["user", "member_of", "group"].edge_index.shape == (2, len(small.memberships))
    data.validate()


def test_networkx_export_and_its_size_limit(runner: QueryRunner, hand_made) -> None:
    graph = export_snapshot(runner).to_networkx()
    assert graph.number_of_nodes() == 4 + 4 + 1
    assert graph.number_of_edges() == 6 + 1 + 2
    assert graph.get_edge_data(("user", 2), ("item", 12)) == {0: {"kind": "interacted", "split": "test",
                                                                  "weight": 1.0}}
    with pytest.raises(ValueError, match="max_nodes"):
        export_snapshot(runner).to_networkx(max_nodes=8)


def test_unknown_ids_are_refused_by_the_lookups(runner: QueryRunner, hand_made) -> None:
    snapshot = export_snapshot(runner)
    assert snapshot.user_index([4, 1]).tolist() == [3, 0]
    assert snapshot.item_index(np.array([13])).tolist() == [3]
    with pytest.raises(KeyError, match="user"):
        snapshot.user_index([1, 5])
    with pytest.raises(KeyError, match="item"):
        snapshot.item_index([14])
