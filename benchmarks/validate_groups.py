"""Benchmark (issue 32, part 3, report only): what a validation split carved from train would choose for the group
model — Group-GF's mix weights, power, filter orders and group_weight, or the default `group_filter`'s
group_weight, and between the two — with fixed search ranges, coordinate-wise, in seconds once the item graphs
are built.

    .venv/bin/python benchmarks/validate_groups.py runs/bench-groupgf/camra2011/snapshot [more snapshots]

Split (seed 2018): each group with at least 2 train items has up to 5 of them held out (uniformly), each also
taken out of its members' train rows (every CAMRa2011 group test item is one of its members' test items), as the
default's own validation did (graphrec/configs/groups-filter.toml). Each held-out pair is ranked against 100
items drawn uniformly from the others (known ones included, as the benchmarks' negatives are), the group's
remaining train items pushed below everything (serving never recommends them), ties pessimistic; the figure is
the mean of NDCG@5 and NDCG@10.

Ranges (start: the published CAMRa2011 settings; two coordinate passes, each coordinate's best kept, the first of
equals): alpha in {0, 0.1, 0.2, 0.3, 0.4, 0.5}, beta in {0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.7}, with alpha + beta <= 1;
power in {0.6, 0.7, 0.8, 0.9, 1.0}; each view's order in {1, 2, 3}; group_weight in {1, 0.9, 0.75, 0.5, 0.25}.
`group_filter` (its configuration as it is): group_weight in {0, 0.25, 0.5, 0.75, 1}. Scores are exact (no
truncation): each view's X P^p, X P^2p, X P^3p for the validation rows X (own and members' mean rows), so a
power costs three products of a few hundred rows with each view, and the mixes are linear in them.
"""
from __future__ import annotations

import argparse
import itertools
import sys
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import torch

from graphrec.conductor import training_data
from graphrec.export import Snapshot
from graphrec.model.base import TrainingData
from graphrec.model.groupgf import item_graph
from graphrec.runconfig import read_config

ROOT = Path(__file__).resolve().parents[1]
ALPHAS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5)
BETAS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.7)
POWERS = (0.6, 0.7, 0.8, 0.9, 1.0)
ORDERS = (1, 2, 3)
GROUP_WEIGHTS = (1.0, 0.9, 0.75, 0.5, 0.25)
FILTER_WEIGHTS = (0.0, 0.25, 0.5, 0.75, 1.0)
PUBLISHED = {"alpha": 0.3, "beta": 0.3, "power": 0.9, "user_order": 1, "group_order": 2, "unified_order": 3,
             "group_weight": 1.0}


def carve(data: TrainingData, seed: int, per_group: int = 5) -> tuple[TrainingData, np.ndarray]:
    """(train less the held-out pairs, held-out (group, item) pairs)."""
    rng = np.random.default_rng(seed)
    groups = data.group_matrix().tolil()
    held = []
    for g in range(data.num_groups):
        items = np.asarray(groups.rows[g])
        if items.size >= 2:
            held += [(g, i) for i in rng.choice(items, size=min(per_group, items.size - 1), replace=False)]
    held_pairs = np.asarray(held, dtype=np.int64).reshape(-1, 2)
    group_train = data.group_train.numpy()
    drop = set(map(tuple, held_pairs.tolist()))
    keep_g = np.array([(g, i) not in drop for g, i in group_train.T.tolist()], dtype=bool)
    members = data.memberships.numpy()
    member_drop = {(u, i) for (g, i) in drop for u in members[0][members[1] == g]}
    user_train = data.user_train.numpy()
    keep_u = np.array([(u, i) not in member_drop for u, i in user_train.T.tolist()], dtype=bool)
    valid = TrainingData(**{**data.__dict__, "group_train": torch.from_numpy(group_train[:, keep_g]),
                            "user_train": torch.from_numpy(user_train[:, keep_u])})
    return valid, held_pairs


def validation_cases(held: np.ndarray, num_items: int, seed: int, negatives: int = 100) -> np.ndarray:
    """(cases, 1 + negatives) item indices: the held-out item, then items drawn uniformly from the others."""
    rng = np.random.default_rng(seed + 1)
    drawn = rng.integers(0, num_items - 1, size=(len(held), negatives))
    drawn += drawn >= held[:, 1:2]  # skip the held-out item itself
    return np.hstack([held[:, 1:2], drawn])


def ndcg(scores: np.ndarray, held: np.ndarray, candidates: np.ndarray, known: sp.csr_matrix) -> float:
    """Mean of NDCG@5 and @10 of the held-out items (column 0), known items at -inf, pessimistic ties."""
    found = scores[held[:, :1], candidates].astype(np.float64)
    found[np.asarray(known[held[:, :1], candidates].todense()) > 0] = -np.inf
    ranks = (found[:, 1:] >= found[:, :1]).sum(1)
    gain = 1 / np.log2(ranks + 2)
    return float(np.mean([np.where(ranks < k, gain, 0).mean() for k in (5, 10)]))


