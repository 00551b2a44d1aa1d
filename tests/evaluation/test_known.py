"""graphrec.evaluation.known: the known-item offset against a dense numpy computation and a hand-computed
case, the row hold-out's repeats, and the choice of the offset on planted repeats."""
from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest
import torch

from graphrec.evaluation.known import OFFSETS, ROWS_PER_SOURCE, KnownShift, choose_known, known_offset, row_holdout
from graphrec.evaluation.protocol import EvalConfig
from graphrec.model.base import Fitted, Stored, TrainingData


def test_the_shift_by_hand() -> None:
    """Scores [4, -2, 1] of source 0, item 1 known: c = -0.5 moves it by -0.5 * 4 = -2."""
    shift = KnownShift(lambda s, i: torch.tensor([[4.0, -2.0, 1.0]]).gather(1, i), torch.tensor([[0], [1]]), 3, -0.5)
    assert shift(torch.tensor([0]), torch.tensor([[0, 1, 2]])).tolist() == [[4.0, -4.0, 1.0]]
    excluded = KnownShift(shift.score, torch.tensor([[0], [1]]), 3, -math.inf)
    assert excluded(torch.tensor([0]), torch.tensor([[1, 2]])).tolist() == [[-math.inf, 1.0]]


def test_the_shift_matches_a_dense_computation() -> None:
    rng = np.random.default_rng(3)
    scores = rng.normal(size=(6, 9)).astype(np.float32)
    known = rng.random((6, 9)) < 0.3
    candidates = np.stack([rng.permutation(9)[:5] for _ in range(6)])
    c = -0.2
    picked = np.take_along_axis(scores, candidates, 1)
    expected = picked + c * np.abs(picked).max(1, keepdims=True) * np.take_along_axis(known, candidates, 1)
    shift = KnownShift(lambda s, i: torch.from_numpy(scores)[s].gather(1, i),
                       torch.from_numpy(np.stack(known.nonzero())), 9, c)
    assert np.allclose(shift(torch.arange(6), torch.from_numpy(candidates)).numpy(), expected)


def test_the_row_hold_out_keeps_a_repeated_pair_and_leaves_every_source_a_row() -> None:
    train = torch.tensor([[0, 0, 0, 1, 1, 2], [5, 6, 7, 5, 8, 9]])
    counts = torch.tensor([3.0, 1.0, 1.0, 1.0, 1.0, 1.0])  # source 0 rated item 5 three times
    for seed in range(20):
        kept, held = row_holdout(train, counts, seed, per_source=4)
        held_rows = Counter(zip(*held.tolist()))
        assert Counter(held[0].tolist()) == {0: 4, 1: 1}  # at most rows - 1 per source; source 2 has one row
        kept_pairs = set(zip(*kept.tolist()))
        for s, i, n in zip(*train.tolist(), counts.tolist()):
            assert held_rows[s, i] <= n
            assert ((s, i) in kept_pairs) == (held_rows[s, i] < n)  # a pair stays while it has a row left
        kept, held = row_holdout(train, counts, seed, per_source=4, whole_pairs=True)  # the leak-free variant
        assert not set(zip(*kept.tolist())) & set(zip(*held.tolist()))
        assert len(set(zip(*kept.tolist()))) + len(set(zip(*held.tolist()))) == 6
    # rows are drawn uniformly: item 5 holds 3 of source 0's 5 rows
    draws = Counter(i for seed in range(400) for s, i in zip(*row_holdout(train, counts, seed, 1)[1].tolist())
                    if s == 0)
    assert 0.5 < draws[5] / sum(draws.values()) < 0.7


class Planted(Fitted):
    """Scores an item id / 1000, plus 1 when the source knows it: known items first, so whether that is right
    depends only on how often a held-out row is a repeat."""

    kind = "planted"

    def __init__(self, data: TrainingData) -> None:
        self.data, self.record = data, {}

    def scorer(self, side: str):
        train = self.data.user_train if side == "user" else self.data.group_train
        rows = self.data.num_users if side == "user" else self.data.num_groups
        dense = torch.arange(self.data.num_items, dtype=torch.float32).repeat(rows, 1) / 1000
        dense[train[0], train[1]] += 1.0

        def score(sources, items=None):
            return dense[sources] if items is None else dense[sources].gather(1, items)
        return score if rows else None

    def stored(self) -> Stored:
        return Stored()


