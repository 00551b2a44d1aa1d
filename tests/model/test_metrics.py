"""Full-ranking Recall, NDCG, Precision and HR."""
import math

import pytest
import torch

from graphrec.model import evaluate

# Item embeddings are the identity, so a user's embedding is its score row.
SCORES = torch.tensor([
    [0.9, 0.8, 0.7, 0.6, 0.5, 0.4],
    [0.5, 0.5, 0.5, 0.5, 0.5, 0.5],
    [0.1, 0.2, 0.3, 0.4, 0.5, 0.6],
])
# User 0: train {0}, test {1, 5}; user 1: train {1}, no test (not averaged);
# user 2: train {4, 5}, test {2}, given twice (counted once).
TRAIN = torch.tensor([[0, 1, 2, 2], [0, 1, 4, 5]])
TEST = torch.tensor([[0, 0, 2, 2], [1, 5, 2, 2]])
# Rankings with training items excluded: user 0: 1, 2, 3, 4, 5; user 2: 3, 2, 1, 0.
# User 0 hits at rank 1 only (item 5 is 5th); user 2 hits at rank 2.
NDCG_USER0 = 1 / (1 + 1 / math.log2(3))  # ideal: both test items on top
NDCG_USER2 = 1 / math.log2(3)
EXPECTED = {
    # K = 1: user 0's ideal DCG is over min(2, 1) = 1 rank, so its NDCG is 1.
    "recall@1": (0.5 + 0) / 2, "ndcg@1": (1 + 0) / 2, "precision@1": (1 + 0) / 2, "hr@1": (1 + 0) / 2,
    "recall@2": (0.5 + 1) / 2, "ndcg@2": (NDCG_USER0 + NDCG_USER2) / 2,
    "precision@2": (0.5 + 0.5) / 2, "hr@2": 1.0,
    "recall@4": (0.5 + 1) / 2, "ndcg@4": (NDCG_USER0 + NDCG_USER2) / 2,
    "precision@4": (0.25 + 0.25) / 2, "hr@4": 1.0,
}


@pytest.mark.parametrize("chunk_size", [1, 2, 1000])
def test_hand_computed(chunk_size: int) -> None:
    result = evaluate(SCORES, torch.eye(6), TRAIN, TEST, ks=(4, 1, 2), chunk_size=chunk_size)
    assert result == pytest.approx(EXPECTED, abs=1e-12)


def reference(scores: torch.Tensor, train: torch.Tensor, test: torch.Tensor, k: int) -> dict[str, float]:
    """Per-user loop over sets, for comparison."""
    totals = dict.fromkeys(("recall", "ndcg", "precision", "hr"), 0.0)
    users = sorted(set(test[0].tolist()))
    for u in users:
        seen = set(train[1, train[0] == u].tolist())
        relevant = set(test[1, test[0] == u].tolist())
        ranked = [i for i in scores[u].argsort(descending=True).tolist() if i not in seen][:k]
        hits = [i in relevant for i in ranked]
        idcg = sum(1 / math.log2(r + 2) for r in range(min(len(relevant), k)))
        totals["recall"] += sum(hits) / len(relevant)
        totals["ndcg"] += sum(h / math.log2(r + 2) for r, h in enumerate(hits)) / idcg
        totals["precision"] += sum(hits) / k
        totals["hr"] += any(hits)
    return {f"{name}@{k}": value / len(users) for name, value in totals.items()}


def test_matches_per_user_reference() -> None:
    g = torch.Generator().manual_seed(5)
    user_emb, item_emb = torch.randn(30, 4, generator=g), torch.randn(50, 4, generator=g)
    pairs = torch.randperm(30 * 50, generator=g)[:400]
    train = torch.stack([pairs[:300] // 50, pairs[:300] % 50])
    test = torch.stack([pairs[300:] // 50, pairs[300:] % 50])
    result = evaluate(user_emb, item_emb, train, test, ks=(3, 10), chunk_size=7)
    expected = reference(user_emb @ item_emb.T, train, test, 3) | reference(user_emb @ item_emb.T, train, test, 10)
    assert result == pytest.approx(expected, rel=1e-9)


def test_rejects_k_above_item_count() -> None:
    with pytest.raises(ValueError):
        evaluate(SCORES, torch.eye(6), TRAIN, TEST, ks=(7,))
