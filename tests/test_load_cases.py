"""Held-out evaluation cases (HELD_OUT) apart from the interactions (INTERACTED): a benchmark folder loaded and
exported gives exactly the train matrix and the case list of the benchmark's reference code, every loader keeps
a pair that is both trained on and held out as both, and serving never counts a case as history."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

from graphrec.conductor import training_data
from graphrec.db.runner import QueryRunner
from graphrec.evaluation.protocol import EvalConfig
from graphrec.evaluation.run import Evaluator
from graphrec.export import Snapshot, export_snapshot
from graphrec.load import graph_summary, load_csv, load_group_benchmark, load_lightgcn
from graphrec.model.base import Stored
from graphrec.model.kinds import PopularitySpec
from graphrec.recommend import Recommender
from graphrec.runconfig import RunConfig
from graphrec.writeback import write_model
from tests.test_recommend import EXACT, serve

pytestmark = pytest.mark.neo4j


def write_benchmark(folder: Path, seed: int = 7) -> None:
    """A group-benchmark folder with what the real ones have: rating-0 train and test rows, a pair repeated in a
    train and in a test file, test pairs that are also train pairs, and a negatives line per test line."""
    rng = random.Random(seed)
    groups = {g: rng.sample(range(20), rng.randint(2, 3)) for g in range(8)}
    (folder / "groupMember.txt").write_text("".join(f"{g} {','.join(map(str, m))}\n" for g, m in groups.items()))
    for kind, sources in (("group", list(groups)), ("user", list(range(20)))):
        train = [(s, rng.randrange(40), rng.choice([0, 0, 20, 50, 100])) for s in sources for _ in range(6)]
        train += train[:3]  # repeated train lines
        test = [(s, rng.randrange(40), rng.choice([0, 60, 80])) for s in sources for _ in range(2)]
        test += [train[5], train[9], test[0], test[3]]  # test pairs also in train, and test lines repeated
        test = [(s, i, r if r else 70) if k % 7 else (s, i, 0) for k, (s, i, r) in enumerate(test)]
        rng.shuffle(test)
        (folder / f"{kind}RatingTrain.txt").write_text("".join(f"{s} {i} {r}\n" for s, i, r in train))
        (folder / f"{kind}RatingTest.txt").write_text("".join(f"{s} {i} {r}\n" for s, i, r in test))
        (folder / f"{kind}RatingNegative.txt").write_text("".join(
            f"({s},{i}) {' '.join(str(n) for n in rng.sample(range(40, 60), 5))}\n" for s, i, _ in test))


def reference(folder: Path, kind: str) -> tuple[set[tuple[int, int]], list[tuple[int, int, list[int]]]]:
    """The train matrix's non-zero pairs and the case list as AGREE's `dataset.py` reads them
    (`load_rating_file_as_matrix`: rating > 0 → 1.0; `load_rating_file_as_list`, `load_negative_file`)."""
    train = set(rows(folder, kind))
    tests = [line.split(" ") for line in (folder / f"{kind}RatingTest.txt").read_text().splitlines()]
    negatives = [[int(x) for x in line.split(" ")[1:]]
                 for line in (folder / f"{kind}RatingNegative.txt").read_text().splitlines()]
    return train, [(int(arr[0]), int(arr[1]), negs) for arr, negs in zip(tests, negatives)]


def rows(folder: Path, kind: str) -> Counter[tuple[int, int]]:
    """How many train lines with a rating > 0 (or none) each pair has."""
    found: Counter[tuple[int, int]] = Counter()
    for line in (folder / f"{kind}RatingTrain.txt").read_text().splitlines():
        arr = line.split(" ")
        if len(arr) <= 2 or int(arr[2]) > 0:
            found[int(arr[0]), int(arr[1])] += 1
    return found


def exported(snapshot: Snapshot, kind: str, folder: Path
             ) -> tuple[set[tuple[int, int]], list[tuple[int, int, list[int]]]]:
    """The same two from a snapshot, in ids; each train interaction's weight is its number of rows in `folder`."""
    sources = snapshot.user_ids if kind == "user" else snapshot.group_ids
    edges = snapshot.interactions if kind == "user" else snapshot.group_interactions
    weights = snapshot.interaction_weights if kind == "user" else snapshot.group_interaction_weights
    negatives = snapshot.negatives if kind == "user" else snapshot.group_negatives
    train = edges["train"].numpy()
    pairs = list(zip(sources[train[0]].tolist(), snapshot.item_ids[train[1]].tolist()))
    assert len(pairs) == len(set(pairs))  # a repeated pair once, its weight the number of its rows
    assert dict(zip(pairs, weights["train"].tolist())) == rows(folder, kind)
    test = edges["test"].numpy()
    cases = [(int(sources[s]), int(snapshot.item_ids[i]), snapshot.item_ids[[n for n in row if n >= 0]].tolist())
             for s, i, row in zip(test[0], test[1], negatives["test"].tolist())]
    return set(pairs), cases