def planted_data(repeats: bool) -> tuple[TrainingData, dict[str, torch.Tensor]]:
    """40 users with 60 items each out of 200; with `repeats`, every user interaction has 3 rows, so held-out
    rows are repeats; 10 groups of 4 without them."""
    rng = np.random.default_rng(0)
    users = np.array([(u, i) for u in range(40) for i in rng.choice(200, 60, replace=False)]).T
    groups = np.array([(g, i) for g in range(10) for i in rng.choice(200, 30, replace=False)]).T
    data = TrainingData(num_users=40, num_items=200, num_groups=10, user_ids=np.arange(40), item_ids=np.arange(200),
                        group_ids=np.arange(10), user_train=torch.from_numpy(users),
                        user_valid=torch.zeros(2, 0, dtype=torch.long), group_train=torch.from_numpy(groups),
                        group_valid=torch.zeros(2, 0, dtype=torch.long),
                        memberships=torch.tensor([[u for u in range(40)], [u // 4 for u in range(40)]]))
    counts = {"user": torch.full((users.shape[1],), 3.0 if repeats else 1.0), "group": torch.ones(groups.shape[1])}
    return data, counts


@pytest.mark.parametrize("repeats", [True, False])
def test_auto_keeps_known_items_first_when_the_data_repeats_and_leaves_them_out_when_it_does_not(
        repeats: bool) -> None:
    data, counts = planted_data(repeats)
    fits = []
    offsets, sweep = choose_known(data, counts, lambda valid: fits.append(valid) or Planted(valid), (5, 10), seed=1,
                                  strategies=("average", "least_misery", "most_pleasure", "borda"))
    assert len(fits) == 1  # one validation fit, on the rows left
    if repeats:  # 20 of each user's 180 rows held out: a pair leaves train only if its 3 rows all go
        assert 2350 < fits[0].user_train.size(1) <= 2400
    else:
        assert fits[0].user_train.size(1) == 2400 - 40 * ROWS_PER_SOURCE
    assert set(sweep["user"]) == {str(c) for c in OFFSETS}
    assert set(offsets) == {"user", "group", "group average", "group least_misery", "group most_pleasure",
                            "group borda"}
    assert offsets["group"] == -math.inf  # groups never repeat here: their known items are only in the way
    if repeats:  # the held-out item is known: excluding known items loses it, keeping them first finds it
        assert sweep["user"]["-inf"] < 0.01 and sweep["user"]["0.0"] > 0.1
        assert offsets["user"] > -math.inf
    else:
        assert offsets["user"] == -math.inf and sweep["user"]["-inf"] > 0.02 > sweep["user"]["0.0"]


def test_settings() -> None:
    assert (known_offset("as_is"), known_offset("exclude"), known_offset(-0.1), known_offset("auto")) == (
        0.0, -math.inf, -0.1, None)
    for bad in ("always", True, math.nan, math.inf):
        with pytest.raises(ValueError, match="known_items must be one of"):
            EvalConfig(known_items=bad)


def test_the_evaluator_shifts_each_ranking_by_its_own_offset() -> None:
    """Every user scores items 0.1, 0.9, 0.5, 0.3 (items 0-3). User 0 knows {0, 1} and holds out item 1 (a
    repeat) against items 2 and 3; group 0 = {0, 1} knows item 2 and holds out item 3 against items 0 and 2."""
    from graphrec.evaluation.run import Evaluator
    from graphrec.export import SPLITS, Snapshot
    from tests.evaluation.fixed import Fixed

    empty = torch.zeros((2, 0), dtype=torch.long)
    users = {"train": torch.tensor([[0, 0, 1], [0, 1, 0]]), "test": torch.tensor([[0], [1]])}
    groups = {"train": torch.tensor([[0], [2]]), "test": torch.tensor([[0], [3]])}
    no_negatives = torch.zeros((0, 0), dtype=torch.long)
    snapshot = Snapshot(np.arange(2), np.arange(4), np.arange(1), {s: users.get(s, empty) for s in SPLITS},
                        {s: torch.ones(users.get(s, empty).size(1)) for s in SPLITS},
                        {s: groups.get(s, empty) for s in SPLITS},
                        {s: torch.ones(groups.get(s, empty).size(1)) for s in SPLITS},
                        torch.tensor([[0, 1], [0, 0]]),
                        {s: torch.tensor([[2, 3]]) if s == "test" else no_negatives for s in SPLITS},
                        {s: torch.tensor([[0, 2]]) if s == "test" else no_negatives for s in SPLITS})
    evaluator = Evaluator(snapshot, EvalConfig(task="both", ks=(1,), strategies=("average", "least_misery")))
    model = Fixed(torch.ones(2, 1), torch.tensor([[0.1], [0.9], [0.5], [0.3]]), np.array([False, False]))

    def hits(known):
        rows, _ = evaluator.evaluate("fixed", model, known)
        found = {row["method"]: row for row in rows}
        return (found["fixed"]["user hr@1"], found["fixed average"]["group hr@1"],
                found["fixed least_misery"]["group hr@1"])

    assert hits(None) == (1.0, 0.0, 0.0)  # as the model scores: the repeat first, the group's known item 2 first
    # user: excluded, the repeat ranks last; average: 0.5 - 0.5 * 0.5 = 0.25 < 0.3, the test item first;
    # least misery takes the group's offset (0: unchanged)
    assert hits({"user": -math.inf, "group": 0.0, "group average": -0.5}) == (0.0, 1.0, 0.0)
    assert hits({"user": -0.5, "group": -0.5}) == (0.0, 1.0, 1.0)  # 0.9 - 0.45 < 0.5: the repeat ranks second
