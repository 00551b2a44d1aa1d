"""graphrec.model.filters and graphrec.model.itemknn: each model against a dense numpy computation of its formula,
hand-computed answers on a tiny graph, the r S + (r A) B^T decomposition, top_neighbours and truncated_scores."""
import math

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from graphrec.model import LightGCN, normalized_adjacency
from graphrec.model.filters import BSPM, GFCF, ChebyCF, plateau_coefficients, spectral_embeddings
from graphrec.model.item_item import (binary_csr, neighbour_matrix, row_metrics, top_neighbours, top_of_sparse,
                                      truncated_scores)
from graphrec.model.itemknn import ItemKNN

# 3 users x 4 items, a chain: u0-{i0,i1}, u1-{i1,i2}, u2-{i2,i3}.
TINY = sp.csr_matrix(np.array([[1, 1, 0, 0], [0, 1, 1, 0], [0, 0, 1, 1]], dtype=np.float32))


def random_graph(num_users: int = 30, num_items: int = 24, density: float = 0.2, seed: int = 0) -> sp.csr_matrix:
    rng = np.random.default_rng(seed)
    dense = (rng.random((num_users, num_items)) < density).astype(np.float32)
    dense[np.arange(num_users), rng.integers(0, num_items, num_users)] = 1  # every user has an item
    dense[rng.integers(0, num_users, num_items), np.arange(num_items)] = 1  # every item has a user
    return sp.csr_matrix(dense)


def new_rows(num_items: int, seed: int = 1) -> sp.csr_matrix:
    """Interaction rows of users the model has never seen (fold-in), one of them empty."""
    rng = np.random.default_rng(seed)
    dense = (rng.random((5, num_items)) < 0.3).astype(np.float32)
    dense[0] = 0
    return sp.csr_matrix(dense)


