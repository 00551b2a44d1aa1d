"""The sampled leave-one-out protocol on hand-made cases with known answers, ties included."""
import math

import numpy as np
import pytest
import torch

from graphrec.evaluation import pessimistic_ranks, ranks_to_metrics, sampled_candidates, sampled_metrics
from graphrec.evaluation.run import pair_order
from graphrec.model import evaluate
from graphrec.model.base import DotScorer, holdout
from graphrec.model.kinds import Popularity
from graphrec.model.metrics import full_metrics, full_per_source, hit_metrics, top_items


def table_scorer(scores: list[float]) -> DotScorer:
    """Every source scores item i as scores[i] (one-dimensional embeddings, source vector 1)."""
    return DotScorer(torch.ones(3, 1), torch.tensor(scores).unsqueeze(1))


def test_ties_rank_the_held_out_item_below_equal_negatives() -> None:
    scores = torch.tensor([[0.5, 0.5, 0.5, 0.1],    # tied with two negatives: rank 2, not 0
                           [0.9, 0.1, 0.2, 0.3],    # best: rank 0
                           [0.1, 0.2, 0.1, 0.0]])   # one above, one tied: rank 2
    valid = torch.ones_like(scores, dtype=torch.bool)
    assert pessimistic_ranks(scores, valid).tolist() == [2, 0, 2]
    valid[0, 1] = False                             # a padding column does not count
    assert pessimistic_ranks(scores, valid).tolist() == [1, 0, 2]


def test_known_hr_and_ndcg_of_a_hand_made_case() -> None:
    # item scores: item 0 .. 7
    score = table_scorer([0.8, 0.8, 0.3, 0.9, 0.1, 0.5, 0.5, 0.2])
    test = torch.tensor([[0, 1, 2], [0, 5, 4]])     # (source, held-out item)
    stored = torch.tensor([[1, 2, 4, -1],           # 0.8 vs 0.8 (tie), 0.3, 0.1: rank 1
                           [6, 3, 0, 7],            # 0.5 vs 0.5 (tie), 0.9, 0.8, 0.2: rank 3
                           [2, 7, -1, -1]])         # 0.1 vs 0.3, 0.2: rank 2
    candidates = sampled_candidates(test, stored, test, num_items=8)
    assert (candidates.stored, candidates.sampled) == (3, 0)
    found = sampled_metrics(score, candidates, ks=(1, 2, 3))
    ndcg = [1 / math.log2(r + 2) for r in (1, 3, 2)]
    assert found == pytest.approx({
        "hr@1": 0.0, "hr@2": 1 / 3, "hr@3": 2 / 3,
        "ndcg@1": 0.0, "ndcg@2": ndcg[0] / 3, "ndcg@3": (ndcg[0] + ndcg[2]) / 3})
    assert list(found) == ["hr@1", "hr@2", "hr@3", "ndcg@1", "ndcg@2", "ndcg@3"]


def test_optimistic_ties_would_score_higher() -> None:
    """Every item equal (popularity of an empty catalogue): the held-out item ranks last, not first."""
    score = Popularity(torch.zeros(2, 0, dtype=torch.long), num_items=101).scorer("user")
    test = torch.tensor([[0], [0]])
    candidates = sampled_candidates(test, torch.arange(1, 101).unsqueeze(0), test, num_items=101)
    assert sampled_metrics(score, candidates, ks=(10,)) == {"hr@10": 0.0, "ndcg@10": 0.0}
    assert ranks_to_metrics(torch.tensor([100]), (10,)) == {"hr@10": 0.0, "ndcg@10": 0.0}


def test_sampled_negatives_avoid_known_items_and_are_reproducible() -> None:
    num_items = 30
    test = torch.tensor([[0, 1, 2], [5, 6, 7]])
    known = torch.cat([test, torch.tensor([[0, 0, 1], [1, 2, 3]])], 1)
    stored = torch.tensor([[9, 10], [-1, -1], [-1, -1]])   # row 0 has stored negatives; rows 1, 2 do not
    first = sampled_candidates(test, stored, known, num_items, num_negatives=20, seed=3)
    again = sampled_candidates(test, stored, known, num_items, num_negatives=20, seed=3)
    other = sampled_candidates(test, stored, known, num_items, num_negatives=20, seed=4)
    assert (first.stored, first.sampled) == (1, 2)
    assert torch.equal(first.items, again.items) and not torch.equal(first.items, other.items)
    assert first.items[0].tolist() == [5, 9, 10] + [-1] * 18
    for row, (source, known_items) in enumerate(((1, {6, 3}), (2, {7}))):
        drawn = first.items[row + 1, 1:].tolist()
        assert len(set(drawn)) == 20 and not set(drawn) & known_items and int(first.items[row + 1, 0]) in known_items
    small = torch.tensor([[2], [3]])  # 4 items, one known: only 3 negatives to draw
    few = sampled_candidates(small, None, small, num_items=4, num_negatives=20)
    assert sorted(few.items[0, 1:4].tolist()) == [0, 1, 2] and (few.items[0, 4:] == -1).all()


