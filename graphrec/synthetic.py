"""Small generated datasets with the shape of real ones: for the demo, the tests and the docs.

`taste_clusters` plants structure that a recommender should find: users belong to one of `n_clusters`
tastes, each taste prefers its own slice of the catalogue, and each group is drawn from one taste.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass
class Tables:
    """The CSV tables of `graphrec.load.csv_tables`, as DataFrames."""

    users: pd.DataFrame
    items: pd.DataFrame
    groups: pd.DataFrame
    memberships: pd.DataFrame
    interactions: pd.DataFrame
    group_interactions: pd.DataFrame

    def as_dict(self) -> dict[str, pd.DataFrame]:
        return dict(self.__dict__)

    def to_csv(self, directory: str) -> dict[str, str]:
        """Write one `<table>.csv` per table into `directory`; return their paths by table name."""
        paths = {}
        for name, frame in self.as_dict().items():
            paths[name] = f"{directory}/{name}.csv"
            frame.to_csv(paths[name], index=False)
        return paths


def taste_clusters(
    n_users: int = 200,
    n_items: int = 100,
    n_groups: int = 20,
    n_clusters: int = 4,
    per_user: int = 12,
    group_size: int = 4,
    per_group: int = 5,
    test_fraction: float = 0.2,
    seed: int = 0,
) -> Tables:
    """Users and groups whose interactions fall (90 %) in their taste's slice of the items.

    Defaults: 200 users, 100 items, 20 groups of 4, 4 tastes, 12 interactions per user and 5 per group,
    20 % of each user's interactions marked `test`. Ids: users from 1, items from 1001, groups from 5001.
    """
    rng = np.random.default_rng(seed)
    user_ids = np.arange(1, n_users + 1)
    item_ids = np.arange(1001, 1001 + n_items)
    group_ids = np.arange(5001, 5001 + n_groups)
    taste = rng.integers(n_clusters, size=n_users)
    item_taste = np.arange(n_items) % n_clusters

    def pick(cluster: int, count: int) -> np.ndarray:
        own = np.flatnonzero(item_taste == cluster)
        weights = np.where(item_taste == cluster, 0.9 / len(own), 0.1 / (n_items - len(own)))
        return rng.choice(n_items, size=count, replace=False, p=weights)

    rows = []
    for user, cluster in zip(user_ids, taste):
        chosen = pick(cluster, per_user)
        n_test = int(round(per_user * test_fraction))
        for k, item in enumerate(chosen):
            rows.append((user, item_ids[item], 1.0, 1_700_000_000 + int(rng.integers(10**6)),
                         "test" if k < n_test else "train"))
    interactions = pd.DataFrame(rows, columns=["user_id", "item_id", "weight", "ts", "split"])

    members, group_rows = [], []
    group_taste = rng.integers(n_clusters, size=n_groups)
    for group, cluster in zip(group_ids, group_taste):
        pool = user_ids[taste == cluster]
        for user in rng.choice(pool, size=min(group_size, len(pool)), replace=False):
            members.append((user, group))
        for item in pick(cluster, per_group):
            group_rows.append((group, item_ids[item], 1.0, "train"))

    return Tables(
        users=pd.DataFrame({"id": user_ids, "name": [f"user {u}" for u in user_ids]}),
        items=pd.DataFrame({"id": item_ids, "title": [f"item {i}" for i in item_ids],
                            "genre": [f"genre-{t}" for t in item_taste]}),
        groups=pd.DataFrame({"id": group_ids, "name": [f"group {g}" for g in group_ids]}),
        memberships=pd.DataFrame(members, columns=["user_id", "group_id"]),
        interactions=interactions,
        group_interactions=pd.DataFrame(group_rows, columns=["group_id", "item_id", "weight", "split"]),
    )
