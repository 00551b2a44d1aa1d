"""graphrec.model.kinds: the graph filter's group side with `group_weight` (a group scored from its own and its
members' train rows), against a dense numpy computation of its formula on a small graph and by hand on a tiny
one; the spec's checks."""
import dataclasses
import math

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from graphrec.model.base import TrainingData
from graphrec.model.kinds import FilterSpec, SpecError, make_spec
from tests.model.test_filters import TINY, dense_gfcf, random_graph


def training_data(users: sp.csr_matrix, groups: sp.csr_matrix, memberships: list[tuple[int, int]]) -> TrainingData:
    def edges(matrix: sp.csr_matrix) -> torch.Tensor:
        return torch.from_numpy(np.vstack(matrix.nonzero()).astype(np.int64))

    num_users, num_items = users.shape
    num_groups = groups.shape[0]
    empty = torch.zeros(2, 0, dtype=torch.long)
    return TrainingData(num_users=num_users, num_items=num_items, num_groups=num_groups,
                        user_ids=np.arange(num_users) + 100, item_ids=np.arange(num_items) + 1000,
                        group_ids=np.arange(num_groups) + 500, user_train=edges(users), group_train=edges(groups),
                        user_valid=empty, group_valid=empty, memberships=torch.tensor(memberships).T)


def group_scores(spec: FilterSpec, data: TrainingData) -> np.ndarray:
    fitted = spec.fit(data, None, None, progress=False)
    return fitted.scorer("group")(torch.arange(data.num_groups), None).numpy()


def test_group_filter_equals_dense_formula() -> None:
    # x_g = a r_g + (1 - a) mean of the members' rows, scored by GF-CF fitted on the user-item graph, as served:
    # every item's weights but its own (the diagonal of P is never stored) plus the ideal low-pass part.
    users = random_graph(30, 24, seed=4)
    rng = np.random.default_rng(5)
    dense = (rng.random((6, 24)) < 0.2).astype(np.float32)
    dense[5] = 0  # an ad hoc group: no history of its own
    groups = sp.csr_matrix(dense)
    members = [(u, g) for g in range(6) for u in rng.choice(30, size=2 + g % 3, replace=False)]
    data = training_data(users, groups, members)
    a = 0.3
    mean = np.zeros((6, 30))
    for u, g in members:
        mean[g, u] = 1.0
    mean /= mean.sum(1, keepdims=True)
    rows = a * groups.toarray() + (1 - a) * mean @ users.toarray()
    full = dense_gfcf(users, rows, 5, 0.3)
    diagonal = dense_gfcf(users, np.eye(24), 0, 0.0).diagonal()
    expected = full - rows * diagonal
    spec = FilterSpec(filter="gfcf", graph="users", k=5, neighbours=23, group_weight=a)
    np.testing.assert_allclose(group_scores(spec, data), expected, rtol=1e-4, atol=1e-5)
    # the ad hoc group ranks like its members' average; a = 1 is the group's own history alone
    users_only = FilterSpec(filter="gfcf", graph="users", k=5, neighbours=23).fit(data, None, None, progress=False)
    own = users_only.scorer("group")(torch.arange(6), None).numpy()
    own_only = FilterSpec(filter="gfcf", graph="users", k=5, neighbours=23, group_weight=1.0)
    np.testing.assert_allclose(group_scores(own_only, data), own, rtol=1e-5, atol=1e-6)
    average = users_only.scorer("user")(torch.arange(30), None).numpy()
    np.testing.assert_allclose(group_scores(spec, data)[5], (1 - a) * (mean @ average)[5], rtol=1e-4, atol=1e-6)


