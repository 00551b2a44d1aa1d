"""Benchmark: graphrec's `groupgf` kind under the evaluation of Group-GF's official code (github chaehyun1/Group-GF,
`utils.py`), to compare with that code run beside it (BENCHMARKS.md).

    .venv/bin/python benchmarks/groupgf_official.py ../shared/data/camra2011 [--official-members] [--neighbours N]
        [--scores results.npy]

That evaluation, re-implemented here from its description (no code copied): the data read as its `dataset.py`
reads an AGREE-format folder (train rows with rating > 0, binarised; items 0 .. the largest item id of the two
train files; a group's test items are its test rows with rating > 0, those beyond that item range dropped; its
negatives are the last negatives line of the group, restricted to that range); each group of the test matrix
(every id up to the largest) is scored **once**, its candidates the set of its test items and those negatives
(Python's set order), train items pushed down by -99999, ranked by `numpy.argsort` of the negated scores (its
default sort: ties in no guaranteed order), HR@K and NDCG@K (IDCG over min(K, |test items|)), summed over the
groups and divided by every row of the test matrix (a group without a test item counts 0).

The official code builds its group-member matrix with groups indexed by their order of first appearance in the
group train file (`train_group_to_index`), while its group rows are indexed by id: on CAMRa2011, whose train file
is not sorted by group, group g's row is augmented with the members of another group. `--official-members`
reproduces that (to match its figures); by default each group gets its own members, as graphrec does.

`--scores FILE` also compares with a score matrix saved from the official run (groups x items, train items
already at -99999): the largest absolute difference and the metrics of those scores under this evaluation.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import torch

from graphrec.model.base import TrainingData
from graphrec.model.groupgf import GroupGFSpec


def read_rows(path: Path) -> list[tuple[int, int, int]]:
    """(source, item, rating) of each line; a line without a rating has rating 1."""
    out = []
    for line in path.read_text().split("\n"):
        parts = line.split()
        if parts:
            out.append((int(parts[0]), int(parts[1]), int(parts[2]) if len(parts) > 2 else 1))
    return out


def binary(rows: list[tuple[int, int, int]], num_rows: int, num_items: int) -> sp.csr_matrix:
    kept = [(s, i) for s, i, rating in rows if rating > 0 and i < num_items]
    matrix = sp.csr_matrix((np.ones(len(kept), dtype=np.float32), ([s for s, _ in kept], [i for _, i in kept])),
                           shape=(num_rows, num_items))
    matrix.sum_duplicates()
    matrix.data[:] = 1.0
    return matrix


def official_data(folder: Path, official_members: bool) -> tuple[TrainingData, sp.csr_matrix, list[list[int]]]:
    """(training data, group test matrix, each test row's negatives) as the official `dataset.py` has them."""
    group_train, user_train = read_rows(folder / "groupRatingTrain.txt"), read_rows(folder / "userRatingTrain.txt")
    group_test = read_rows(folder / "groupRatingTest.txt")
    num_items = max(i for _, i, _ in group_train + user_train) + 1
    num_groups = max(g for g, _, _ in group_train) + 1
    num_users = max(u for u, _, _ in user_train) + 1
    groups, users = binary(group_train, num_groups, num_items), binary(user_train, num_users, num_items)
    test = binary(group_test, max(g for g, _, _ in group_test) + 1, num_items)
    members = {}
    for line in (folder / "groupMember.txt").read_text().split("\n"):
        if line.split():
            group, users_of = line.split()
            members[int(group)] = [int(u) for u in users_of.split(",")]
    if official_members:  # group row index = order of first appearance in the group train file
        order = list(dict.fromkeys(g for g, _, _ in group_train))
        members = {index: members[group] for index, group in enumerate(order) if group in members}
    pairs = [(u, g) for g, users_of in members.items() if g < num_groups for u in users_of if u < num_users]
    last: dict[int, list[int]] = {}
    for line in (folder / "groupRatingNegative.txt").read_text().split("\n"):
        if line.split():
            head, *negatives = line.split()
            last[int(head.strip("()").split(",")[0])] = sorted(int(i) for i in negatives if int(i) < num_items)
    negatives = [last[g] for g in sorted(last)]

    def edges(matrix: sp.csr_matrix) -> torch.Tensor:
        return torch.from_numpy(np.vstack(matrix.nonzero()).astype(np.int64))

    empty = torch.zeros(2, 0, dtype=torch.long)
    data = TrainingData(num_users=num_users, num_items=num_items, num_groups=num_groups,
                        user_ids=np.arange(num_users), item_ids=np.arange(num_items), group_ids=np.arange(num_groups),
                        user_train=edges(users), group_train=edges(groups), user_valid=empty, group_valid=empty,
                        memberships=torch.tensor(pairs, dtype=torch.long).T)
    return data, test, negatives


def official_metrics(scores: np.ndarray, test: sp.csr_matrix, negatives: list[list[int]], k: int
                     ) -> tuple[float, float]:
    """(HR@k, NDCG@k) as the official `utils.py` computes them (module docstring)."""
    hits = ndcg = 0.0
    for g in range(test.shape[0]):
        relevant = set(test[g].indices.tolist())
        candidates = [i for i in set(relevant) | set(negatives[g]) if i < scores.shape[1]]
        top = [candidates[j] for j in np.argsort(-scores[g, candidates])[:k]]
        hits += bool(relevant & set(top))
        dcg = sum(1 / np.log2(j + 2) for j, item in enumerate(top) if item in relevant)
        idcg = sum(1 / np.log2(j + 2) for j in range(min(k, len(top), len(relevant))))
        ndcg += dcg / idcg if idcg > 0 else 0.0
    return hits / test.shape[0], ndcg / test.shape[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", type=Path)
    parser.add_argument("--official-members", action="store_true")
    parser.add_argument("--neighbours", type=int, nargs="*", default=[], help="served forms to score too")
    parser.add_argument("--split", type=int, default=0)
    parser.add_argument("--scores", type=Path, help="the official run's score matrix (.npy)")
    parser.add_argument("--ks", type=int, nargs="+", default=[5, 10])
    args = parser.parse_args()
    torch.set_num_threads(max(1, torch.get_num_threads()))
    data, test, negatives = official_data(args.folder, args.official_members)
    train = data.group_matrix()
    push = -99999.0 * train.toarray()
    forms: dict[str, np.ndarray] = {}
    tick = time.perf_counter()
    model = GroupGFSpec().build().fit(train, data.user_matrix(), sp.csr_matrix(
        (np.ones(data.memberships.size(1)), (data.memberships[1].numpy(), data.memberships[0].numpy())),
        shape=(data.num_groups, data.num_users)))
    forms["exact operator"] = model.scores(train) + push
    print(f"operator: {time.perf_counter() - tick:.1f} s ({model!r}, {data.num_items:,} items)")
    for n in args.neighbours:
        tick = time.perf_counter()
        fitted = GroupGFSpec(neighbours=min(n, data.num_items - 1), split=args.split).fit(data, None, None,
                                                                                            progress=False)
        forms[f"served, {n} weights/item, split {args.split}"] = (
            fitted.scorer("group")(torch.arange(data.num_groups), None).numpy() + push)
        print(f"served form n={n}: fit {time.perf_counter() - tick:.1f} s")
    if args.scores is not None:
        official = np.load(args.scores)
        shared = min(official.shape[0], train.shape[0])
        print(f"largest |official - exact| over the groups' non-train items: "
              f"{np.abs(np.where(push[:shared] < 0, 0, official[:shared] - forms['exact operator'][:shared])).max():.2e}")
        forms = {"official scores": official, **forms}
    for name, scores in forms.items():
        found = [official_metrics(scores, test, negatives, k) for k in args.ks]
        print(f"{name:40s} " + "  ".join(f"HR@{k} {hr:.4f} NDCG@{k} {nd:.4f}" for k, (hr, nd) in zip(args.ks, found)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
