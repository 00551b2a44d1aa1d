"""Adjacency, propagation and loss of graphrec.model.lightgcn."""
import math

import pytest
import torch
from torch_geometric.nn.models import LightGCN as PyGLightGCN

from graphrec.model import LightGCN, bpr_loss, normalized_adjacency


def test_normalized_adjacency_hand_graph() -> None:
    # u0-i0, u0-i1 (given twice), u1-i1: deg u0 = 2, u1 = 1, i0 = 1, i1 = 2.
    adj = normalized_adjacency(2, 2, torch.tensor([0, 0, 1, 0]), torch.tensor([0, 1, 1, 1]))
    a, b = 1 / math.sqrt(2), 0.5  # 1/sqrt(2*1), 1/sqrt(2*2)
    expected = torch.tensor([
        [0, 0, a, b],
        [0, 0, 0, a],
        [a, 0, 0, 0],
        [b, a, 0, 0],
    ])
    assert adj.layout == torch.sparse_csr
    assert adj.dtype == torch.float32
    assert adj._nnz() == 6
    torch.testing.assert_close(adj.to_dense(), expected)


def test_normalized_adjacency_isolated_nodes() -> None:
    adj = normalized_adjacency(3, 3, torch.tensor([1]), torch.tensor([2])).to_dense()
    expected = torch.zeros(6, 6)
    expected[1, 5] = expected[5, 1] = 1.0
    torch.testing.assert_close(adj, expected)


@pytest.mark.parametrize("users, items", [([2], [0]), ([0], [2]), ([-1], [0])])
def test_normalized_adjacency_rejects_out_of_range(users: list[int], items: list[int]) -> None:
    with pytest.raises(ValueError):
        normalized_adjacency(2, 2, torch.tensor(users), torch.tensor(items))


def random_interactions(num_users: int, num_items: int, num: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.stack([torch.randint(num_users, (num,), generator=g),
                        torch.randint(num_items, (num,), generator=g)])


def stock_edge_index(interactions: torch.Tensor, num_users: int) -> torch.Tensor:
    """Both directions of each distinct interaction, items offset by num_users."""
    users, items = torch.unique(interactions, dim=1)
    items = items + num_users
    return torch.stack([torch.cat([users, items]), torch.cat([items, users])])


def test_defaults() -> None:
    model = LightGCN(3, 4)
    assert model.embedding.weight.shape == (7, 64)
    assert model.num_layers == 3
    torch.testing.assert_close(model.alpha, torch.full((4,), 0.25))


@pytest.mark.parametrize("num_layers, alpha", [
    (0, None), (1, None), (3, None), (3, torch.tensor([0.1, 0.2, 0.3, 0.4])),
])
def test_matches_stock_lightgcn(num_layers: int, alpha: torch.Tensor | None) -> None:
    num_users, num_items = 7, 6  # item 5 is never interacted with
    interactions = random_interactions(num_users, num_items - 1, 25, seed=num_layers)
    adj = normalized_adjacency(num_users, num_items, *interactions)
    edge_index = stock_edge_index(interactions, num_users)
    torch.manual_seed(0)
    stock = PyGLightGCN(num_users + num_items, 8, num_layers, alpha)
    model = LightGCN(num_users, num_items, 8, num_layers, alpha)
    model.load_state_dict(stock.state_dict())
    weight = torch.randn(num_users + num_items, 8)

    expected = stock.get_embedding(edge_index)
    (expected * weight).sum().backward()
    out = model.get_embedding(adj)
    (out * weight).sum().backward()

    torch.testing.assert_close(out, expected)
    torch.testing.assert_close(model.embedding.weight.grad, stock.embedding.weight.grad)
    label_index = torch.tensor([[0, 3, 6], [7, 8, 12]])
    torch.testing.assert_close(model(adj, label_index), stock(edge_index, label_index))
    users, items = model.user_item_embeddings(adj)
    torch.testing.assert_close(torch.cat([users, items]), expected)
    assert users.shape == (num_users, 8)


def test_rejects_edge_index() -> None:
    model = LightGCN(2, 2)
    with pytest.raises(TypeError):
        model.get_embedding(torch.tensor([[0, 2], [2, 0]]))


def test_bpr_loss_hand_computed() -> None:
    user = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    pos = torch.tensor([[1.0, 1.0], [0.0, 2.0]])
    neg = torch.tensor([[0.0, 1.0], [1.0, 0.0]])
    pos_score, neg_score = (user * pos).sum(1), (user * neg).sum(1)  # (1, 2), (0, 0)
    ranking = (math.log1p(math.exp(-1)) + math.log1p(math.exp(-2))) / 2
    squared_norms = 2 + 6 + 2  # users, positives, negatives
    loss = bpr_loss(pos_score, neg_score, user, pos, neg, reg=0.1)
    assert loss.item() == pytest.approx(ranking + 0.1 * squared_norms / (2 * 2), rel=1e-6)
    default = bpr_loss(pos_score, neg_score, user, pos, neg)
    assert default.item() == pytest.approx(ranking + 1e-4 * squared_norms / (2 * 2), rel=1e-6)