def test_full_ranking_with_a_scorer_matches_evaluate() -> None:
    torch.manual_seed(0)
    users, items = torch.randn(6, 4), torch.randn(15, 4)
    train = torch.tensor([[0, 0, 1, 2, 5], [1, 2, 3, 4, 0]])
    test = torch.tensor([[0, 1, 1, 3, 5], [5, 6, 7, 8, 9]])
    assert full_metrics(DotScorer(users, items), 15, train, test, (3, 5)) == pytest.approx(
        evaluate(users, items, train, test, (3, 5)))


def test_holdout_takes_one_per_source_with_at_least_two() -> None:
    train = torch.tensor([[0, 0, 0, 1, 2, 2], [1, 2, 3, 4, 5, 6]])
    kept, held = holdout(train, seed=1)
    assert sorted(held[0].tolist()) == [0, 2]
    assert kept.size(1) == 4 and sorted(kept[0].tolist()) == [0, 0, 1, 2]
    pairs = {tuple(p) for p in torch.cat([kept, held], 1).T.tolist()}
    assert pairs == {tuple(p) for p in train.T.tolist()}
    assert torch.equal(holdout(train, seed=1)[1], held)


def test_full_ranking_metrics_against_numpy_and_lists_deeper_than_k() -> None:
    # random scores (distinct, so no ties), each user's train items excluded; every metric of every user by a
    # sort in numpy, at K 3 and 5; a ranking deeper than K (top_items at 8) gives the same metrics from its first K
    generator = torch.Generator().manual_seed(1)
    scores = torch.rand(9, 30, generator=generator, dtype=torch.float64)
    train = torch.stack([torch.randint(9, (60,), generator=generator), torch.randint(30, (60,), generator=generator)])
    test = torch.stack([torch.randint(9, (25,), generator=generator), torch.randint(30, (25,), generator=generator)])
    test = torch.unique(test[:, ~torch.isin(test[0] * 30 + test[1], train[0] * 30 + train[1])], dim=1)
    found = full_per_source(lambda sources, items=None: scores[sources], 30, train, test, (3, 5))
    sources = torch.unique(test[0])
    deeper = hit_metrics(top_items(lambda s: scores[s], 30, train, sources, 8), sources, test, 30, (3, 5))
    for row, user in enumerate(sources.tolist()):
        masked = scores[user].numpy().copy()
        masked[train[1][train[0] == user].numpy()] = -np.inf
        ranked = np.argsort(-masked)
        relevant = set(test[1][test[0] == user].tolist())
        for k in (3, 5):
            hits = np.array([item in relevant for item in ranked[:k]], dtype=float)
            dcg = (hits / np.log2(np.arange(2, k + 2))).sum()
            ideal = (1 / np.log2(np.arange(2, min(len(relevant), k) + 2))).sum()
            want = {"recall": hits.sum() / len(relevant), "ndcg": dcg / ideal, "precision": hits.sum() / k,
                    "hr": float(hits.sum() > 0)}
            for name, value in want.items():
                assert found[f"{name}@{k}"][row].item() == pytest.approx(value)
                assert deeper[f"{name}@{k}"][row].item() == pytest.approx(value)


@pytest.mark.parametrize("block", [1, 7, 64, 1 << 20])
@pytest.mark.parametrize("grouped", [True, False])
def test_pair_order_sorts_by_source_then_item_in_blocks_or_whole(block: int, grouped: bool) -> None:
    rng = np.random.default_rng(3)
    sources = rng.integers(0, 12, 500)
    sources[100:160] = 5  # one source longer than several blocks
    if grouped:
        sources = np.sort(sources)
    items = rng.integers(0, 40, 500)  # repeated pairs too
    pairs = torch.from_numpy(np.stack([sources, items]))
    order = pair_order(pairs, 40, block)
    assert sorted(order.tolist()) == list(range(500))  # a permutation
    assert np.array_equal((sources * 40 + items)[order.numpy()], np.sort(sources * 40 + items))
    assert pair_order(pairs[:, :0], 40, block).numel() == 0