def test_group_filter_tiny_graph_by_hand() -> None:
    # TINY (users u0 {i0, i1}, u1 {i1, i2}, u2 {i2, i3}); group 0 = {u0, u1} with its own item i3, a = 1/2:
    # x = (e3 + (0.5, 1, 0.5, 0)) / 2 = (0.25, 0.5, 0.25, 0.5). Served weights are P without its diagonal:
    # P01 = P23 = c = 1/(2 sqrt2), P12 = 1/4 (tests/model/test_filters.py, GF-CF by hand), so x S =
    # (0.5 c, 0.25 c + 1/16, 1/8 + 0.5 c, 0.25 c). The ideal part (k = 1, alpha = 0.3) of a row r is
    # 0.3 (sum_j r_j) (1, 2, 2, 1) / 6: sum x = 1.5 gives (0.075, 0.15, 0.15, 0.075).
    c = 1 / (2 * math.sqrt(2))
    data = training_data(TINY, sp.csr_matrix(np.array([[0, 0, 0, 1]], dtype=np.float32)), [(0, 0), (1, 0)])
    spec = FilterSpec(filter="gfcf", graph="users", k=1, ideal_weight=0.3, neighbours=3, group_weight=0.5)
    expected = [[0.5 * c + 0.075, 0.25 * c + 0.0625 + 0.15, 0.125 + 0.5 * c + 0.15, 0.25 * c + 0.075]]
    np.testing.assert_allclose(group_scores(spec, data), expected, atol=1e-6)
    stored = spec.fit(data, None, None, progress=False).stored()
    assert stored.group_weight == 0.5 and stored.vectors["group"][0].tolist() == [500]


def test_the_auto_graph_stacks_the_groups_rows_under_the_users() -> None:
    # graph = "auto" with group train interactions: the filter is GF-CF of the unified (users + groups) x items
    # matrix; users and groups are still scored from their own rows. "groups": the group-item matrix alone.
    users = random_graph(30, 24, seed=4)
    dense = (np.random.default_rng(6).random((8, 24)) < 0.25).astype(np.float32)
    dense[np.arange(24) % 8, np.arange(24)] = 1  # every item has a group, so that "groups" has no empty column
    groups = sp.csr_matrix(dense)
    data = training_data(users, groups, [(g, g) for g in range(8)])
    for graph, matrix, k in (("auto", sp.vstack([users, groups]).tocsr(), 5), ("groups", groups, 2)):
        fitted = FilterSpec(filter="gfcf", graph=graph, k=k, neighbours=23).fit(data, None, None, progress=False)
        diagonal = dense_gfcf(matrix, np.eye(24), 0, 0.0).diagonal()
        for side, rows in (("user", users.toarray()), ("group", groups.toarray())):
            expected = dense_gfcf(matrix, rows, k, 0.3) - rows * diagonal
            found = fitted.scorer(side)(torch.arange(rows.shape[0]), None).numpy()
            np.testing.assert_allclose(found, expected, rtol=1e-4, atol=1e-5, err_msg=f"{graph} {side}")
    no_groups = dataclasses.replace(training_data(users, sp.csr_matrix((0, 24), dtype=np.float32), [(0, 0)]),
                                    memberships=torch.zeros((2, 0), dtype=torch.long))
    auto = FilterSpec(filter="gfcf", k=5, neighbours=23).fit(no_groups, None, None, progress=False)
    alone = FilterSpec(filter="gfcf", graph="users", k=5, neighbours=23).fit(no_groups, None, None, progress=False)
    np.testing.assert_array_equal(auto.scorer("user")(torch.arange(30), None).numpy(),
                                  alone.scorer("user")(torch.arange(30), None).numpy())
    with pytest.raises(SpecError, match="graph = 'groups' needs group train interactions"):
        FilterSpec(filter="gfcf", graph="groups", k=5).fit(no_groups, None, None, progress=False)
    with pytest.raises(ValueError, match="graph must be one of"):
        FilterSpec(graph="unified")


