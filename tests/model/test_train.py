"""Known-answer training on a planted two-cluster graph."""
import pytest
import torch

from graphrec.model import (
    LightGCN, NegativeSampler, bpr_loss, evaluate, normalized_adjacency, train_epoch, train_step,
)


def planted(clusters: int = 2, size: int = 8) -> tuple[torch.Tensor, torch.Tensor]:
    """Cluster c holds users and items c*size .. (c+1)*size - 1; user c*size+k
    has every item of its cluster but item c*size+k, held out for testing."""
    train, test = [], []
    for c in range(clusters):
        for k in range(size):
            for j in range(size):
                (test if j == k else train).append((c * size + k, c * size + j))
    return torch.tensor(train).T, torch.tensor(test).T


def test_train_step_loss_and_update() -> None:
    train = torch.tensor([[0, 1, 2, 2], [3, 0, 1, 4]])
    adj = normalized_adjacency(3, 5, *train)
    model = LightGCN(3, 5, embedding_dim=4)
    users, pos, neg = torch.tensor([0, 2]), torch.tensor([3, 1]), torch.tensor([2, 0])
    with torch.no_grad():
        user_emb, item_emb = model.user_item_embeddings(adj)
        user0, item0 = model.embedding.weight.split([3, 5])
        expected = bpr_loss((user_emb[users] * item_emb[pos]).sum(1), (user_emb[users] * item_emb[neg]).sum(1),
                            user0[users], item0[pos], item0[neg], reg=0.01).item()
    before = model.embedding.weight.detach().clone()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    assert train_step(model, adj, users, pos, neg, optimizer, reg=0.01) == pytest.approx(expected, rel=1e-6)
    assert not torch.equal(model.embedding.weight, before)


@pytest.mark.parametrize("num_layers", [0, 3])
def test_ranks_held_out_item_first(num_layers: int) -> None:
    train, test = planted()
    num_nodes = 16
    adj = normalized_adjacency(num_nodes, num_nodes, *train)
    torch.manual_seed(0)
    # A small dimension, so that the untrained model ranks poorly.
    model = LightGCN(num_nodes, num_nodes, embedding_dim=4, num_layers=num_layers)
    with torch.no_grad():
        before = evaluate(*model.user_item_embeddings(adj), train, test, ks=(2,))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    sampler = NegativeSampler(train, num_nodes)
    generator = torch.Generator().manual_seed(0)
    losses = [
        train_epoch(model, adj, train, sampler, optimizer, batch_size=16, progress=False, generator=generator)
        for _ in range(30)  # 7 steps each
    ]
    with torch.no_grad():
        after = evaluate(*model.user_item_embeddings(adj), train, test, ks=(1, 2))

    assert before["hr@2"] < 0.6
    assert losses[-1] < 0.25 * losses[0]
    assert after["hr@2"] >= 0.9
    assert after["hr@1"] >= 0.75


def test_progress_bar_reports_loss(capsys: pytest.CaptureFixture[str]) -> None:
    train, _ = planted()
    adj = normalized_adjacency(16, 16, *train)
    model = LightGCN(16, 16, embedding_dim=4)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    loss = train_epoch(model, adj, train, NegativeSampler(train, 16), optimizer, batch_size=64)
    assert "loss=" in capsys.readouterr().err
    assert loss > 0
