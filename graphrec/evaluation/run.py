"""Evaluate fitted models side by side on one snapshot's test interactions.

An `Evaluator` is built once per snapshot and `EvalConfig`: it orders every split's interactions, draws the
sampled protocol's candidates (or prepares the full ranking) once per task, so that every model is measured
on the same cases. `evaluate(name, fitted)` returns the model's row(s):

* the model itself, on each task its `scorer` can score (`user`; `group` when it has a group side);
* on the group task, for a model with a user side whose scores depend on the user (not popularity), one
  row per member aggregation of `config.strategies`
  (`<name> average`, ...; `graphrec.evaluation.scorers`).

A user the model has nothing for (`Fitted.unscorable_users`: no train interactions) is scored as Cypher serves
them: by the items' train interaction counts on the user task, and left out of its groups' member aggregations.

Every row also reports the intra-list diversity and catalogue coverage of its top-`diversity_k` lists for the
test sources (`<task> ild@10`, `<task> coverage@10`; train and valid items excluded), and with
`[evaluate] diversity` each model with item vectors gets MMR-re-ranked rows (`graphrec.evaluation.diversity`).

Metrics are keyed `"<task> <metric>@K"` (`user recall@20`, `group ndcg@5`). Under the full protocol the
group rows also get the fairness figures of `graphrec.evaluation.fairness`, judged by one model's user
scores for every row (`judge`: the first model with a user side other than popularity).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from graphrec.evaluation.diversity import (
    MMRScorer,
    cooccurrence,
    coverage,
    intra_list_diversity,
    item_vectors,
)
from graphrec.evaluation.fairness import member_satisfaction
from graphrec.evaluation.known import KnownShift
from graphrec.evaluation.protocol import EvalConfig, ndcg_per_case, ranks_to_metrics, sampled_candidates, sampled_ranks
from graphrec.evaluation.scorers import MemberScorer, padded_members, served_users
from graphrec.export import SPLITS, Snapshot
from graphrec.model.base import Fitted, Scorer
from graphrec.model.metrics import hit_metrics, top_items


def ordered_splits(snapshot: Snapshot, side: str, variant: str = "reference"
                   ) -> tuple[dict[str, Tensor], dict[str, Tensor]]:
    """(interactions, stored negatives) of one side ('user' or 'group') per split: the train interactions
    sorted by (source, item) (the export's order within a source is the server's, and hold-outs and batches
    depend on the order, so this makes a run repeatable on the same data), the valid and test cases in the
    export's order (their input lines), negatives alongside.

    `variant` (`graphrec.evaluation.protocol.VARIANTS`): `reference` keeps every train interaction, also a pair
    that is a test case (as the benchmarks' reference code); `leak_free` removes those pairs from train."""
    edges = snapshot.interactions if side == "user" else snapshot.group_interactions
    negatives = snapshot.negatives if side == "user" else snapshot.group_negatives
    num_items = len(snapshot.item_ids)
    train = edges["train"]
    order = pair_order(train, num_items)
    if variant == "leak_free":
        keys = train[0, order] * num_items + train[1, order]
        order = order[~torch.isin(keys, edges["test"][0] * num_items + edges["test"][1])]
    ordered: tuple[dict[str, Tensor], dict[str, Tensor]] = ({"train": train[:, order]}, {})
    for split in SPLITS[1:]:
        ordered[0][split] = edges[split]
        ordered[1][split] = negatives.get(split)
    return ordered


def pair_order(pairs: Tensor, num_items: int, block: int = 1 << 14) -> Tensor:
    """The permutation that sorts the (source, item) pairs `pairs` (2, E) by source, then item (key
    source · num_items + item; the order of equal pairs is unspecified).

    The export streams sources in ascending order, so only each source's items need sorting. Then the pairs
    are cut, where the source changes, into blocks of about `block` (default 2^14) pairs, and each block is
    sorted on its own: a block's keys fit in cache, so the cost is linear in E. One argsort of all 8.1M keys of
    ten times Gowalla costs 22 times one of the 0.81M of Gowalla. Otherwise, one argsort of every key."""
    sources = pairs[0].contiguous()
    keys = sources * num_items + pairs[1]
    if keys.numel() <= block or not bool((sources[1:] >= sources[:-1]).all()):
        return torch.argsort(keys)
    starts = torch.unique(torch.searchsorted(sources, sources[block::block].contiguous()))
    bounds = [0, *starts[starts > 0].tolist(), keys.numel()]
    return torch.cat([torch.argsort(keys[start:end]) + start for start, end in zip(bounds, bounds[1:])])


def overlap(train: Tensor, test: Tensor, num_items: int) -> int:
    """How many (source, item) pairs of `train` are also pairs of `test` cases."""
    return int(torch.isin(train[0] * num_items + train[1], test[0] * num_items + test[1]).sum())


class Evaluator:
    """The test cases of one snapshot under one `EvalConfig`, shared by every model evaluated."""

    def __init__(self, snapshot: Snapshot, config: EvalConfig) -> None:
        self.config = config
        self.num_items = len(snapshot.item_ids)
        self.group_ids = snapshot.group_ids
        self.members = padded_members(snapshot.memberships, len(snapshot.group_ids))
        self.notes: list[str] = ["data: " + ", ".join(f"{name} {count:,}" for name, count in snapshot.counts().items())]
        self.cases: dict[str, dict[str, Any]] = {}
        self.judge: tuple[str, Scorer] | None = None
        # task -> method -> metric -> its value on each case (a test line; a source under the full protocol)
        self.per_case: dict[str, dict[str, dict[str, Tensor]]] = {}
        users, _ = ordered_splits(snapshot, "user")
        groups, _ = ordered_splits(snapshot, "group")
        num_users = len(snapshot.user_ids)
        group_train = groups["train"] + torch.tensor([[num_users], [0]])
        self.unit = cooccurrence(torch.cat([users["train"], group_train], 1), num_users + len(snapshot.group_ids),
                                 self.num_items)
        trained = [ordered_splits(snapshot, task, config.variant)[0]["train"] for task in ("user", "group")]
        self.popularity = torch.bincount(torch.cat(trained, 1)[1], minlength=self.num_items).float()
        for task in config.tasks():
            edges, negatives = ordered_splits(snapshot, task, config.variant)
            if not edges["test"].size(1):
                self.notes.append(f"{task} task: no test interactions, not evaluated")
                continue
            self.notes.append(_training_note(task, snapshot, config.variant))
            case: dict[str, Any] = {"test": edges["test"], "seen": torch.cat([edges["train"], edges["valid"]], 1),
                                    "sources": torch.unique(edges["test"][0])}
            if config.protocol == "sampled":
                known = torch.cat([edges[name] for name in SPLITS], 1)
                case["candidates"] = sampled_candidates(edges["test"], negatives["test"], known, self.num_items,
                                                        config.num_negatives, config.seed)
                self.notes.append(f"{task} task: {case['candidates'].describe()}")
            else:
                case["test"] = torch.unique(edges["test"], dim=1)  # a pair held out twice is one relevant item
            self.cases[task] = case
        if config.protocol == "sampled":
            self.notes.append("ties broken pessimistically: the held-out item ranks below every negative with an "
                              "equal score")
        else:
            self.notes.append("full ranking over every item, train and valid items excluded; ties in the top-K "
                              "broken by torch.topk")

    def user_side(self, fitted: Fitted) -> tuple[Scorer | None, Tensor]:
        """`fitted`'s user scorer and the groups' members it aggregates, as Cypher serves them
        (`graphrec.evaluation.scorers.served_users`)."""
        return served_users(fitted, self.members, self.popularity)

    def set_judge(self, name: str, fitted: Fitted) -> None:
        """Judge fairness by `fitted`'s user scores (the first call with a personal model wins)."""
        users, members = self.user_side(fitted)
        if self.judge is None and users is not None and fitted.personal:
            self.judge = (name, MemberScorer("average", users, members, self.num_items))
            if "group" in self.cases and self.config.protocol == "full":
                self.notes.append(f"fairness judged by {name}'s user scores")

    def evaluate(self, name: str, fitted: Fitted, known: dict[str, float] | None = None
                 ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """The rows of `fitted` (named `name`) and, under the full protocol, its per-group fairness rows;
        `known`: the offset of the known items under the sampled protocol (`graphrec.evaluation.known`), by
        ranking: `user`, `group` (the model's own) and `group <strategy>` (a member aggregation; default: the
        `group` one); 0 for a ranking it does not name."""
        rows: dict[str, dict[str, Any]] = {}
        fairness: list[dict[str, Any]] = []
        users, members = self.user_side(fitted)
        scorers: dict[str, dict[str, Scorer]] = {"user": {}, "group": {}}
        if users is not None:
            scorers["user"][name] = users
        own = fitted.scorer("group")
        if own is not None:
            scorers["group"][name] = own
        known = known or {}
        if users is not None and fitted.personal and "group" in self.cases:
            for strategy in self.config.strategies:
                scorers["group"][f"{name} {strategy}"] = MemberScorer(strategy, users, members, self.num_items)
        vectors = item_vectors(fitted, self.config.diversity_by) if self.config.diversity else None
        if vectors is not None:
            for task in scorers:
                seen = self.cases[task]["seen"] if task in self.cases else None
                scorers[task] |= {f"{method} mmr{lam:g}": MMRScorer(score, vectors, lam, self.config.diversity_k, seen)
                                  for lam in self.config.diversity for method, score in list(scorers[task].items())}
        for task, case in self.cases.items():
            for method, score in scorers[task].items():
                offset = known.get(task + method[len(name):], known.get(task, 0.0))
                found, lists = self._metrics(task, method, case, score, offset)
                k = self.config.diversity_k
                found |= {f"ild@{k}": intra_list_diversity(lists, self.unit),
                          f"coverage@{k}": coverage(lists, self.num_items)}
                if task == "group" and self.config.protocol == "full" and self.judge is not None:
                    low, spread = member_satisfaction(score, self.judge[1], case["sources"], case["seen"],
                                                      self.num_items, self.config.fairness_k)
                    found |= {f"fair_min@{self.config.fairness_k}": low.mean().item(),
                              f"fair_spread@{self.config.fairness_k}": spread.mean().item()}
                    fairness += [{"method": method, "group": int(self.group_ids[g]), "min": m, "spread": s}
                                 for g, m, s in zip(case["sources"].tolist(), low.tolist(), spread.tolist())]
                rows.setdefault(method, {"method": method}).update(
                    {f"{task} {metric}": value for metric, value in found.items()})
        return list(rows.values()), fairness

    def _metrics(self, task: str, method: str, case: dict[str, Any], score: Scorer, offset: float
                 ) -> tuple[dict[str, float], Tensor]:
        """The row's accuracy metrics of `method` on `task`, and each source's top `diversity_k` items (its seen
        items excluded) for the diversity metrics; keeps its per-case NDCG (and Recall, full protocol) in
        `per_case` for `graphrec.evaluation.paired`. `offset`: the known items' offset (sampled protocol).

        Under the full protocol one ranking serves both: the top max(K, diversity_k) of every source, scored
        once (scoring every item is most of an evaluation's time)."""
        depth = self.config.diversity_k

        def ranked(sources: Tensor) -> Tensor:
            return score(sources, None)

        if self.config.protocol == "sampled":
            ranks = sampled_ranks(score if offset == 0 else KnownShift(score, case["seen"], self.num_items, offset),
                                  case["candidates"])
            self.per_case.setdefault(task, {})[method] = {f"ndcg@{k}": ndcg_per_case(ranks, k)
                                                          for k in sorted(set(self.config.ks))}
            return (ranks_to_metrics(ranks, self.config.ks),
                    top_items(ranked, self.num_items, case["seen"], case["sources"], depth))
        top = top_items(ranked, self.num_items, case["seen"], case["sources"], max(*self.config.full_ks, depth))
        found = hit_metrics(top, case["sources"], case["test"], self.num_items, self.config.full_ks)
        kept = {metric: values for metric, values in found.items() if metric.split("@")[0] in ("recall", "ndcg")}
        self.per_case.setdefault(task, {})[method] = kept
        means = {metric: values.mean().item() if values.numel() else 0.0 for metric, values in kept.items()}
        return means, top[:, :depth]


def _training_note(task: str, snapshot: Snapshot, variant: str) -> str:
    """What the models of `task`'s side were trained on, under `variant`."""
    edges = snapshot.interactions if task == "user" else snapshot.group_interactions
    shared = overlap(edges["train"], edges["test"], len(snapshot.item_ids))
    if variant == "leak_free":
        return (f"{task} task: leak-free variant: the {shared:,} train interactions whose pair is a test case were "
                f"removed from training ({edges['test'].size(1):,} test cases)")
    return (f"{task} task: reference protocol: {edges['test'].size(1):,} test cases, one per test line; every train "
            f"interaction trained on, {shared:,} of them also test cases (as the reference code; --leak-free "
            "removes them)")
