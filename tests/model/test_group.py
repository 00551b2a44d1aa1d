"""GroupLightGCN: the user-item-group adjacency, the combined group score and its training."""
import math

import pytest
import torch

from graphrec.model import (
    GroupLightGCN,
    NegativeSampler,
    group_train_epoch,
    group_train_step,
    member_matrix,
    member_mean,
    normalized_adjacency,
    tripartite_adjacency,
)

# 2 users, 2 items, 1 group: user 0 - item 0, group 0 - item 1 (twice), users 0 and 1 members of group 0.
USER_ITEMS = torch.tensor([[0], [0]])
GROUP_ITEMS = torch.tensor([[0, 0], [1, 1]])
MEMBERSHIPS = torch.tensor([[0, 1], [0, 0]])


def test_tripartite_adjacency_normalises_by_degrees_of_every_kind() -> None:
    adj = tripartite_adjacency(2, 2, 1, USER_ITEMS, GROUP_ITEMS, MEMBERSHIPS).to_dense()
    # nodes: user 0, user 1, item 0, item 1, group 0; degrees 2, 1, 1, 1, 3
    expected = torch.zeros(5, 5)
    for a, b in ((0, 2), (3, 4), (0, 4), (1, 4)):
        degrees = {0: 2, 1: 1, 2: 1, 3: 1, 4: 3}
        expected[a, b] = expected[b, a] = 1 / math.sqrt(degrees[a] * degrees[b])
    torch.testing.assert_close(adj, expected)


def test_without_groups_it_is_the_bipartite_adjacency() -> None:
    users, items = torch.tensor([0, 0, 1, 2]), torch.tensor([1, 3, 0, 3])
    empty = torch.zeros(2, 0, dtype=torch.long)
    torch.testing.assert_close(tripartite_adjacency(3, 4, 0, torch.stack([users, items]), empty, empty).to_dense(),
                               normalized_adjacency(3, 4, users, items).to_dense())


def test_out_of_range_edges_are_refused() -> None:
    with pytest.raises(ValueError, match="memberships: ids out of range"):
        tripartite_adjacency(2, 2, 1, USER_ITEMS, GROUP_ITEMS, torch.tensor([[0], [1]]))


@pytest.mark.parametrize("fixed", [None, 0.25])
def test_group_vectors_combine_own_and_member_mean_linearly(fixed: float | None) -> None:
    model = GroupLightGCN(3, 2, 2, embedding_dim=2, group_weight=fixed)
    alpha = 0.5 if fixed is None else fixed  # a learned weight starts at sigmoid(0)
    users = torch.tensor([[1.0, 0.0], [0.0, 1.0], [2.0, 2.0]])
    groups = torch.tensor([[4.0, 0.0], [0.0, 8.0]])
    members = member_matrix(torch.tensor([[0, 1, 2, 2], [0, 0, 1, 1]]), 2, 3)  # group 1: user 2 (twice)
    mean = member_mean(members, users, 2)
    torch.testing.assert_close(mean, torch.tensor([[0.5, 0.5], [2.0, 2.0]]))
    vectors = model.group_vectors(groups, users, members)
    torch.testing.assert_close(vectors, alpha * groups + (1 - alpha) * mean)
    fallback = model.group_vectors(groups, users, members, has_history=torch.tensor([True, False]))
    torch.testing.assert_close(fallback, torch.stack([vectors[0], mean[1]]))


def test_a_step_moves_a_learned_weight_and_not_a_fixed_one() -> None:
    adj = tripartite_adjacency(2, 2, 1, USER_ITEMS, GROUP_ITEMS, MEMBERSHIPS)
    members = member_matrix(MEMBERSHIPS, 1, 2)
    triples = ((torch.tensor([0]), torch.tensor([0]), torch.tensor([1])),
               (torch.tensor([0]), torch.tensor([1]), torch.tensor([0])))
    for fixed in (None, 0.3):
        torch.manual_seed(0)
        model = GroupLightGCN(2, 2, 1, embedding_dim=4, group_weight=fixed)
        optimizer = torch.optim.SGD(model.parameters(), lr=1.0)
        loss = group_train_step(model, adj, members, *triples, optimizer, reg=0.0)
        assert loss == pytest.approx(2 * math.log(2), abs=0.2)  # two BPR terms near ln 2 at initialisation
        moved = model.group_weight().item()
        assert (moved != 0.5) if fixed is None else (moved == pytest.approx(0.3))


def test_training_learns_a_group_taste_that_no_member_has() -> None:
    """Users 0-7 like items 0-7 (users 0-3 items 0-3, users 4-7 items 4-7); groups 0-3 (one member of each
    kind) only ever choose among items 8-11, which no user touches. Held out: one group item each."""
    users = [(u, i) for u in range(8) for i in range(4 * (u // 4), 4 * (u // 4) + 4)]
    group_items = [(g, 8 + j) for g in range(4) for j in range(4) if j != g]
    held_out = torch.tensor([[g for g in range(4)], [8 + g for g in range(4)]])
    memberships = torch.tensor([[0, 4, 1, 5, 2, 6, 3, 7],
                                [0, 0, 1, 1, 2, 2, 3, 3]])
    user_train, group_train = torch.tensor(users).T, torch.tensor(group_items).T
    adj = tripartite_adjacency(8, 12, 4, user_train, group_train, memberships)
    members = member_matrix(memberships, 4, 8)
    torch.manual_seed(0)
    model = GroupLightGCN(8, 12, 4, embedding_dim=8, num_layers=2)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    samplers = (NegativeSampler(user_train, 12), NegativeSampler(group_train, 12))
    generator = torch.Generator().manual_seed(0)
    for _ in range(60):
        group_train_epoch(model, adj, members, user_train, group_train, samplers, optimizer, batch_size=16,
                          progress=False, generator=generator)
    with torch.no_grad():
        users_emb, items, groups = model.split_embeddings(adj)
        scores = model.group_vectors(groups, users_emb, members) @ items.T
    scores[group_train[0], group_train[1]] = float("-inf")
    assert scores.argmax(1).tolist() == held_out[1].tolist()
    assert model.group_weight().item() > 0.5, "the groups' own embeddings carry the taste"
