"""graphrec.model.group_select: the validation split (what is held out, from groups and from members), the exact
expected sampled NDCG against its binomial formula and a simulation, the spec's checks, and the choice on the
generated pair: a hidden group taste (the group's own rows carry the signal, members' rows none) and least-misery
groups, each judged on its test lines."""
import numpy as np
import pytest
import scipy.sparse as sp
import torch
from scipy.stats import binom

from graphrec.model.group_select import KS, NEGATIVES, PUBLISHED, GroupGFRows, GroupSelectSpec, carve, case_gains
from graphrec.model.groupgf import GroupGF
from graphrec.model.kinds import SpecError, make_spec, member_mean_rows
from graphrec.synthetic import GroupBenchmark, hidden_group_taste, least_misery_groups
from tests.model.test_kinds import training_data


def benchmark_data(data: GroupBenchmark):
    n_users = 1 + max([u for u, _ in data.user_train] + [u for m in data.members.values() for u in m])
    n_items = 1 + max(i for _, i in data.user_train + data.group_train + data.group_test + data.user_test)
    users = sp.csr_matrix((np.ones(len(data.user_train)), tuple(np.array(data.user_train).T)),
                          shape=(n_users, n_items))
    groups = sp.csr_matrix((np.ones(len(data.group_train)), tuple(np.array(data.group_train).T)),
                           shape=(len(data.members), n_items))
    return training_data(users, groups, [(u, g) for g, m in data.members.items() for u in m])


def test_the_split_holds_out_a_fifth_of_each_group_and_takes_it_out_of_its_members_rows() -> None:
    data = benchmark_data(least_misery_groups(n_groups=30, per_group=8, seed=4))
    split = carve(data, holdout=5, fraction=0.2, seed=1, max_groups=2000)
    groups, kept = data.group_matrix(), split.train.group_matrix()
    held = sp.csr_matrix((np.ones(len(split.cases)), (split.groups[split.cases[:, 0]], split.cases[:, 1])),
                         shape=groups.shape)
    np.testing.assert_array_equal((kept + held).toarray(), groups.toarray())  # a partition of the group rows
    assert np.all(np.bincount(split.groups[split.cases[:, 0]], minlength=30) == 2)  # round(0.2 * 8)
    users, kept_users = data.user_matrix().toarray(), split.train.user_matrix().toarray()
    members = data.memberships.numpy()
    for g, i in zip(split.groups[split.cases[:, 0]], split.cases[:, 1]):
        assert not kept_users[members[0][members[1] == g], i].any()
    assert 0 < (users - kept_users).sum() <= 2 * len(split.cases)  # nothing else is taken out
    again = carve(data, holdout=5, fraction=0.2, seed=1, max_groups=2000)
    np.testing.assert_array_equal(again.cases, split.cases)
    # one item always stays; at most max_groups groups; groups of one item are never validated
    small = carve(data, holdout=50, fraction=0.99, seed=1, max_groups=7)
    assert small.groups.size == 7 and np.all(np.diff(small.train.group_matrix().indptr)[small.groups] == 1)


def test_case_gains_are_the_binomial_expectation_and_match_a_simulation() -> None:
    rng = np.random.default_rng(0)
    scores = rng.standard_normal((3, 400)).astype(np.float32)
    scores[1, 7] = scores[1, 9]  # a tie with the held-out item counts against it
    known = sp.csr_matrix((np.ones(2), ([2, 2], [0, 1])), shape=(3, 400))
    scores[2, :2] = 99  # known items rank below everything, whatever their score
    cases = np.array([[0, 5], [1, 9], [2, 3]])
    found = case_gains(scores, cases, known)
    for (row, item), value in zip(cases, found):
        others = np.delete(np.arange(400), [item] + ([0, 1] if row == 2 else []))
        beaten = int((scores[row, others] >= scores[row, item]).sum())
        p = beaten / 399
        expected = np.mean([sum(binom.pmf(j, NEGATIVES, p) / np.log2(j + 2) for j in range(k)) for k in KS])
        assert value == pytest.approx(expected, rel=1e-9)
        draws = rng.random((20_000, NEGATIVES)) < p  # each drawn negative beats the item with probability p
        ranks = draws.sum(1)
        simulated = np.mean([np.where(ranks < k, 1 / np.log2(ranks + 2), 0).mean() for k in KS])
        assert value == pytest.approx(simulated, abs=0.01)
    top = scores[0].copy()
    top[5] = 100
    assert case_gains(top[None, :], np.array([[0, 5]]), sp.csr_matrix((1, 400)))[0] == pytest.approx(1.0)


