"""Known-answer training on a planted two-cluster graph."""
import pytest
import torch

from graphrec.model import (
    LightGCN,
    NegativeSampler,
    bpr_loss,
    evaluate,
    normalized_adjacency,
    train_epoch,
    train_step,
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


@pytest.mark.parametrize("num_layers, sampling", [(0, "interaction"), (3, "interaction"), (3, "user")])
def test_ranks_held_out_item_first(num_layers: int, sampling: str) -> None:
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
        train_epoch(model, adj, train, sampler, optimizer, batch_size=16, progress=False, generator=generator,
                    sampling=sampling)
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


def test_bpr_with_several_negatives_by_hand_and_in_a_train_step() -> None:
    import math

    # One positive scored 2, negatives scored 1 and 3: (softplus(-1) + softplus(1)) / 2 = (ln(1 + e^-1) +
    # ln(1 + e)) / 2; L2 (u 1, i 4, negatives 2 and 6 averaged to 4) = reg * 9 / 2.
    pos, neg = torch.tensor([2.0]), torch.tensor([[1.0, 3.0]])
    u0, i0 = torch.tensor([[1.0, 0.0]]), torch.tensor([[2.0, 0.0]])
    j0 = torch.tensor([[[1.0, 1.0], [0.0, math.sqrt(6)]]])
    expected = (math.log(1 + math.exp(-1)) + math.log(1 + math.e)) / 2 + 0.1 * 9 / 2
    assert bpr_loss(pos, neg, u0, i0, j0, reg=0.1).item() == pytest.approx(expected, rel=1e-6)
    # One negative as (B, 1) is the paper's loss on (B,).
    assert bpr_loss(pos, neg[:, :1], u0, i0, j0[:, :1], reg=0.1).item() == pytest.approx(
        bpr_loss(pos, neg[:, 0], u0, i0, j0[:, 0], reg=0.1).item(), rel=1e-6)
    # A train step with (B, N) negatives minimises that loss over the propagated embeddings.
    train, _ = planted()
    adj = normalized_adjacency(16, 16, *train)
    torch.manual_seed(0)
    model = LightGCN(16, 16, embedding_dim=4, num_layers=2)
    users, positives = train[0, :5], train[1, :5]
    negatives = torch.tensor([[8, 9, 10], [9, 10, 11], [10, 11, 12], [11, 12, 13], [12, 13, 14]])
    with torch.no_grad():
        users_emb, items_emb = model.user_item_embeddings(adj)
        e0 = model.embedding.weight
        expected = bpr_loss((users_emb[users] * items_emb[positives]).sum(1),
                            torch.einsum("bd,bnd->bn", users_emb[users], items_emb[negatives]),
                            e0[users], e0[16 + positives], e0[16 + negatives], reg=0.01).item()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    assert train_step(model, adj, users, positives, negatives, optimizer, reg=0.01) == pytest.approx(expected, rel=1e-6)


def test_unknown_sampling_is_refused() -> None:
    train, _ = planted()
    model = LightGCN(16, 16, embedding_dim=4)
    with pytest.raises(ValueError, match="sampling must be"):
        train_epoch(model, normalized_adjacency(16, 16, *train), train, NegativeSampler(train, 16),
                    torch.optim.SGD(model.parameters(), lr=0.1), sampling="items", progress=False)


def test_mf_steps_touch_only_the_batch_rows_with_the_bpr_gradient_of_numpy() -> None:
    """MF (no layers) trains with sparse row gradients and SparseAdam (`make_sparse`): a step's gradient is the
    BPR formula's, computed here by hand in numpy, on the batch's rows alone, and rows outside the batch do
    not move, not even by momentum (lazy Adam)."""
    import numpy as np

    from graphrec.model.bpr import make_sparse

    torch.manual_seed(0)
    model = LightGCN(4, 6, embedding_dim=3, num_layers=0)
    assert make_sparse(LightGCN(4, 6, embedding_dim=3, num_layers=1), 0.1) is None  # propagated: dense Adam
    optimizer = make_sparse(model, lr=0.1)
    assert isinstance(optimizer, torch.optim.SparseAdam)
    users, pos, neg, reg = torch.tensor([0, 2, 0]), torch.tensor([1, 3, 1]), torch.tensor([4, 0, 5]), 0.5
    e = model.embedding.weight.detach().double().numpy().copy()
    u, i, j = users.numpy(), pos.numpy() + 4, neg.numpy() + 4
    margin = (e[u] * e[j]).sum(1) - (e[u] * e[i]).sum(1)
    sig = 1 / (1 + np.exp(-margin))  # d softplus(x) / dx
    grad = np.zeros_like(e)
    batch = len(u)
    for k in range(batch):  # the loss: mean softplus(s_uj - s_ui) + reg (|e_u|^2 + |e_i|^2 + |e_j|^2) / 2B
        grad[u[k]] += sig[k] * (e[j[k]] - e[i[k]]) / batch + reg * e[u[k]] / batch
        grad[i[k]] += -sig[k] * e[u[k]] / batch + reg * e[i[k]] / batch
        grad[j[k]] += sig[k] * e[u[k]] / batch + reg * e[j[k]] / batch
    loss = np.log1p(np.exp(margin)).mean() + reg * (e[u] ** 2 + e[i] ** 2 + e[j] ** 2).sum() / (2 * batch)

    assert train_step(model, None, users, pos, neg, optimizer, reg=reg) == pytest.approx(loss, rel=1e-6)
    gradient = model.embedding.weight.grad
    assert gradient.is_sparse
    np.testing.assert_allclose(gradient.to_dense().double().numpy(), grad, rtol=1e-5, atol=1e-7)
    # SparseAdam's first step from zero moments, m = (1 - b1) g, v = (1 - b2) g^2, bias-corrected:
    # -lr * g / (|g| + eps / sqrt(1 - b2)) on the rows of the batch, nothing elsewhere.
    touched = sorted({*u, *i, *j})
    after = model.embedding.weight.detach().double().numpy()
    step = 0.1 * grad[touched] / (np.abs(grad[touched]) + 1e-8 / np.sqrt(1 - 0.999))
    np.testing.assert_allclose(after[touched], e[touched] - step, rtol=1e-5, atol=1e-6)
    untouched = [row for row in range(10) if row not in touched]
    assert untouched and np.array_equal(after[untouched], e[untouched])
    # A second batch without user 0 and item 5 (rows 0 and 9): they keep their values.
    kept = after[[0, 9]].copy()
    train_step(model, None, torch.tensor([1]), torch.tensor([2]), torch.tensor([3]), optimizer, reg=reg)
    assert np.array_equal(model.embedding.weight.detach().double().numpy()[[0, 9]], kept)
