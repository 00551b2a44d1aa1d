"""Small generated datasets with the shape of real ones: for the demo, the tests and the docs.

`taste_clusters` plants structure that a recommender should find: users belong to one of `n_clusters`
tastes, each taste prefers its own slice of the catalogue, and each group is drawn from one taste.

`hidden_group_taste` and `least_misery_groups` write group data in the group-benchmark file format
(`graphrec.load.text_formats.read_group_benchmark`) with a planted answer: in the first, groups choose from a
taste none of their members has (only a model that learns from the groups' own history finds it); in the
second, a group chooses what every member likes a little rather than what one member loves (least misery is
right, the average is wrong). Items come in topics of `topic_size` consecutive ids.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

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


@dataclass
class GroupBenchmark:
    """Group data in memory, written by `write` as a group-benchmark folder: ids from 0, (source, item) rows."""

    members: dict[int, list[int]]
    group_train: list[tuple[int, int]] = field(default_factory=list)
    group_test: list[tuple[int, int]] = field(default_factory=list)
    user_train: list[tuple[int, int]] = field(default_factory=list)
    user_test: list[tuple[int, int]] = field(default_factory=list)
    group_negatives: list[list[int]] = field(default_factory=list)
    """One list per row of `group_test`, in its order (empty: no negative file)."""
    user_negatives: list[list[int]] = field(default_factory=list)

    def write(self, directory: str | Path) -> Path:
        """groupMember.txt, {group,user}Rating{Train,Test}.txt ('<id> <item> 1') and, when there are
        negatives, {group,user}RatingNegative.txt ('(<id>,<item>) <neg> ...')."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "groupMember.txt").write_text(
            "".join(f"{g} {','.join(map(str, users))}\n" for g, users in sorted(self.members.items())))
        for kind in ("group", "user"):
            for split in ("train", "test"):
                rows = getattr(self, f"{kind}_{split}")
                (directory / f"{kind}Rating{split.title()}.txt").write_text(
                    "".join(f"{source} {item} 1\n" for source, item in rows))
            negatives = getattr(self, f"{kind}_negatives")
            if negatives:
                (directory / f"{kind}RatingNegative.txt").write_text("".join(
                    f"({source},{item}) {' '.join(map(str, negs))}\n"
                    for (source, item), negs in zip(getattr(self, f"{kind}_test"), negatives)))
        return directory


def _negatives(rng: np.random.Generator, rows: list[tuple[int, int]], known: dict[int, set[int]], n_items: int,
               count: int) -> list[list[int]]:
    """`count` distinct items per test row that its source never interacted with."""
    found = []
    for source, _ in rows:
        pool = np.setdiff1d(np.arange(n_items), sorted(known[source]))
        found.append(sorted(rng.choice(pool, size=min(count, len(pool)), replace=False).tolist()))
    return found


def _known(*tables: list[tuple[int, int]]) -> dict[int, set[int]]:
    known: dict[int, set[int]] = {}
    for rows in tables:
        for source, item in rows:
            known.setdefault(source, set()).add(item)
    return known


def hidden_group_taste(
    n_users: int = 160,
    user_topics: int = 8,
    group_topics: int = 4,
    topic_size: int = 20,
    n_groups: int = 60,
    group_size: int = 3,
    per_user: int = 10,
    per_group: int = 6,
    ad_hoc_groups: int = 5,
    negatives: int = 100,
    seed: int = 0,
) -> GroupBenchmark:
    """Groups whose choices follow a hidden group taste that no member has.

    Items: `user_topics` topics, then `group_topics` topics, `topic_size` items each. User u has taste
    u mod `user_topics`: `per_user` train items and one test item of that topic, nothing else. Group g
    (of `group_size` random users) has taste g mod `group_topics`, a group topic no user ever touches:
    `per_group` train items and one test item of it. The last `ad_hoc_groups` groups have no train
    interactions (new groups of existing users); their test item is of their first member's taste.
    Negatives: `negatives` per group test row, stored (groupRatingNegative.txt); users get none (sampled at
    evaluation). Defaults: 160 users, 240 items, 60 groups of 3.
    """
    rng = np.random.default_rng(seed)
    n_items = (user_topics + group_topics) * topic_size

    def topic_items(topic: int, count: int) -> list[int]:
        return (topic * topic_size + rng.choice(topic_size, size=count, replace=False)).tolist()

    data = GroupBenchmark(members={})
    for user in range(n_users):
        items = topic_items(user % user_topics, per_user + 1)
        data.user_train += [(user, item) for item in items[1:]]
        data.user_test.append((user, items[0]))
    for group in range(n_groups):
        data.members[group] = sorted(rng.choice(n_users, size=group_size, replace=False).tolist())
        if group < n_groups - ad_hoc_groups:
            items = topic_items(user_topics + group % group_topics, per_group + 1)
            data.group_train += [(group, item) for item in items[1:]]
        else:
            items = topic_items(data.members[group][0] % user_topics, 1)
        data.group_test.append((group, items[0]))
    data.group_negatives = _negatives(rng, data.group_test, _known(data.group_train, data.group_test), n_items,
                                      negatives)
    return data


def least_misery_groups(
    n_groups: int = 40,
    group_size: int = 2,
    topics: int = 12,
    topic_size: int = 20,
    strong: int = 14,
    common: int = 3,
    per_group: int = 3,
    negatives: int = 100,
    seed: int = 0,
) -> GroupBenchmark:
    """Groups that choose what every member likes a little over what one member loves.

    Each group has `group_size` members of its own (users are numbered group by group), each with a
    strong topic of their own (`strong` train items and one test item of it) and the group's common topic,
    different from its members' strong topics (`common` train items of it each). The group has `per_group`
    train items and one test item of the common topic. Items of a member's strong topic score high for that
    member and low for the others: the average prefers them, least misery prefers the common topic, where
    the group's test item is. Negatives: `negatives` per group and per user test row, all stored.
    Defaults: 40 groups of 2, 80 users, 240 items in 12 topics.
    """
    rng = np.random.default_rng(seed)
    n_items = topics * topic_size

    def topic_items(topic: int, count: int) -> list[int]:
        return (topic * topic_size + rng.choice(topic_size, size=count, replace=False)).tolist()

    data = GroupBenchmark(members={})
    for group in range(n_groups):
        chosen = rng.choice(topics, size=group_size + 1, replace=False).tolist()
        common_topic, strong_topics = chosen[0], chosen[1:]
        users = list(range(group * group_size, (group + 1) * group_size))
        data.members[group] = users
        for user, topic in zip(users, strong_topics):
            items = topic_items(topic, strong + 1)
            data.user_train += [(user, item) for item in items[1:] + topic_items(common_topic, common)]
            data.user_test.append((user, items[0]))
        items = topic_items(common_topic, per_group + 1)
        data.group_train += [(group, item) for item in items[1:]]
        data.group_test.append((group, items[0]))
    data.user_train = list(dict.fromkeys(data.user_train))
    data.group_negatives = _negatives(rng, data.group_test, _known(data.group_train, data.group_test), n_items,
                                      negatives)
    data.user_negatives = _negatives(rng, data.user_test, _known(data.user_train, data.user_test), n_items,
                                     negatives)
    return data
