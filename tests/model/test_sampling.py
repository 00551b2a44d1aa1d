"""Uniform negative sampling."""
import pytest
import torch

from graphrec.model import NegativeSampler


def dense_interactions(num_users: int, num_items: int, density: float, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    mask = torch.rand(num_users, num_items, generator=g) < density
    mask[:, 0] = False  # every user keeps a negative
    return mask


@pytest.mark.parametrize("density", [0.1, 0.5, 0.9])
def test_never_samples_a_training_item(density: float) -> None:
    mask = dense_interactions(40, 25, density, seed=1)
    sampler = NegativeSampler(mask.nonzero().T, 25)
    users = torch.arange(40).repeat(50)
    items = sampler.sample(users, torch.Generator().manual_seed(2))
    assert items.shape == users.shape
    assert ((items >= 0) & (items < 25)).all()
    assert not mask[users, items].any()


def test_contains_matches_dense_membership() -> None:
    mask = dense_interactions(12, 9, 0.4, seed=3)
    sampler = NegativeSampler(mask.nonzero().T, 9)
    users, items = torch.meshgrid(torch.arange(12), torch.arange(9), indexing="ij")
    assert torch.equal(sampler.contains(users.flatten(), items.flatten()), mask.flatten())


def test_uniform_over_non_training_items() -> None:
    sampler = NegativeSampler(torch.tensor([[0, 0, 0, 1], [0, 3, 7, 5]]), 10)
    draws = 80_000
    items = sampler.sample(torch.zeros(draws, dtype=torch.long), torch.Generator().manual_seed(4))
    counts = torch.bincount(items, minlength=10).double()
    assert counts[[0, 3, 7]].sum() == 0
    allowed = counts[[1, 2, 4, 5, 6, 8, 9]]
    expected = draws / 7
    chi2 = ((allowed - expected) ** 2 / expected).sum().item()
    assert chi2 < 22.5  # chi-square, 6 degrees of freedom, p = 0.001


def test_rejects_user_with_every_item() -> None:
    with pytest.raises(ValueError):
        NegativeSampler(torch.tensor([[0, 0, 1], [0, 1, 0]]), 2)


def test_sample_pairs_weighs_every_user_alike_and_their_items_alike() -> None:
    # User 0 has one item, user 2 has four (one repeated: counted once), user 1 none: the paper's sampler draws
    # users 0 and 2 half the time each, and each of user 2's three distinct items a sixth of the time.
    interactions = torch.tensor([[0, 2, 2, 2, 2], [4, 1, 3, 3, 5]])
    sampler = NegativeSampler(interactions, 6)
    draws = 60_000
    users, items = sampler.sample_pairs(draws, torch.Generator().manual_seed(5))
    assert users.shape == items.shape == (draws,)
    pairs = torch.bincount(users * 6 + items, minlength=18).double() / draws
    expected = torch.zeros(18, dtype=torch.float64)
    expected[0 * 6 + 4] = 1 / 2
    expected[[2 * 6 + 1, 2 * 6 + 3, 2 * 6 + 5]] = 1 / 6
    assert torch.allclose(pairs, expected, atol=0.01)
    assert pairs[expected == 0].sum() == 0


def test_sample_pairs_needs_interactions() -> None:
    with pytest.raises(ValueError, match="no training interactions"):
        NegativeSampler(torch.zeros(2, 0, dtype=torch.long), 3).sample_pairs(4)
