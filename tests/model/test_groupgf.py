"""graphrec.model.groupgf: Group-GF's operator against a dense numpy computation of the official code's formula
(the augmented matrices built explicitly, normalised, item block kept, element-wise power, filters, mix) on a
small graph; the served form (weights without their diagonal, with and without eigen-split vectors); ad hoc
groups; the spec's checks."""
import numpy as np
import pytest
import scipy.sparse as sp
import torch

from graphrec.model.groupgf import GroupGF, GroupGFSpec, filtered_rows, powered
from graphrec.model.kinds import KINDS, SpecError, make_spec
from tests.model.test_filters import random_graph
from tests.model.test_kinds import training_data


def normalised_gram(x: np.ndarray, num_items: int) -> np.ndarray:
    """The official normalisation D_r^-1/2 X D_c^-1/2 (zero degrees give 0), X~^T X~, its item block."""
    with np.errstate(divide="ignore"):
        rows, cols = x.sum(1) ** -0.5, x.sum(0) ** -0.5
    rows[~np.isfinite(rows)] = 0
    cols[~np.isfinite(cols)] = 0
    norm = rows[:, None] * x * cols[None, :]
    return (norm.T @ norm)[:num_items, :num_items]


def dense_filter(p: np.ndarray, order: int) -> np.ndarray:
    return {1: p, 2: 2 * p - p @ p, 3: p + 0.01 * (-p @ p @ p + 10 * p @ p - 29 * p)}[order]


def dense_groupgf(users: np.ndarray, groups: np.ndarray, membership: np.ndarray, alpha: float, beta: float,
                  power: float, orders: tuple[int, int, int]) -> np.ndarray:
    num_items = users.shape[1]
    views = [normalised_gram(np.hstack([users, membership.T]), num_items),
             normalised_gram(np.hstack([groups, membership]), num_items),
             normalised_gram(np.vstack([groups, users]), num_items)]
    return sum(w * dense_filter(v ** power, o) for w, v, o in zip((1 - alpha - beta, alpha, beta), views, orders))


def small_data(seed: int = 3):
    users = random_graph(30, 24, seed=seed)
    rng = np.random.default_rng(seed + 1)
    groups = (rng.random((7, 24)) < 0.25).astype(np.float32)
    groups[6] = 0  # an ad hoc group: no history of its own
    members = [(int(u), g) for g in range(7) for u in rng.choice(30, size=2 + g % 3, replace=False)]
    membership = np.zeros((7, 30), dtype=np.float32)
    for u, g in members:
        membership[g, u] = 1
    return training_data(users, sp.csr_matrix(groups), members), users.toarray(), groups, membership


@pytest.mark.parametrize("alpha, beta, power, orders", [(0.3, 0.3, 0.9, (1, 2, 3)), (0.2, 0.5, 0.7, (3, 1, 2)),
                                                        (0.0, 1.0, 1.0, (2, 2, 2))])
