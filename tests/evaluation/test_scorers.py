"""Member aggregation strategies on a toy group with a known answer for each, and the fairness figures."""
import pytest
import torch

from graphrec.evaluation import MemberScorer, member_satisfaction, padded_members
from graphrec.model.base import DotScorer

# Two users and four items; user m scores item i as ITEMS[i, m] (user vectors are the unit axes).
USERS = torch.eye(2)
ITEMS = torch.tensor([[9.0, 0.0],    # item 0: loved by user 0, indifferent to user 1
                      [4.0, 4.0],    # item 1: liked by both
                      [10.0, -5.0],  # item 2: user 0's favourite, user 1's worst
                      [1.0, 2.0]])   # item 3: a little
MEMBERS = padded_members(torch.tensor([[0, 1, 1], [0, 0, 1]]), num_groups=2)  # group 0: users 0, 1; group 1: 1
USER_SCORES = DotScorer(USERS, ITEMS)


def scores(strategy: str, items: torch.Tensor | None = None) -> torch.Tensor:
    return MemberScorer(strategy, USER_SCORES, MEMBERS, 4)(torch.tensor([0, 1]), items)


def test_padded_members() -> None:
    assert MEMBERS.tolist() == [[0, 1], [1, -1]]


@pytest.mark.parametrize("strategy, group0, best", [
    ("average", [4.5, 4.0, 2.5, 1.5], 0),
    ("least_misery", [0.0, 4.0, -5.0, 1.0], 1),
    ("most_pleasure", [9.0, 4.0, 10.0, 2.0], 2),
    # 4 candidates: user 0 ranks 2, 0, 1, 3 (points 3, 2, 1, 0), user 1 ranks 1, 3, 0, 2 (points 3, 2, 1, 0)
    ("borda", [2.0 + 1.0, 1.0 + 3.0, 3.0 + 0.0, 0.0 + 2.0], 1),
])
def test_each_strategy_has_its_own_answer(strategy: str, group0: list[float], best: int) -> None:
    found = scores(strategy)
    assert found[0].tolist() == group0
    assert int(found[0].argmax()) == best
    assert found[1].tolist() == (ITEMS[:, 1] if strategy != "borda" else torch.tensor([1.0, 3.0, 0.0, 2.0])).tolist()


def test_candidates_are_scored_among_themselves() -> None:
    candidates = torch.tensor([[1, 3, 0], [0, 2, 2]])
    assert scores("average", candidates).tolist() == [[4.0, 1.5, 4.5], [0.0, -5.0, -5.0]]
    # borda over 3 candidates; equal scores share the best rank: user 1's items 2, 2 both get 0 points... of 3
    assert scores("borda", candidates).tolist() == [[1.0 + 2.0, 0.0 + 1.0, 2.0 + 0.0], [2.0, 1.0, 1.0]]


def test_small_chunks_give_the_same_scores() -> None:
    full = MemberScorer("least_misery", USER_SCORES, MEMBERS, 4)(torch.tensor([0, 1]))
    tiny = MemberScorer("least_misery", USER_SCORES, MEMBERS, 4, max_cells=1)(torch.tensor([0, 1]))
    assert torch.equal(full, tiny)


def test_fairness_of_a_list_relative_to_each_members_own_top() -> None:
    judge = MemberScorer("average", USER_SCORES, MEMBERS, 4)
    known = torch.tensor([[0], [3]])  # group 0 has seen item 3: candidates are items 0, 1, 2
    # Group 0 recommended item 1 (k=1). User 0: mean over candidates 23/3, own top 10, item 1 4.
    # User 1: mean -1/3, own top 4, item 1 4.
    group_vectors = DotScorer(torch.tensor([[0.0, 1.0]]), ITEMS)
    low, spread = member_satisfaction(group_vectors, judge, torch.tensor([0]), known, num_items=4, k=1)
    user0 = (4 - 23 / 3) / (10 - 23 / 3)
    assert low.tolist() == pytest.approx([user0])
    assert spread.tolist() == pytest.approx([1.0 - user0])


def test_a_user_the_model_cannot_score_gets_popularity_and_is_left_out_of_member_aggregations() -> None:
    import numpy as np

    from graphrec.evaluation.protocol import EvalConfig
    from graphrec.evaluation.run import Evaluator
    from graphrec.export import SPLITS, Snapshot
    from tests.evaluation.fixed import Fixed

    # User 2 has no train interactions (the model marks them unscorable). Train: user 0 {0, 1}, user 1 {1, 3},
    # group 0 {1}: item 1 has 3 interactions, items 0 and 3 one, 2 none.
    # Tests: user 2 holds out item 1 (their popularity rank: 1st), user 0 item 3; group 0 = {0, 2} item 2.
    # User 0's vector scores items 2 > 3 > 1 > 0; user 2's vector would rank item 1 last.
    empty = torch.zeros((2, 0), dtype=torch.long)
    users = {"train": torch.tensor([[0, 0, 1, 1], [0, 1, 1, 3]]), "valid": empty,
             "test": torch.tensor([[2, 0], [1, 3]])}
    groups = {"train": torch.tensor([[0], [1]]), "valid": empty, "test": torch.tensor([[0], [2]])}
    none = {split: torch.zeros((0, 0), dtype=torch.long) for split in SPLITS}
    snapshot = Snapshot(np.arange(3), np.arange(4), np.arange(1), {s: users.get(s, empty) for s in SPLITS},
                        {s: torch.ones(users.get(s, empty).size(1)) for s in SPLITS},
                        {s: groups.get(s, empty) for s in SPLITS},
                        {s: torch.ones(groups.get(s, empty).size(1)) for s in SPLITS},
                        torch.tensor([[0, 2], [0, 0]]), none, none)
    vectors = torch.tensor([[1.0, 0.0], [0.0, 0.0], [0.0, 1.0]])
    items = torch.tensor([[0.0, 5.0], [1.0, 0.0], [3.0, -1.0], [2.0, 0.0]])
    config = EvalConfig(protocol="full", task="both", full_ks=(1,), strategies=("least_misery",))
    evaluator = Evaluator(snapshot, config)
    model = Fixed(vectors, items, np.array([False, False, True]))
    users_scorer, members = evaluator.user_side(model)
    assert users_scorer(torch.tensor([2]), None).tolist() == [[1.0, 3.0, 0.0, 1.0]]   # the train counts
    assert users_scorer(torch.tensor([0]), None).tolist() == [[0.0, 1.0, 3.0, 2.0]]   # its own vector
    assert members.tolist() == [[0, -1]]
    rows, _ = evaluator.evaluate("fixed", model)
    found = {row["method"]: row for row in rows}
    # Top 1 (train items left out): user 2 gets item 1 (a hit), user 0 item 2 (a miss): recall 1/2. The group's
    # least misery is user 0's score alone: item 2 first (a hit); with user 2's vector it would be item 3.
    assert found["fixed"]["user recall@1"] == pytest.approx(0.5)
    assert found["fixed least_misery"]["group recall@1"] == pytest.approx(1.0)