def dense_parts(interactions: sp.csr_matrix, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """R~, P = R~^T R~, the item degrees and V_k, densely in float64."""
    r = interactions.toarray().astype(np.float64)
    du, di = r.sum(1), r.sum(0)
    norm = r / np.sqrt(du)[:, None] / np.sqrt(di)[None, :]
    _, _, vt = np.linalg.svd(norm)
    return norm, norm.T @ norm, di, vt[:k].T


def matrix_function(p: np.ndarray, function) -> np.ndarray:
    """f(P) for symmetric P, by its eigendecomposition (independent of the filters' recurrences)."""
    eigenvalues, q = np.linalg.eigh(p)
    return (q * function(eigenvalues)) @ q.T


def dense_gfcf(interactions: sp.csr_matrix, rows: np.ndarray, k: int, alpha: float) -> np.ndarray:
    _, p, di, v = dense_parts(interactions, k)
    return rows @ p + alpha * rows @ np.diag(di**-0.5) @ v @ v.T @ np.diag(di**0.5)


def dense_bspm(interactions: sp.csr_matrix, rows: np.ndarray, k: int, beta: float, time: float) -> np.ndarray:
    _, p, di, v = dense_parts(interactions, k)
    sharpen = matrix_function(p, lambda x: sum((-time * x) ** t / math.factorial(t) for t in range(5)))
    return (rows @ p + beta * rows @ np.diag(di**-0.5) @ v @ v.T @ np.diag(di**0.5)) @ sharpen


def reference_plateau(order: int, flatness: float) -> np.ndarray:
    """The official ChebyCF code's coefficient computation, in torch as it does it."""
    x = torch.arange(order + 1)
    x = torch.cos((order - x) / order * math.pi).round(decimals=3)
    target = torch.zeros_like(x)
    target[x < 0] = (-x[x < 0]).pow(flatness) * 0.5 + 0.5
    target[x >= 0] = (x[x >= 0]).pow(flatness) * (-0.5) + 0.5
    target = target.round(decimals=3)
    nodes = torch.cos(((order + 1) + 0.5 - torch.arange(1, order + 2)) / (order + 1) * math.pi)
    bases = [target, nodes * target]
    for _ in range(2, order + 1):
        bases.append(nodes * bases[-1] * 2 - bases[-2])
    coefficients = torch.stack(bases).sum(dim=1) * (2 / (order + 1))
    coefficients[0] /= 2
    return coefficients.double().numpy()


def dense_chebycf(interactions: sp.csr_matrix, rows: np.ndarray, order: int, flatness: float, k: int,
                  alpha: float, beta: float) -> np.ndarray:
    _, p, di, v = dense_parts(interactions, k)
    coefficients = reference_plateau(order, flatness)
    g = matrix_function(p, lambda x: np.polynomial.chebyshev.chebval(1 - 2 * x, coefficients))
    return rows @ np.diag(di**-beta) @ (g + alpha * v @ v.T) @ np.diag(di**beta)


def dense_similarity(interactions: sp.csr_matrix, shrink: float, asymmetry: float) -> np.ndarray:
    """Item-kNN's similarity before truncation, the diagonal set to 0."""
    r = interactions.toarray().astype(np.float64)
    d = r.sum(0)
    sim = (r.T @ r) / (np.outer(d**asymmetry, d ** (1 - asymmetry)) + shrink)
    np.fill_diagonal(sim, 0)
    return sim


MODELS = [
    (lambda: GFCF(k=5, ideal_weight=0.3), lambda g, x: dense_gfcf(g, x, 5, 0.3)),
    (lambda: BSPM(k=6, ideal_weight=0.2, sharpen_time=2.5), lambda g, x: dense_bspm(g, x, 6, 0.2, 2.5)),
    (lambda: ChebyCF(order=8, flatness=1.5, k=7, ideal_weight=0.2, power=0.4),
     lambda g, x: dense_chebycf(g, x, 8, 1.5, 7, 0.2, 0.4)),
    (lambda: ChebyCF(order=5, flatness=2.0, k=4, ideal_weight=0.1, power=0.0),
     lambda g, x: dense_chebycf(g, x, 5, 2.0, 4, 0.1, 0.0)),
]


@pytest.mark.parametrize("make, dense", MODELS)
@pytest.mark.parametrize("split", [0, 3])
def test_filter_equals_dense_formula(make, dense, split: int) -> None:
    graph = random_graph()
    model = make()
    model.split = split
    model.fit(graph)
    for rows in (graph, new_rows(graph.shape[1])):
        np.testing.assert_allclose(model.scores(rows), dense(graph, rows.toarray()), atol=2e-5, rtol=1e-4)


@pytest.mark.parametrize("make, dense", MODELS)
@pytest.mark.parametrize("split", [0, 4])
def test_decomposition(make, dense, split: int) -> None:
    """scores(X) = X S + (X A) B^T, with S's rows from item_rows."""
    graph = random_graph(seed=3)
    model = make()
    model.split = split
    model.fit(graph)
    s = model.item_rows(np.arange(graph.shape[1]))
    a, b = model.factors()
    merged = isinstance(model, ChebyCF) and split == model.k  # one V_k for the ideal part and the split
    assert a.shape == b.shape == (graph.shape[1], model.k if merged else model.k + split)
    assert a.dtype == b.dtype == s.dtype == np.float32
    rows = new_rows(graph.shape[1], seed=5)
    x = rows.toarray()
    np.testing.assert_allclose(model.scores(rows), x @ s + (x @ a) @ b.T, atol=2e-5, rtol=1e-4)
    np.testing.assert_allclose(model.item_rows([4, 1]), s[[4, 1]], atol=1e-6)


@pytest.mark.parametrize("make, dense", MODELS[:2])
def test_randomized_svd(make, dense) -> None:
    """The randomized solver is exact when its sketch spans the whole space (a small graph)."""
    graph = random_graph(seed=2)
    model = make()
    model.svd = "randomized"
    model.fit(graph)
    rows = new_rows(graph.shape[1])
    np.testing.assert_allclose(model.scores(rows), dense(graph, rows.toarray()), atol=2e-5, rtol=1e-4)
    with pytest.raises(ValueError, match="unknown SVD solver"):
        GFCF(svd="lapack")


def test_chebycf_low_rank_alone_equals_its_top_components() -> None:
    """ChebyCF with split = k: one set of k columns, and (X A) B^T = X D^-b V_k (alpha + h(S_k^2)) V_k^T D^b,
    the filter's top k spectral components (what `neighbours = 0` serves)."""
    graph = random_graph(seed=13)
    model = ChebyCF(order=6, flatness=1.5, k=5, ideal_weight=0.2, power=0.4, split=5).fit(graph)
    a, b = model.factors()
    assert a.shape == b.shape == (graph.shape[1], 5)
    norm, p, di, v = dense_parts(graph, 5)
    coefficients = reference_plateau(6, 1.5)
    gain = np.polynomial.chebyshev.chebval(1 - 2 * np.linalg.svd(norm, compute_uv=False)[:5] ** 2, coefficients)
    x = new_rows(graph.shape[1], seed=14).toarray()
    expected = x @ np.diag(di**-0.4) @ v @ np.diag(0.2 + gain) @ v.T @ np.diag(di**0.4)
    np.testing.assert_allclose((x @ a) @ b.T, expected, atol=1e-5)


def test_split_moves_top_components_out_of_s() -> None:
    """With split = m, S's top-m eigencomponents are gone: S V_m = 0 (GF-CF's S = P, beta = 0)."""
    graph = random_graph(seed=4)
    model = GFCF(k=5, split=3).fit(graph)
    _, p, _, v = dense_parts(graph, 3)
    s = model.item_rows(np.arange(graph.shape[1]))
    np.testing.assert_allclose(s @ v, 0, atol=1e-5)
    np.testing.assert_allclose(s, p - v @ v.T @ p, atol=1e-5)


def test_gfcf_tiny_graph_by_hand() -> None:
    # Degrees: users 2, 2, 2; items 1, 2, 2, 1. R~[u, i] = 1 / sqrt(2 d_i): u0 (1/sqrt2, 1/2, 0, 0),
    # u1 (0, 1/2, 1/2, 0), u2 (0, 0, 1/2, 1/sqrt2). P = R~^T R~ has diagonal 1/2 and P01 = P23 = 1/(2 sqrt2),
    # P12 = 1/4, zeros elsewhere. u0 = (1, 1, 0, 0): r P = (1/2 + 1/(2 sqrt2), 1/(2 sqrt2) + 1/2, 1/4, 0).
    # The top singular vector of R~ (sigma = 1) is v = D_I^{1/2} 1 / sqrt(6) = (1, sqrt2, sqrt2, 1) / sqrt6, so
    # r D^{-1/2} v = (1 + 1) / sqrt6 and v^T D^{1/2} = (1, 2, 2, 1) / sqrt6: the ideal part of u0 is
    # (1, 2, 2, 1) / 3, times alpha = 0.3: (0.1, 0.2, 0.2, 0.1). A new user with only i3, r = (0, 0, 0, 1):
    # r P = (0, 0, 1/(2 sqrt2), 1/2); ideal (1/sqrt6) (1, 2, 2, 1) / sqrt6 = (1, 2, 2, 1) / 6, times 0.3.
    c = 1 / (2 * math.sqrt(2))
    model = GFCF(k=1, ideal_weight=0.3).fit(TINY)
    np.testing.assert_allclose(model.singular_values, [1.0], atol=1e-6)
    rows = sp.csr_matrix(np.array([[1, 1, 0, 0], [0, 0, 0, 1]], dtype=np.float32))
    expected = np.array([[0.5 + c + 0.1, c + 0.5 + 0.2, 0.25 + 0.2, 0.1],
                         [0.05, 0.1, c + 0.1, 0.5 + 0.05]])
    np.testing.assert_allclose(model.scores(rows), expected, atol=1e-6)
    # Linear filter alone (k = 0): u0's only unseen items rank i2 (1/4) above i3 (0).
    np.testing.assert_allclose(GFCF(k=0).fit(TINY).scores(rows[:1]), [[0.5 + c, c + 0.5, 0.25, 0]], atol=1e-6)


def test_bspm_tiny_graph_by_hand() -> None:
    # k = 0, T = 1: s = r P p4(-P) = r (P - P^2 + P^3/2 - P^4/6 + P^5/24). For the new user r = e0:
    # e0 P = (1/2, c, 0, 0) with c = 1/(2 sqrt2); e0 P^2 = (1/2 * 1/2 + c * c, 1/2 * c + c * 1/2, c/4, 0)
    # = (3/8, c, c/4, 0). Check the first two terms' difference by hand, the rest against the powers of P.
    model = BSPM(k=0, sharpen_time=1.0).fit(TINY)
    c = 1 / (2 * math.sqrt(2))
    p = np.array([[0.5, c, 0, 0], [c, 0.5, 0.25, 0], [0, 0.25, 0.5, c], [0, 0, c, 0.5]])
    np.testing.assert_allclose(p[0] @ p, [3 / 8, c, c / 4, 0], atol=1e-12)
    powers = [np.linalg.matrix_power(p, t) for t in range(1, 6)]
    expected = powers[0] - powers[1] + powers[2] / 2 - powers[3] / 6 + powers[4] / 24
    np.testing.assert_allclose(model.item_rows([0, 1, 2, 3]), expected, atol=1e-6)
    np.testing.assert_allclose(model.response(np.array([0.0, 1.0])), [0, 1 - 1 + 0.5 - 1 / 6 + 1 / 24])


def test_plateau_coefficients_match_the_official_computation() -> None:
    for order, flatness in [(8, 1.5), (4, 1.0), (10, 3.0), (1, 2.0)]:
        np.testing.assert_allclose(plateau_coefficients(order, flatness), reference_plateau(order, flatness),
                                   atol=1e-6)
    # The interpolant is low-pass: ~1 at lambda = 1 (L~ = -1), ~0 at lambda = 0 (L~ = 1).
    response = ChebyCF().response(np.array([0.0, 0.5, 1.0]))
    assert response[0] < 0.05 and abs(response[1] - 0.5) < 0.05 and response[2] > 0.95


@pytest.mark.parametrize("make", [m for m, _ in MODELS] + [lambda: ItemKNN(neighbours=10)])
def test_top_neighbours_and_truncated_scores(make) -> None:
    graph = random_graph(seed=6)
    num_items = graph.shape[1]
    model = make().fit(graph)
    s = model.item_rows(np.arange(num_items))
    a, b = model.factors()
    indices, weights = top_neighbours(model, 5, block_size=7)
    assert indices.shape == weights.shape == (num_items, 5)
    assert indices.dtype == np.int32 and weights.dtype == np.float32
    for j in range(num_items):
        others = np.delete(s[j], j)
        assert j not in indices[j]
        np.testing.assert_allclose(weights[j], np.sort(others)[::-1][:5], atol=1e-6)
        np.testing.assert_allclose(s[j, indices[j]], weights[j], atol=1e-6)
    rows = new_rows(num_items, seed=7)
    x = rows.toarray()
    kept = np.zeros_like(s)
    np.put_along_axis(kept, indices.astype(np.int64), weights, axis=1)
    np.testing.assert_allclose(truncated_scores(rows, (indices, weights), a, b), x @ kept + (x @ a) @ b.T,
                               atol=1e-5)
    # All neighbours kept: the served form is exact off the user's own items (the diagonal is never kept).
    full = top_neighbours(model, num_items - 1)
    served, exact = truncated_scores(rows, full, a, b), model.scores(rows)
    np.testing.assert_allclose(np.where(x > 0, 0, served), np.where(x > 0, 0, exact), atol=1e-5)


def test_itemknn_equals_dense_formula() -> None:
    graph = random_graph(seed=8)
    for n, shrink, asymmetry in [(5, 0.0, 0.5), (3, 2.0, 0.5), (8, 1.0, 0.2), (50, 0.0, 0.5)]:
        model = ItemKNN(neighbours=n, shrink=shrink, asymmetry=asymmetry, block_size=5).fit(graph)
        sim = dense_similarity(graph, shrink, asymmetry)
        kept = model.similarity.toarray()
        # Each row keeps n entries of the similarity, the n largest (which of equal ones is not specified).
        mask = kept > 0
        np.testing.assert_allclose(kept[mask], sim[mask], atol=1e-6)
        assert np.all(np.diag(kept) == 0)
        np.testing.assert_allclose(np.sort(kept, axis=1)[:, ::-1][:, :n], np.sort(sim, axis=1)[:, ::-1][:, :n],
                                   atol=1e-6)
        assert np.all(mask.sum(1) <= n)
        rows = new_rows(graph.shape[1], seed=9)
        np.testing.assert_allclose(model.scores(rows), rows.toarray() @ kept, atol=1e-5)
        a, b = model.factors()
        assert a.shape == b.shape == (graph.shape[1], 0)


def test_itemknn_tiny_graph_by_hand() -> None:
    # Co-occurrence: c01 = c12 = c23 = 1; degrees 1, 2, 2, 1. Cosine: sim(0,1) = 1/sqrt(1*2), sim(1,2) =
    # 1/sqrt(2*2) = 1/2, sim(2,3) = 1/sqrt2, all others 0. One neighbour each: 0->1, 1->0, 2->3, 3->2, so u0 =
    # {i0, i1} gets nothing new; two neighbours: 1 -> {0, 2}, and u0 scores i2 with 1/2.
    h = 1 / math.sqrt(2)
    one = ItemKNN(neighbours=1).fit(TINY)
    np.testing.assert_allclose(one.similarity.toarray(),
                               [[0, h, 0, 0], [h, 0, 0, 0], [0, 0, 0, h], [0, 0, h, 0]], atol=1e-7)
    np.testing.assert_allclose(one.scores(TINY[:1]), [[h, h, 0, 0]], atol=1e-7)
    np.testing.assert_allclose(ItemKNN(neighbours=2).fit(TINY).scores(TINY[:1]), [[h, h, 0.5, 0]], atol=1e-7)
    # Shrinkage h = 1: sim(0,1) = 1/(sqrt2 + 1).
    assert ItemKNN(neighbours=1, shrink=1.0).fit(TINY).similarity[0, 1] == pytest.approx(1 / (math.sqrt(2) + 1))


def test_rows_are_binarised_and_checked() -> None:
    model = GFCF(k=2).fit(random_graph(seed=10) * 3.0)  # weights count as interactions
    ones = GFCF(k=2).fit(random_graph(seed=10))
    rows = new_rows(24, seed=11)
    np.testing.assert_allclose(model.scores(rows * 5.0), ones.scores(rows), atol=1e-6)
    assert binary_csr(sp.csr_matrix(np.array([[0, 2.0, 0]]))).toarray().tolist() == [[0, 1, 0]]
    with pytest.raises(ValueError, match="columns"):
        model.scores(sp.csr_matrix((1, 23)))
    with pytest.raises(ValueError, match="n must be"):
        top_neighbours(model, 24)


def test_unseen_items_and_users_score_zero() -> None:
    graph = random_graph(seed=12).tolil()
    graph[:, 3] = 0  # item 3 has no train interaction
    model = GFCF(k=3).fit(graph.tocsr())
    s = model.item_rows(np.arange(24))
    assert np.all(s[3] == 0) and np.all(s[:, 3] == 0)
    assert np.all(model.scores(sp.csr_matrix((2, 24))) == 0)


def test_neighbour_matrix_and_row_metrics() -> None:
    indices = np.array([[1, 2], [0, 2], [1, 0]], dtype=np.int32)
    weights = np.array([[0.5, 0.25], [1.0, 0.0], [2.0, 3.0]], dtype=np.float32)
    np.testing.assert_array_equal(neighbour_matrix(indices, weights).toarray(),
                                  [[0, 0.5, 0.25], [1.0, 0, 0], [3.0, 2.0, 0]])
    # Users 0 and 1 score items by id (higher id better); train items excluded. User 0 (train {2}) ranks 1
    # first: test {1} is hit at rank 1. User 1 (train {}) ranks 2, 1, 0: test {0} at rank 3, outside K = 2.
    train = sp.csr_matrix(np.array([[0, 0, 1], [0, 0, 0]], dtype=np.float32))
    test = sp.csr_matrix(np.array([[0, 1, 0], [1, 0, 0]], dtype=np.float32))
    metrics = row_metrics(lambda rows: np.tile(np.arange(3, dtype=np.float32), (rows.shape[0], 1)), train, test,
                          ks=(2,))
    assert metrics["recall@2"] == pytest.approx(0.5)
    assert metrics["ndcg@2"] == pytest.approx(0.5)


def test_spectral_embeddings_are_eigenvectors_of_the_adjacency() -> None:
    """Â X0 = X0 Sigma^{1/2}-scaled columns times sigma: each column is an eigenvector of the LightGCN adjacency,
    so an untrained LightGCN's scores are U f(Sigma)^2 Sigma^{2p} V^T."""
    graph = random_graph(seed=13).tocoo()
    users, items = torch.from_numpy(graph.row.astype(np.int64)), torch.from_numpy(graph.col.astype(np.int64))
    x = spectral_embeddings(30, 24, users, items, embedding_dim=4, power=0.0, std=0.1)
    assert x.shape == (54, 4)
    assert x.pow(2).mean().sqrt().item() == pytest.approx(0.1, rel=1e-5)
    sigma = np.linalg.svd(dense_parts(graph.tocsr(), 4)[0], compute_uv=False)[:4]
    adj = normalized_adjacency(30, 24, users, items)
    torch.testing.assert_close(torch.sparse.mm(adj, x), x * torch.from_numpy(sigma).float(), atol=1e-5, rtol=1e-4)
    model = LightGCN(30, 24, embedding_dim=4, num_layers=3)
    model.embedding.weight.data.copy_(x)
    user_emb, item_emb = model.user_item_embeddings(adj)
    f = (1 + sigma + sigma**2 + sigma**3) / 4
    np.testing.assert_allclose((user_emb @ item_emb.T).detach().numpy(),
                               (x[:30].numpy() * f**2) @ x[30:].numpy().T, atol=1e-5)


def test_top_of_sparse_by_hand_and_against_dense() -> None:
    # Row 0 is item 2: 0.9 at its own column is left out; equal weights (0.5 at 0 and at 4) go by column.
    block = sp.csr_matrix(np.array([[0.5, 0, 0.9, 0, 0.5, 0.2, 0], [0, 0, 0, 0.0, 0, 0, 0.3]]))
    indices, weights = top_of_sparse(block, np.array([2, 0]), 3)
    assert indices.tolist() == [[0, 4, 5], [6, 1, 2]]  # row 1: one entry, then its lowest zero columns, not 0
    np.testing.assert_allclose(weights, [[0.5, 0.5, 0.2], [0.3, 0, 0]])
    rng = np.random.default_rng(3)
    dense = rng.random((40, 60)) * (rng.random((40, 60)) < 0.1)
    items = rng.choice(60, 40, replace=False)
    for n in (1, 4, 12, 59):
        indices, weights = top_of_sparse(sp.csr_matrix(dense), items, n)
        for r, item in enumerate(items):
            others = np.delete(dense[r], item)
            np.testing.assert_allclose(weights[r], np.sort(others)[::-1][:n], atol=1e-7)
            assert item not in indices[r] and len(set(indices[r])) == n
            np.testing.assert_allclose(dense[r, indices[r]], weights[r], atol=1e-7)
