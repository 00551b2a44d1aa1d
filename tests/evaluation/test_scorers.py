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
