"""Loading every format into the real server: known counts, idempotence, and bad input rejected whole."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from graphrec.db.runner import QueryRunner
from graphrec.load import InputError, graph_summary, load_csv, load_group_benchmark, load_lightgcn
from graphrec.synthetic import taste_clusters

pytestmark = pytest.mark.neo4j

EMPTY = {"users": 0, "items": 0, "groups": 0, "memberships": 0, "user_interactions": 0, "user_train": 0,
         "user_valid": 0, "user_test": 0, "group_interactions": 0, "group_train": 0, "group_valid": 0,
         "group_test": 0}


def expected_summary(tables) -> dict[str, int]:
    inter, group_inter = tables.interactions, tables.group_interactions
    return {
        **EMPTY,
        "users": len(tables.users), "items": len(tables.items), "groups": len(tables.groups),
        "memberships": len(tables.memberships),
        "user_interactions": len(inter), "user_train": int((inter.split == "train").sum()),
        "user_test": int((inter.split == "test").sum()),
        "group_interactions": len(group_inter), "group_train": len(group_inter),
    }


def test_csv_files_load_with_known_counts_and_values(runner: QueryRunner, tmp_path: Path) -> None:
    tables = taste_clusters(n_users=60, n_items=40, n_groups=6, seed=3)
    paths = tables.to_csv(str(tmp_path))
    written = load_csv(runner, **paths)
    assert written["user_interactions"] == len(tables.interactions)
    assert graph_summary(runner) == expected_summary(tables)

    for split in ("train", "test"):  # an interaction, a held-out case
        first = tables.interactions[tables.interactions.split == split].iloc[0]
        stored = runner.run(
            "MATCH (:User {id: $u})-[r]->(i:Item {id: $i}) RETURN type(r) AS kind, r.weight AS w, r.ts AS ts, "
            "r.split AS split, i.title AS title, i.genre AS genre",
            {"u": int(first.user_id), "i": int(first.item_id)},
        )
        assert stored == [{"kind": "INTERACTED" if split == "train" else "HELD_OUT", "w": 1.0, "ts": int(first.ts),
                           "split": None if split == "train" else split, "title": f"item {first.item_id}",
                           "genre": tables.items.set_index("id").genre[first.item_id]}]


def test_loading_twice_creates_no_duplicates(runner: QueryRunner) -> None:
    tables = taste_clusters(n_users=50, n_items=30, n_groups=5, seed=1)
    load_csv(runner, **tables.as_dict())
    once = graph_summary(runner)
    load_csv(runner, **tables.as_dict(), batch_size=7, workers=3)
    assert graph_summary(runner) == once == expected_summary(tables)


def test_repeated_pairs_in_one_load_become_one_interaction(runner: QueryRunner) -> None:
    interactions = pd.DataFrame({"user_id": [1, 1, 2], "item_id": [10, 10, 10], "weight": [1.0, 2.5, 1.0],
                                 "ts": [100, 300, "1970-01-01T00:03:20Z"]})
    load_csv(runner, interactions=interactions)
    rows = runner.run("MATCH (u:User)-[r:INTERACTED]->(:Item {id: 10}) "
                      "RETURN u.id AS user, r.weight AS weight, r.ts AS ts ORDER BY user")
    assert rows == [{"user": 1, "weight": 3.5, "ts": 300}, {"user": 2, "weight": 1.0, "ts": 200}]


def test_members_may_be_users_already_in_the_database(runner: QueryRunner) -> None:
    load_csv(runner, users=pd.DataFrame({"id": [1, 2]}))
    load_csv(runner, memberships=pd.DataFrame({"user_id": [1, 2], "group_id": [7, 7]}),
             group_interactions=pd.DataFrame({"group_id": [7], "item_id": [3]}))
    summary = graph_summary(runner)
    assert (summary["users"], summary["groups"], summary["memberships"], summary["group_interactions"]) == (2, 1, 2, 1)


def write_lightgcn(directory: Path) -> None:
    (directory / "train.txt").write_text("0 0 1 2\n1 2 3\n\n2 4\n")
    (directory / "test.txt").write_text("0 3\n1 4 0\n")
    (directory / "user_list.txt").write_text("org_id remap_id\n343 0\n5258 1\n99 2\n")


def test_lightgcn_folder_loads_with_splits(runner: QueryRunner, tmp_path: Path) -> None:
    write_lightgcn(tmp_path)
    load_lightgcn(runner, tmp_path)
    assert graph_summary(runner) == {**EMPTY, "users": 3, "items": 5, "user_interactions": 9,
                                     "user_train": 6, "user_test": 3}
    assert runner.run("MATCH (u:User {id: 1}) RETURN u.org_id AS org") == [{"org": "5258"}]
    load_lightgcn(runner, tmp_path)
    assert graph_summary(runner)["user_interactions"] == 9


def write_group_benchmark(directory: Path) -> None:
    (directory / "groupMember.txt").write_text("0 1,2,3\n1 3,4\n")
    (directory / "groupRatingTrain.txt").write_text("0 10 1\n0 11 1\n1 12 1\n1 13 0\n")
    (directory / "groupRatingTest.txt").write_text("0 14 1\n1 15 1\n")
    (directory / "groupRatingNegative.txt").write_text("(0,14) 20 21 22\n(1,15) 23 24 25\n")
    (directory / "userRatingTrain.txt").write_text("1 10 1\n2 11 1\n3 12 1\n4 13 1\n")
    (directory / "userRatingTest.txt").write_text("1 16 1\n")
    (directory / "userRatingNegative.txt").write_text("(1,16) 20 26\n")


def test_group_benchmark_folder_loads_with_negatives(runner: QueryRunner, tmp_path: Path) -> None:
    write_group_benchmark(tmp_path)
    load_group_benchmark(runner, tmp_path)
    assert graph_summary(runner) == {
        **EMPTY, "users": 4, "items": 14, "groups": 2, "memberships": 5, "user_interactions": 5,
        "user_train": 4, "user_test": 1, "group_interactions": 5, "group_train": 3, "group_test": 2}
    negatives = runner.run("MATCH (:Group {id: 1})-[r:HELD_OUT {split: 'test'}]->(i:Item) "
                           "RETURN i.id AS item, r.line AS line, r.negatives AS negatives")
    assert negatives == [{"item": 15, "line": 2, "negatives": [23, 24, 25]}]
    assert runner.run("MATCH (:Group {id: 1})-[r]->(:Item {id: 13}) RETURN count(r) AS n") == [{"n": 0}]


BAD_CSV = [
    ("interactions", "user_id,item_id\n1,2\nx7,3\n", "line 3, field 'user_id': 'x7' is not an integer id"),
    ("interactions", "user_id,item\n1,2\n", "line 1, field 'item_id': missing column"),
    ("interactions", "", "line 1: the file is empty"),
    ("interactions", "user_id,item_id\n", "line 2: has a header but no data rows"),
    ("interactions", "user_id,item_id,weight\n1,2,1\n1,3,-2\n", "line 3, field 'weight': '-2' is not a positive number"),
    ("interactions", "user_id,item_id,ts\n1,2,yesterday\n", "line 2, field 'ts': 'yesterday' is neither"),
    ("interactions", "user_id,item_id,split\n1,2,train\n1,3,tset\n", "line 3, field 'split': 'tset' is not one of"),
    ("items", "id,title\n1,a\n2,b\n1,c\n", "line 4, field 'id': id 1 appears twice"),
    ("memberships", "user_id,group_id\n1,5\n999,5\n", "line 3, field 'user_id': unknown group member: no user 999 in this load or the database"),
    ("group_interactions", "group_id,item_id\n5,2\n6,2\n", "line 3, field 'group_id': unknown group: no group 6 in this load or the database"),
]


@pytest.mark.parametrize(("table", "text", "message"), BAD_CSV, ids=[m.split(":")[0] + m[-12:] for *_, m in BAD_CSV])
def test_bad_csv_is_rejected_with_its_location_and_nothing_written(
    runner: QueryRunner, tmp_path: Path, table: str, text: str, message: str
) -> None:
    load_csv(runner, users=pd.DataFrame({"id": [1]}), groups=pd.DataFrame({"id": [5]}),
             memberships=pd.DataFrame({"user_id": [1], "group_id": [5]}))
    before = graph_summary(runner)
    path = tmp_path / f"{table}.csv"
    path.write_text(text)
    good = pd.DataFrame({"user_id": [1, 2], "item_id": [2, 3]})
    extra = {} if table == "interactions" else {"interactions": good}
    with pytest.raises(InputError) as error:
        load_csv(runner, **{table: path}, **extra)
    assert str(error.value).startswith(f"{path}, {message}")
    assert graph_summary(runner) == before


def test_bad_dataframe_rows_are_counted_from_zero(runner: QueryRunner) -> None:
    with pytest.raises(InputError, match=r"<interactions DataFrame>, row 1, field 'item_id': 'b' is not"):
        load_csv(runner, interactions=pd.DataFrame({"user_id": [1, 2], "item_id": ["7", "b"]}))
    assert graph_summary(runner) == EMPTY


@pytest.mark.parametrize(("name", "text", "message"), [
    ("train.txt", "0 1 2\n1 3 x4\n", "train.txt, line 2, field 'iid #2': 'x4' is not an integer id"),
    ("test.txt", "zero 1\n", "test.txt, line 1, field 'uid': 'zero' is not an integer id"),
    ("train.txt", "", "train.txt, line 1: the file is empty"),
])
def test_bad_lightgcn_file_is_rejected(runner: QueryRunner, tmp_path: Path, name: str, text: str, message: str) -> None:
    write_lightgcn(tmp_path)
    (tmp_path / name).write_text(text)
    with pytest.raises(InputError, match=message.replace("(", r"\(")):
        load_lightgcn(runner, tmp_path)
    assert graph_summary(runner) == EMPTY


@pytest.mark.parametrize(("name", "text", "message"), [
    ("groupRatingTrain.txt", "0 10 1\n9 11 1\n", "groupRatingTrain.txt, line 2, field 'group': unknown group 9"),
    ("groupRatingNegative.txt", "(0,14) 20\n(1,99) 23\n",
     "groupRatingNegative.txt, line 2, field 'pair': pair (1, 99), but the test line it belongs to "),
    ("groupMember.txt", "0 1,2\n1\n", "groupMember.txt, line 2: expected '<group> <user>,<user>,...'"),
    ("userRatingTrain.txt", "1 10 good\n", "userRatingTrain.txt, line 1, field 'rating': 'good' is not a rating"),
])
def test_bad_group_benchmark_file_is_rejected(runner: QueryRunner, tmp_path: Path, name: str, text: str,
                                              message: str) -> None:
    write_group_benchmark(tmp_path)
    (tmp_path / name).write_text(text)
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)").replace("+", r"\+")):
        load_group_benchmark(runner, tmp_path)
    assert graph_summary(runner) == EMPTY