def test_operator_equals_the_dense_formula(alpha, beta, power, orders) -> None:
    _, users, groups, membership = small_data()
    model = GroupGF(alpha, beta, power, orders).fit(sp.csr_matrix(groups), sp.csr_matrix(users),
                                                    sp.csr_matrix(membership))
    expected = dense_groupgf(users, groups, membership, alpha, beta, power, orders)
    operator = model.item_rows(np.arange(24))  # every item's row of S (no split: A B^T = 0)
    np.testing.assert_allclose(operator, expected, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(operator, operator.T, atol=1e-6)
    np.testing.assert_allclose(model.scores(sp.csr_matrix(groups)), groups @ expected, rtol=1e-4, atol=1e-6)


def test_filters_by_hand() -> None:
    p = np.array([[0.5, 0.25, 0.0], [0.25, 0.5, 0.1], [0.0, 0.1, 0.3]])
    square = p @ p
    y = np.array([[1.0, 0.0, 2.0], [0.5, 1.0, 0.0]])
    sparse = sp.csr_matrix(p)
    np.testing.assert_allclose(filtered_rows(y, sparse, 1), y @ p)
    np.testing.assert_allclose(filtered_rows(y, sparse, 2), y @ (2 * p - square))
    np.testing.assert_allclose(filtered_rows(y, sparse, 3), y @ (p + 0.01 * (-square @ p + 10 * square - 29 * p)))
    np.testing.assert_allclose(powered(sparse, 0.5), p ** 0.5)  # zeros stay zero; dense: 7 of 9 entries stored
    thin = sp.csr_matrix(np.diag([0.5, 0.25, 0.0, 0.1, 0.3]))
    assert sp.issparse(powered(thin, 0.5)) and np.allclose(powered(thin, 0.5).toarray(), thin.toarray() ** 0.5)
    with pytest.raises(ValueError):
        filtered_rows(y, sparse, 4)


@pytest.mark.parametrize("split", [0, 5])
def test_kind_scores_groups_and_users_in_the_served_form(split: int) -> None:
    # neighbours = |I| - 1 keeps every weight but the diagonal (never stored; it only moves a source's own
    # items), so off the source's own items the served scores are r S exactly, with or without the split.
    data, users, groups, membership = small_data()
    spec = GroupGFSpec(neighbours=23, split=split)
    fitted = make_spec({"kind": "groupgf", "neighbours": 23, "split": split}, "test").fit(data, None, None,
                                                                                         progress=False)
    assert fitted.kind == "groupgf" and KINDS["groupgf"] is GroupGFSpec and spec.params()["split"] == split
    s = dense_groupgf(users, groups, membership, 0.3, 0.3, 0.9, (1, 2, 3))
    mean = membership / membership.sum(1, keepdims=True)
    rows = groups.copy()
    rows[6] = (mean @ users)[6]  # the ad hoc group: its members' mean row
    expected = rows @ s
    got = fitted.scorer("group")(torch.arange(7), None).numpy()
    off = rows == 0
    np.testing.assert_allclose(got[off], expected[off], rtol=1e-3, atol=1e-5)
    got_users = fitted.scorer("user")(torch.arange(30), None).numpy()
    np.testing.assert_allclose(got_users[users == 0], (users @ s)[users == 0], rtol=1e-3, atol=1e-5)
    # candidates given: the same scores gathered
    items = torch.tensor([[0, 5, 7]] * 7)
    np.testing.assert_allclose(fitted.scorer("group")(torch.arange(7), items).numpy(), got[:, [0, 5, 7]])
    stored = fitted.stored()
    assert stored.neighbours is not None and len(stored.neighbours[0]) == 24 * 23 - np.sum(stored.neighbours[2] == 0)
    if split:
        assert stored.fold_in == "sum" and stored.group_weight == 1.0
        assert stored.vectors["group"][0].tolist() == [500 + g for g in range(6)]  # groups with history only
        a = stored.fold[1]
        np.testing.assert_allclose(stored.vectors["group"][1], groups[:6] @ a, rtol=1e-4, atol=1e-6)
    else:
        assert stored.vectors == {} and stored.group_weight is None


def test_group_weight_mixes_members_and_truncation_keeps_the_largest() -> None:
    data, users, groups, membership = small_data()
    s = dense_groupgf(users, groups, membership, 0.3, 0.3, 0.9, (1, 2, 3))
    mean = membership / membership.sum(1, keepdims=True) @ users
    fitted = GroupGFSpec(neighbours=23, split=4, group_weight=0.25).fit(data, None, None, progress=False)
    rows = 0.25 * groups + 0.75 * mean
    rows[6] = mean[6]
    got = fitted.scorer("group")(torch.arange(7), None).numpy()
    own = (groups > 0) | (users.T @ membership.T).T.astype(bool)
    np.testing.assert_allclose(got[~own], (rows @ s)[~own], rtol=1e-3, atol=1e-5)
    assert fitted.stored().group_weight == 0.25
    few = GroupGFSpec(neighbours=3).fit(data, None, None, progress=False)
    assert few.weights.getnnz(axis=1).max() <= 3
    off_diagonal = s - np.diag(np.diag(s))
    row = few.weights[0].toarray().ravel()
    assert set(np.flatnonzero(row)) == set(np.argsort(-off_diagonal[0])[:3])


def test_spec_checks() -> None:
    for bad in ({"user_order": 4}, {"neighbours": 0}, {"split": -1}, {"group_weight": 1.5}, {"alpha": "x"},
                {"group_weight": 0.5}, {"unknown": 1}):
        with pytest.raises(SpecError):
            make_spec({"kind": "groupgf", **bad}, "test")
    assert make_spec({"kind": "groupgf", "group_weight": 0.5, "split": 8}, "test").group_weight == 0.5