def test_the_whole_filter_as_weights_scores_unseen_items_as_the_vectors_do_and_truncates_by_hand() -> None:
    users = random_graph(30, 24, seed=4)
    data = training_data(users, sp.csr_matrix((1, 24), dtype=np.float32), [(0, 0)])
    exact = FilterSpec(filter="gfcf", k=5, neighbours=23).fit(data, None, None, progress=False)
    whole = FilterSpec(filter="gfcf", k=5, neighbours=23, low_rank="weights").fit(data, None, None, progress=False)
    unseen = users.toarray() == 0
    scores = [model.scorer("user")(torch.arange(30), None).numpy() for model in (exact, whole)]
    np.testing.assert_allclose(scores[1][unseen], scores[0][unseen], rtol=1e-4, atol=1e-5)
    stored = whole.stored()
    assert stored.vectors == {} and stored.fold_in is None and len(stored.neighbours[0]) == 24 * 23
    # TINY by hand (GF-CF, k = 1, alpha = 0.3): item 0's row is P01 = c = 1/(2 sqrt2) off the diagonal plus the
    # ideal part 0.3 (1, 2, 2, 1) / 6 = (0.05, 0.1, 0.1, 0.05): items 1, 2, 3 weigh c + 0.1, 0.1, 0.05.
    tiny = training_data(TINY, sp.csr_matrix((1, 4), dtype=np.float32), [(0, 0)])
    one = FilterSpec(filter="gfcf", k=1, ideal_weight=0.3, neighbours=1, low_rank="weights")
    source, target, weight = one.fit(tiny, None, None, progress=False).stored().neighbours
    first = source == 1000
    assert target[first].tolist() == [1001]
    assert weight[first][0] == pytest.approx(1 / (2 * math.sqrt(2)) + 0.1, abs=1e-6)


@pytest.mark.parametrize("table, message", [
    ({"kind": "filter", "group_weight": 1.5}, r"group_weight must be a number in \[0, 1\]"),
    ({"kind": "filter", "low_rank": "edges"}, r"low_rank must be 'vectors' or 'weights', not 'edges'"),
    ({"kind": "filter", "group_weight": 0.5, "low_rank": "weights"}, r"group_weight needs the low-rank part"),
    ({"kind": "filter", "group_weight": True}, r"group_weight must be a number in \[0, 1\]"),
    ({"kind": "filter", "filter": "gfcf", "k": 0, "group_weight": 0.5}, "group_weight needs the low-rank part"),
])
def test_group_weight_is_checked(table: dict, message: str) -> None:
    with pytest.raises(SpecError, match=message):
        make_spec(table, "groups-filter.toml")


def test_a_user_without_train_interactions_has_no_vector_and_an_empty_row_in_the_members_mean() -> None:
    # Users 0-2 have train rows, user 3 none. Group 0 = {0, 3}: its members' mean counts user 3's empty row
    # (Cypher's combined divides the scored members' sum by every member), x_0 = a r_g + (1 - a) r_0 / 2.
    users = sp.csr_matrix(np.array([[1, 1, 0, 0, 0], [0, 1, 1, 0, 0], [0, 0, 1, 1, 0], [0, 0, 0, 0, 0]],
                                   dtype=np.float32))
    groups = sp.csr_matrix(np.array([[0, 0, 0, 0, 1], [0, 0, 0, 1, 0]], dtype=np.float32))
    data = training_data(users, groups, [(0, 0), (3, 0), (1, 1), (2, 1)])
    a = 0.4
    spec = FilterSpec(filter="gfcf", graph="users", k=2, neighbours=4, group_weight=a)
    fitted = spec.fit(data, None, None, progress=False)
    np.testing.assert_array_equal(fitted.unscorable_users(), [False, False, False, True])
    dense = users.toarray()
    rows = a * groups.toarray() + (1 - a) * np.stack([dense[0] / 2, (dense[1] + dense[2]) / 2])
    np.testing.assert_allclose(fitted.rows["group"].toarray(), rows, rtol=1e-6)
    stored = fitted.stored()
    assert stored.vectors["user"][0].tolist() == [100, 101, 102]  # no vector for user 103
    assert stored.vectors["user"][1].shape == (3, 2)