def member_means(data: TrainingData) -> sp.csr_matrix:
    members = data.memberships.numpy()
    mean = sp.csr_matrix((np.ones(members.shape[1]), (members[1], members[0])), shape=(data.num_groups, data.num_users))
    mean.data[:] = 1
    size = np.asarray(mean.sum(1)).ravel()
    return sp.csr_matrix(sp.diags(np.where(size > 0, 1 / np.maximum(size, 1), 0)) @ mean @ data.user_matrix())


class GroupGFValidation:
    """Each view's filtered rows for the validation rows, cached per power; mixes are linear in them."""

    def __init__(self, data: TrainingData) -> None:
        users, groups = data.user_matrix(), data.group_matrix()
        members = data.memberships.numpy()
        membership = sp.csr_matrix((np.ones(members.shape[1], dtype=np.float32), (members[1], members[0])),
                                   shape=(data.num_groups, data.num_users))
        membership.data[:] = 1
        self.views = [item_graph(users, np.asarray(membership.sum(axis=0)).ravel()),
                      item_graph(groups, np.asarray(membership.sum(axis=1)).ravel()),
                      item_graph(sp.vstack([groups, users]).tocsr())]
        self.rows = torch.from_numpy(sp.vstack([groups, member_means(data)]).toarray().astype(np.float32))
        self.num_groups = data.num_groups
        self.cache: dict[float, list[dict[int, np.ndarray]]] = {}

    def filtered(self, power: float) -> list[dict[int, np.ndarray]]:
        if power not in self.cache:
            out = []
            for view in self.views:
                p = view.pow(power)
                y1 = self.rows @ p
                y2 = y1 @ p
                y3 = y2 @ p
                out.append({1: y1.numpy(), 2: (2 * y1 - y2).numpy(), 3: (y1 + 0.01 * (-y3 + 10 * y2 - 29 * y1)).numpy()})
            self.cache[power] = out
        return self.cache[power]

    def scores(self, alpha: float, beta: float, power: float, user_order: int, group_order: int,
               unified_order: int, group_weight: float) -> np.ndarray:
        views = self.filtered(power)
        mixed = sum(w * views[v][o] for v, (w, o) in enumerate(zip((1 - alpha - beta, alpha, beta),
                                                                   (user_order, group_order, unified_order))))
        return group_weight * mixed[: self.num_groups] + (1 - group_weight) * mixed[self.num_groups:]


def search(evaluate, ranges: dict[str, tuple], start: dict[str, float], passes: int = 2,
           allowed=lambda params: True) -> tuple[dict[str, float], float, int]:
    """Coordinate-wise: for each coordinate in turn, its best value with the others fixed; `passes` rounds."""
    best, best_value, tried = dict(start), evaluate(start), 1
    for _ in range(passes):
        for name, values in ranges.items():
            for value in values:
                params = {**best, name: value}
                if value == best[name] or not allowed(params):
                    continue
                found, tried = evaluate(params), tried + 1
                if found > best_value + 1e-12:
                    best, best_value = params, found
    return best, best_value, tried


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("snapshots", type=Path, nargs="+")
    parser.add_argument("--seed", type=int, default=2018)
    args = parser.parse_args()
    config = read_config(ROOT / "graphrec" / "configs" / "groups-filter.toml")
    for folder in args.snapshots:
        tick = time.perf_counter()
        snapshot = Snapshot.load(folder)
        data = training_data(snapshot, config)
        valid, held = carve(data, args.seed)
        candidates = validation_cases(held, data.num_items, args.seed)
        known = valid.group_matrix()
        print(f"\n=== {folder}: {len(held):,} held-out group pairs")
        # group_filter: s(a) = a s(own) + (1 - a) s(members' mean); fitted once
        fitted = config.model.fit(valid, None, None, progress=False)
        rows = fitted.rows
        own = fitted.score_rows(known)
        members = fitted.score_rows(member_means(valid))
        del rows
        filter_found = {a: ndcg(a * own + (1 - a) * members, held, candidates, known) for a in FILTER_WEIGHTS}
        print(f"group_filter ({time.perf_counter() - tick:.1f} s): " +
              ", ".join(f"group_weight {a:g}: {v:.4f}" for a, v in filter_found.items()))
        tick = time.perf_counter()
        model = GroupGFValidation(valid)
        built = time.perf_counter() - tick

        def evaluate(params: dict[str, float]) -> float:
            return ndcg(model.scores(**params), held, candidates, known)

        published = evaluate(PUBLISHED)
        best, value, tried = search(evaluate, {"alpha": ALPHAS, "beta": BETAS, "power": POWERS,
                                               "user_order": ORDERS, "group_order": ORDERS, "unified_order": ORDERS,
                                               "group_weight": GROUP_WEIGHTS}, PUBLISHED,
                                    allowed=lambda p: p["alpha"] + p["beta"] <= 1 + 1e-9)
        print(f"groupgf: views {built:.1f} s, search {time.perf_counter() - tick - built:.1f} s ({tried} settings, "
              f"{len(model.cache)} powers); published settings {published:.4f}; chosen {best} {value:.4f}")
        choice = max(filter_found, key=filter_found.get)
        winner = "groupgf" if value > filter_found[choice] else f"group_filter (group_weight {choice:g})"
        print(f"validation picks: {winner}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