def test_the_spec_checks_its_tables() -> None:
    spec = make_spec({"kind": "group"}, "test")
    assert isinstance(spec, GroupSelectSpec) and spec.params()["kind"] == "group"
    for bad in ({"fraction": 1.5}, {"holdout": 0}, {"groupgf": {"alpha": 0.3}}, {"filter": {"filter": "nope"}},
                {"filter": {"k": 0, "group_weight": 0.5}}, {"groupgf": {"split": 0}}):
        with pytest.raises(SpecError):
            make_spec({"kind": "group", **bad}, "test")


def group_ndcg(fitted, data: GroupBenchmark, num_groups: int) -> float:
    """NDCG@10 of the test lines against their stored negatives, ties pessimistic."""
    scores = fitted.scorer("group")(torch.arange(num_groups), None).numpy()
    found = []
    for (group, item), negatives in zip(data.group_test, data.group_negatives):
        candidates = scores[group, [item, *negatives]]
        rank = int((candidates[1:] >= candidates[0]).sum())
        found.append(1 / np.log2(rank + 2) if rank < 10 else 0.0)
    return float(np.mean(found))


@pytest.mark.parametrize("name, benchmark", [
    ("hidden", lambda: hidden_group_taste(n_users=600, user_topics=12, group_topics=6, topic_size=30, n_groups=200,
                                          group_size=4, seed=1)),
    ("least_misery", lambda: least_misery_groups(n_groups=150, topics=20, topic_size=20, seed=1)),
])
def test_validation_alone_picks_the_signal_each_generated_dataset_has(name, benchmark) -> None:
    """On both, the group's own rows carry the signal (the members' mean row points at a hidden taste no member
    has, or at each member's strong topic rather than the common one): the choice leans on the group's rows
    and is, on the test lines, at least level with the best fixed group filter."""
    generated = benchmark()
    data = benchmark_data(generated)
    fitted = make_spec({"kind": "group"}, "test").fit(data, None, None, progress=False)
    selection = fitted.record["selection"]
    assert selection["cases"] >= 150 and selection["chosen"]["group_weight"] >= 0.75
    chosen = selection["filter"] if selection["chosen"]["kind"] == "filter" else selection["groupgf"]
    assert max(selection["filter"].values()) <= (chosen["best"] if "best" in chosen else max(chosen.values()))
    fixed = {a: group_ndcg(make_spec({"kind": "filter", "k": 64, "ideal_weight": 0.5, "power": 0.0,
                                      "group_weight": a}, "test").fit(data, None, None, progress=False),
                           generated, data.num_groups) for a in (0.0, 0.5, 1.0)}
    found = group_ndcg(fitted, generated, data.num_groups)
    assert found >= max(fixed.values()) - 0.01, (found, fixed)
    assert fixed[0.0] < 0.3  # the members' mean alone misses


@pytest.mark.parametrize("params", [PUBLISHED, {**PUBLISHED, "alpha": 0.0, "beta": 0.7, "power": 0.7,
                                                "user_order": 3, "group_order": 1, "group_weight": 0.5}])
def test_cached_group_gf_rows_equal_the_operator(params) -> None:
    data = benchmark_data(least_misery_groups(n_groups=20, seed=2))
    groups = np.array([1, 4, 7])
    found = GroupGFRows(data, groups).scores(**params)
    membership = sp.csr_matrix((np.ones(data.memberships.shape[1]), (data.memberships[1].numpy(),
                                                                      data.memberships[0].numpy())),
                               shape=(data.num_groups, data.num_users))
    operator = GroupGF(params["alpha"], params["beta"], params["power"],
                       (params["user_order"], params["group_order"], params["unified_order"])).fit(
        data.group_matrix(), data.user_matrix(), membership).item_rows(np.arange(data.num_items))
    means = member_mean_rows(data, data.user_matrix())
    a = params["group_weight"]
    expected = a * (data.group_matrix()[groups] @ operator) + (1 - a) * (means[groups] @ operator)
    np.testing.assert_allclose(found, expected, rtol=1e-4, atol=1e-5)
