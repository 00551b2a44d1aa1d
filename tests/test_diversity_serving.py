"""MMR in recommend_user and recommend_group on the real server (both call the function graphrec.mmr, serving's one
MMR): the ids the Python reference picks, and no change at all with diversity 0 or null."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from graphrec.evaluation.diversity import POOL_FACTOR, mmr_order
from graphrec.recommend import Recommender, RecommendError
from tests.test_recommend import EXACT, INDEX, random_vectors, serve

pytestmark = pytest.mark.neo4j


def reference(query: np.ndarray, items: dict[int, np.ndarray], k: int, lam: float) -> list[int]:
    ids = sorted(items, key=lambda i: (-float(np.dot(query, items[i])), i))[: POOL_FACTOR * k]
    scores = torch.tensor([float(np.dot(query, items[i])) for i in ids], dtype=torch.float64)
    vectors = torch.tensor(np.array([items[i] for i in ids]), dtype=torch.float64)
    return [ids[n] for n in mmr_order(scores, vectors, k, lam).tolist()]


@pytest.mark.parametrize("exact_max_items", [EXACT, INDEX], ids=["exact", "topItems"])
def test_mmr_serves_what_the_reference_picks_and_zero_changes_nothing(runner, exact_max_items: int) -> None:
    items = random_vectors(range(100, 160), 4, seed=3)
    users = {1: np.array([1.0, 0.5, 0.0, -0.5], dtype=np.float32), 2: np.array([0.0, 1.0, 1.0, 0.0], dtype=np.float32)}
    serve(runner, users=users, items=items, memberships=[(1, 7), (2, 7)])
    recommender = Recommender(runner, exact_max_items=exact_max_items)
    plain = recommender.recommend_user(1, 5)
    for lam in (None, 0.0):
        same = recommender.recommend_user(1, 5, diversity=lam)
        assert same.ids == plain.ids and [r["score"] for r in same.items] == [r["score"] for r in plain.items]
    for lam in (0.3, 0.7, 1.0):
        diverse = recommender.recommend_user(1, 5, diversity=lam)
        assert diverse.ids == reference(users[1], items, 5, lam), lam
        assert diverse.items[0]["id"] == plain.ids[0]  # the first pick is the most relevant
    assert recommender.recommend_user(1, 5, diversity=1.0).ids != plain.ids
    group_plain = recommender.recommend_group(7, 4, strategy="average")
    assert recommender.recommend_group(7, 4, strategy="average", diversity=0).ids == group_plain.ids
    mean = (users[1] + users[2]) / 2
    assert recommender.recommend_group(7, 4, strategy="average", diversity=0.6).ids == reference(mean, items, 4, 0.6)
    with pytest.raises(RecommendError, match="diversity is an MMR weight"):
        recommender.recommend_user(1, 5, diversity=1.5)
    with pytest.raises(RecommendError, match="diversity_by"):
        recommender.recommend_user(1, 5, diversity=0.5, diversity_by="colour")
