"""MMR on a hand-computed case, intra-list diversity and coverage by hand, the MMR scorer's rankings."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from graphrec.evaluation.diversity import MMRScorer, cooccurrence, coverage, intra_list_diversity, mmr_order
from graphrec.model.metrics import top_items


def hand_case() -> tuple[torch.Tensor, torch.Tensor]:
    """Items 0-3 with scores 1.0, 0.9, 0.5, 0.0; items 0 and 1 point the same way, 2 is orthogonal to them,
    3 is at 45 degrees."""
    scores = torch.tensor([1.0, 0.9, 0.5, 0.0])
    vectors = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    return scores, vectors


def test_mmr_picks_what_the_hand_computation_says() -> None:
    scores, vectors = hand_case()
    # lambda = 0.5: step 1 takes item 0 (relevance 1). Step 2: 0.5 * rel - 0.5 * max cos to {0}:
    #   item 1: 0.5 * 0.9 - 0.5 * 1 = -0.05; item 2: 0.5 * 0.5 - 0 = 0.25; item 3: 0 - 0.5 * 0.7071 = -0.354
    #   -> item 2. Step 3: item 1: 0.45 - 0.5 * max(1, 0) = -0.05; item 3: 0 - 0.5 * 0.7071 = -0.354 -> item 1.
    assert mmr_order(scores, vectors, 4, 0.5).tolist() == [0, 2, 1, 3]
    # lambda = 0 keeps the ranking; lambda = 1 ignores relevance after the first pick: 0, then 2 (cos 0),
    # then 3 (max cos 0.7071 < 1), then 1.
    assert mmr_order(scores, vectors, 4, 0.0).tolist() == [0, 1, 2, 3]
    assert mmr_order(scores, vectors, 4, 1.0).tolist() == [0, 2, 3, 1]
    # the input need not be sorted: positions refer to it
    shuffled = torch.tensor([3, 1, 0, 2])
    assert shuffled[mmr_order(scores[shuffled], vectors[shuffled], 2, 0.5)].tolist() == [0, 2]


def test_the_mmr_scorer_reranks_the_top_of_each_row_and_keeps_the_rest() -> None:
    scores, vectors = hand_case()
    base = lambda sources, items=None: scores.expand(sources.numel(), -1) if items is None else scores[items]
    reranked = MMRScorer(base, vectors, 0.5, k=2)(torch.tensor([0]), None)
    assert torch.argsort(-reranked[0], stable=True).tolist()[:2] == [0, 2]


def test_intra_list_diversity_and_coverage_by_hand() -> None:
    # items 0 and 1 are chosen by the same users (cosine 1), item 2 by one of them (cosine 1/sqrt(2) with both)
    train = torch.tensor([[0, 1, 0, 1, 0], [0, 0, 1, 1, 2]])
    unit = cooccurrence(train, 2, 4)
    lists = torch.tensor([[0, 1], [0, 2]])
    assert intra_list_diversity(lists, unit) == pytest.approx(((1 - 1.0) + (1 - 1 / np.sqrt(2))) / 2)
    assert coverage(lists, 4) == 0.75


def test_top_items_leave_out_seen_items() -> None:
    scores = torch.tensor([[4.0, 3.0, 2.0, 1.0], [1.0, 2.0, 3.0, 4.0]])
    lists = top_items(lambda sources: scores[sources], 4, torch.tensor([[0, 1], [0, 3]]), torch.tensor([0, 1]), 2)
    assert lists.tolist() == [[1, 2], [2, 1]]


def test_evaluate_reports_list_diversity_and_coverage_and_adds_mmr_rows() -> None:
    from graphrec.evaluation.protocol import EvalConfig
    from graphrec.evaluation.run import Evaluator
    from graphrec.export import SPLITS, Snapshot
    from tests.evaluation.fixed import Fixed

    # users 1 and 2 choose items 0 and 1 (co-occurrence cosine 1), user 3 items 2 and 3; user 0 has item 5 and
    # the held-out item 2. User 0's scores: item 0 1.0, item 1 0.9, item 2 0.5; items 0 and 1 share a vector.
    train = torch.tensor([[1, 1, 2, 2, 3, 3, 0], [0, 1, 0, 1, 2, 3, 5]])
    empty = torch.zeros((2, 0), dtype=torch.long)
    edges = {"train": train, "valid": empty, "test": torch.tensor([[0], [2]])}
    none = {split: torch.zeros((0, 0), dtype=torch.long) for split in SPLITS}
    snapshot = Snapshot(np.arange(4), np.arange(6), np.zeros(0, dtype=np.int64), {s: edges.get(s, empty) for s in SPLITS},
                        {s: torch.ones(edges.get(s, empty).size(1)) for s in SPLITS},
                        {s: empty for s in SPLITS}, {s: torch.ones(0) for s in SPLITS}, empty, none, none)
    items = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0]])
    users = torch.tensor([[1.0, 0.5], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0]])
    users[0] = torch.tensor([1.0, 0.5])  # item 0: 1.0, item 1: 1.0, item 2: 0.5 (ties by torch.topk)
    config = EvalConfig(protocol="full", task="user", full_ks=(2,), diversity=(1.0,), diversity_k=2, strategies=())
    rows, _ = Evaluator(snapshot, config).evaluate("fixed", Fixed(users, items))
    found = {row["method"]: row for row in rows}
    assert list(found) == ["fixed", "fixed mmr1"]
    assert found["fixed"]["user recall@2"] == 0.0 and found["fixed mmr1"]["user recall@2"] == 1.0
    assert found["fixed"]["user ild@2"] == pytest.approx(0.0)  # items 0 and 1: chosen by the same users
    assert found["fixed mmr1"]["user ild@2"] == pytest.approx(1.0)  # items 0 and 2: by different users
    assert found["fixed"]["user coverage@2"] == found["fixed mmr1"]["user coverage@2"] == pytest.approx(2 / 6)


def test_intra_list_diversity_in_chunks_equals_all_at_once() -> None:
    # a random graph; a budget of 1 non-zero forces one pair per chunk, the default takes them all at once
    generator = torch.Generator().manual_seed(0)
    train = torch.stack([torch.randint(30, (400,), generator=generator), torch.randint(25, (400,), generator=generator)])
    unit = cooccurrence(train, 30, 25)
    lists = torch.stack([torch.randperm(25, generator=generator)[:6] for _ in range(40)])
    dense = (unit @ unit.T).toarray()
    expected = np.mean([1 - dense[i, j] for row in lists.tolist() for x, i in enumerate(row) for j in row[x + 1:]])
    assert intra_list_diversity(lists, unit) == pytest.approx(expected)
    assert intra_list_diversity(lists, unit, budget=1) == pytest.approx(expected)


def test_top_items_and_the_mmr_scorer_leave_out_seen_items_of_unsorted_sources_in_chunks() -> None:
    # 7 sources in shuffled order, chunks of 3 (the last short); each source's seen items by a brute-force check.
    generator = torch.Generator().manual_seed(0)
    scores = torch.rand(7, 9, generator=generator)
    seen = torch.tensor([[0, 0, 2, 3, 3, 3, 5, 6, 6], [1, 8, 0, 2, 3, 4, 7, 0, 5]])
    sources = torch.tensor([5, 2, 6, 0, 3, 1, 4])
    lists = top_items(lambda s: scores[s], 9, seen, sources, 3, chunk_size=3)
    for row, source in enumerate(sources.tolist()):
        masked = scores[source].clone()
        masked[seen[1][seen[0] == source]] = float("-inf")
        assert lists[row].tolist() == torch.topk(masked, 3).indices.tolist()
    reranked = MMRScorer(lambda s, items=None: scores[s], torch.eye(9), 0.0, 3, seen)(sources, None)
    for row, source in enumerate(sources.tolist()):
        assert torch.isinf(reranked[row, seen[1][seen[0] == source]]).all()
        assert torch.isfinite(reranked[row]).sum() == 9 - int((seen[0] == source).sum())