def test_a_benchmark_folder_exports_exactly_the_reference_codes_train_matrix_and_cases(
        runner: QueryRunner, tmp_path: Path) -> None:
    write_benchmark(tmp_path)
    load_group_benchmark(runner, tmp_path, progress=False)
    load_group_benchmark(runner, tmp_path, progress=False)  # idempotent: no case twice
    snapshot = export_snapshot(runner, batch_size=3)
    for kind in ("group", "user"):
        train, cases = reference(tmp_path, kind)
        assert exported(snapshot, kind, tmp_path) == (train, cases)
        assert {(s, i) for s, i, _ in cases} & train  # the folder has pairs both trained on and tested
        assert len(cases) > len({(s, i) for s, i, _ in cases})  # and repeated test lines
    summary = graph_summary(runner)
    assert (summary["group_train"], summary["group_test"]) == (len(reference(tmp_path, "group")[0]),
                                                               len(reference(tmp_path, "group")[1]))

    evaluator = Evaluator(snapshot, EvalConfig(task="both"))
    for kind in ("group", "user"):  # one evaluated case per test line, its negatives as loaded
        train, cases = reference(tmp_path, kind)
        candidates = evaluator.cases[kind]["candidates"]
        assert candidates.items.size(0) == len(cases) and candidates.sampled == 0
        assert [snapshot.item_ids[row[row >= 0].numpy()].tolist() for row in candidates.items] == [
            [i, *negatives] for _, i, negatives in exported(snapshot, kind, tmp_path)[1]]
        overlap = sum((s, i) in train for s, i in {(s, i) for s, i, _ in cases})
        assert f"{kind} task: reference protocol: {len(cases)} test cases" in " ".join(evaluator.notes)
        assert f"{overlap} of them also test cases" in " ".join(evaluator.notes)

    config = RunConfig("popularity", PopularitySpec())
    for variant in ("reference", "leak_free"):  # what the models are trained on
        data = training_data(snapshot, config, variant)
        for kind, edges in (("group", data.group_train), ("user", data.user_train)):
            sources = snapshot.group_ids if kind == "group" else snapshot.user_ids
            pairs = set(zip(sources[edges[0].numpy()].tolist(), snapshot.item_ids[edges[1].numpy()].tolist()))
            train, cases = reference(tmp_path, kind)
            assert pairs == (train if variant == "reference" else train - {(s, i) for s, i, _ in cases})
    assert "leak-free variant" in " ".join(Evaluator(snapshot, EvalConfig(variant="leak_free")).notes)


def test_a_lightgcn_pair_in_train_and_test_stays_in_train_and_is_a_case(runner: QueryRunner, tmp_path: Path) -> None:
    (tmp_path / "train.txt").write_text("0 1 2\n1 3 3\n")
    (tmp_path / "test.txt").write_text("0 2 4\n1 3\n")
    load_lightgcn(runner, tmp_path, progress=False)
    snapshot = export_snapshot(runner)
    ids = snapshot.item_ids
    assert sorted(zip(snapshot.user_ids[snapshot.interactions["train"][0]].tolist(),
                      ids[snapshot.interactions["train"][1]].tolist(),
                      snapshot.interaction_weights["train"].tolist())) == [(0, 1, 1.0), (0, 2, 1.0), (1, 3, 2.0)]
    assert list(zip(snapshot.user_ids[snapshot.interactions["test"][0]].tolist(),
                    ids[snapshot.interactions["test"][1]].tolist())) == [(0, 2), (0, 4), (1, 3)]
    # Full ranking as the reference code: a test item that is a train item stays out of the ranking.
    evaluator = Evaluator(snapshot, EvalConfig(protocol="full", task="user"))
    seen = evaluator.cases["user"]["seen"]
    assert sorted(zip(seen[0].tolist(), ids[seen[1]].tolist())) == [(0, 1), (0, 2), (1, 3)]


def test_a_csv_pair_can_be_trained_on_and_held_out_twice(runner: QueryRunner) -> None:
    load_csv(runner, interactions=pd.DataFrame({"user_id": [1, 1, 1, 1], "item_id": [10, 10, 10, 10],
                                                "weight": [1.0, 2.0, 1.0, 1.0],
                                                "split": ["train", "test", "train", "test"]}), progress=False)
    rows = runner.run("MATCH (:User {id: 1})-[r]->(:Item {id: 10}) "
                      "RETURN type(r) AS kind, r.weight AS weight, r.split AS split, r.line AS line ORDER BY line")
    assert rows == [{"kind": "HELD_OUT", "weight": 2.0, "split": "test", "line": 1},
                    {"kind": "HELD_OUT", "weight": 1.0, "split": "test", "line": 3},
                    {"kind": "INTERACTED", "weight": 2.0, "split": None, "line": None}]


def test_a_held_out_case_is_no_history_for_serving(runner: QueryRunner) -> None:
    """User 1 has item 10 as history and item 11 held out: 11 is recommended (the best), 10 is not; item
    popularity counts interactions only."""
    vectors = {10: [1.0, 0.0], 11: [0.9, 0.1], 12: [0.1, 0.1]}
    serve(runner, users={1: [1.0, 0.0], 2: [0.0, 1.0]}, items=vectors, interactions=[(1, 10), (2, 12)],
          memberships=[(1, 7)])
    load_csv(runner, interactions=pd.DataFrame({"user_id": [1, 2, 2], "item_id": [11, 11, 11],
                                                "split": ["test", "test", "valid"]}), progress=False)
    recommender = Recommender(runner, exact_max_items=EXACT)
    assert recommender.recommend_user(1, k=2).ids == [11, 12]
    assert recommender.recommend_group(7, k=2, strategy="average", exclude_member_items=True).ids == [11, 12]
    write_model(runner, Stored(), {"params": {"kind": "popularity"}}, progress=False)
    assert recommender.recommend_user(1, k=2).ids == [12, 11]  # 12 has an interaction, 11 only cases
