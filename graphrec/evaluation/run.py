"""`graphrec evaluate`: train the group models and the baselines on one snapshot and evaluate them side by side.

Methods (rows of the table), all trained on the same train interactions with the same `[train]` settings:

* `popularity`: items by their number of train interactions, of users and groups together.
* `average`, `least_misery`, `most_pleasure`, `borda`: member aggregation (`graphrec.evaluation.scorers`)
  over the embeddings of `lightgcn_users`.
* `lightgcn_users`: LightGCN on the user-item graph alone (user task; its users feed the aggregations).
* `lightgcn_groups`: LightGCN on the group-item graph alone (groups in place of users; group task).
* `combined`: `GroupLightGCN` on users, items and groups, groups scored by alpha * own + (1 - alpha) *
  member average, groups without train interactions of their own by the member average alone (not trained
  when no group has train interactions; then only the user task can be evaluated).

Every model is trained for the `[train]` epochs on all train interactions and its last epoch is evaluated
(`early_stopping = false`, the default), or, with `early_stopping = true`, stopped early (`[train] patience`)
on the snapshot's `valid` interactions when it has them, otherwise on one train interaction per user and per
group (with at least two) held out with the `[evaluate]` seed; the test split is only used for the final
figures. (On generated data whose order within a taste is random, the held-out metric saturates after an
epoch or two while the scores keep sharpening; early stopping then hands the member aggregations barely
trained user embeddings.) Tasks: `group` (group test rows), `user` (user test rows), `both`. Protocols: `sampled`
(leave-one-out against 100 negatives, pessimistic ties; `graphrec.evaluation.protocol`) or `full` (full
ranking Recall/NDCG for the tasks, and for groups the fairness figures of `graphrec.evaluation.fairness`
under the `lightgcn_users` judge).

The run folder gets one sub-folder per trained model (metrics.json, curves.png) and `evaluation.json` (the
whole report), `evaluation.csv` (the table), `evaluation.png` (the table as bars) and, for the full protocol,
`fairness.csv` (per method and group).
"""

from __future__ import annotations

import csv
import json
import time
import tomllib
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

import torch
from torch import Tensor
from tqdm import tqdm

from graphrec.evaluation.fairness import member_satisfaction
from graphrec.evaluation.protocol import (DEFAULT_NEGATIVES, DEFAULT_SEED, Scorer, full_metrics, sampled_candidates,
                                          sampled_metrics)
from graphrec.evaluation.scorers import STRATEGIES, DotScorer, MemberScorer, PopularityScorer, padded_members
from graphrec.export import Snapshot
from graphrec.training import GroupTask, TrainConfig, fit

METHODS = ("popularity", *STRATEGIES, "lightgcn_users", "lightgcn_groups", "combined")
TASK_METHODS = {"group": ("popularity", *STRATEGIES, "lightgcn_groups", "combined"),
                "user": ("popularity", "lightgcn_users", "combined")}
PROTOCOLS = ("sampled", "full")
TASKS = ("group", "user", "both")


@dataclass
class EvalConfig:
    """The `[evaluate]` table of a run configuration.

    Attributes:
        protocol: `sampled` (default) or `full`. task: `group`, `user` or `both` (default).
        ks: cut-offs of the sampled protocol, (5, 10). full_ks: of the full protocol, (10, 20).
        num_negatives: negatives drawn for a test row without stored ones, 100. seed: of that draw and of
        the validation hold-out, 2018. fairness_k: length of the list judged for fairness, 10.
        early_stopping: stop each model early on held-out interactions (true) or train every model for the
        `[train]` epochs and keep the last (false, the default).
    """

    protocol: str = "sampled"
    task: str = "both"
    ks: tuple[int, ...] = (5, 10)
    full_ks: tuple[int, ...] = (10, 20)
    num_negatives: int = DEFAULT_NEGATIVES
    seed: int = DEFAULT_SEED
    fairness_k: int = 10
    early_stopping: bool = False

    def __post_init__(self) -> None:
        self.ks, self.full_ks = tuple(self.ks), tuple(self.full_ks)
        if self.protocol not in PROTOCOLS or self.task not in TASKS:
            raise ValueError(f"protocol must be one of {PROTOCOLS} and task one of {TASKS}")

    @classmethod
    def from_toml(cls, path: str | Path, **overrides: Any) -> EvalConfig:
        """Read the `[evaluate]` table (absent: the defaults); unknown keys are an error."""
        with open(path, "rb") as handle:
            values = dict(tomllib.load(handle).get("evaluate", {}))
        unknown = set(values) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"{path}: unknown [evaluate] keys: {', '.join(sorted(unknown))}")
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def tasks(self) -> tuple[str, ...]:
        return ("group", "user") if self.task == "both" else (self.task,)


def holdout(train: Tensor, seed: int) -> tuple[Tensor, Tensor]:
    """(kept, held out): one random interaction per source (row 0) with at least two, held out."""
    if not train.size(1):
        return train, train
    perm = torch.randperm(train.size(1), generator=torch.Generator().manual_seed(seed))
    perm = perm[torch.argsort(train[0, perm], stable=True)]
    sources = train[0, perm]
    first = torch.ones_like(sources, dtype=torch.bool)
    first[1:] = sources[1:] != sources[:-1]
    counts = torch.bincount(train[0])
    held = torch.zeros(train.size(1), dtype=torch.bool)
    held[perm[first & (counts[sources] >= 2)]] = True
    return train[:, ~held], train[:, held]


def evaluate_snapshot(snapshot: Snapshot, train_config: TrainConfig, config: EvalConfig, run_dir: str | Path,
                      *, progress: bool = True) -> dict[str, Any]:
    """Train every model on `snapshot`, evaluate the methods of `config.tasks()`, save and return the report."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    num_users, num_items, num_groups = len(snapshot.user_ids), len(snapshot.item_ids), len(snapshot.group_ids)
    tasks = config.tasks()
    if "group" in tasks and not snapshot.group_interactions["train"].size(1):
        raise ValueError("the group task needs group train interactions; the snapshot has none")
    edges_of = {"user": _ordered(snapshot.interactions, snapshot.negatives, num_items),
                "group": _ordered(snapshot.group_interactions, snapshot.group_negatives, num_items)}
    split = {kind: _split(edges, config.seed, config.early_stopping) for kind, (edges, _) in edges_of.items()}
    if not config.early_stopping:  # one evaluation, after the last epoch: the last model is the best
        train_config = replace(train_config, patience=train_config.epochs, eval_every=train_config.epochs)
    plain = replace(train_config, monitor=train_config.monitor.removeprefix("group_"))
    seconds: dict[str, float] = {}

    def timed(name: str, *args: Any, **kwargs: Any) -> Any:
        tick = time.perf_counter()
        result = fit(*args, config=kwargs.pop("config", plain), run_dir=run_dir / name, progress=progress, **kwargs)
        seconds[f"train {name}"] = time.perf_counter() - tick
        return result.embeddings

    users = timed("lightgcn_users", num_users, num_items, *split["user"])
    has_groups = bool(snapshot.group_interactions["train"].size(1))
    combined = timed("combined", num_users, num_items, *split["user"], config=train_config,
                     groups=GroupTask(num_groups, *split["group"], snapshot.memberships)) if has_groups else None
    members = padded_members(snapshot.memberships, num_groups)
    train_all = torch.cat([edges_of["user"][0]["train"], edges_of["group"][0]["train"]], 1)
    scorers: dict[str, dict[str, Scorer]] = {"user": {}, "group": {}}
    for task in ("user", "group"):
        scorers[task]["popularity"] = PopularityScorer(train_all, num_items)
    scorers["user"]["lightgcn_users"] = DotScorer(users.users, users.items)
    if combined is not None:
        scorers["user"]["combined"] = DotScorer(combined.users, combined.items)
    if "group" in tasks:
        for strategy in STRATEGIES:
            scorers["group"][strategy] = MemberScorer(strategy, users.users, users.items, members)
        alone = timed("lightgcn_groups", num_groups, num_items, *split["group"])
        scorers["group"]["lightgcn_groups"] = DotScorer(alone.users, alone.items)
        scorers["group"]["combined"] = DotScorer(combined.group_vectors, combined.items)

    tick = time.perf_counter()
    results: dict[str, dict[str, float]] = {method: {} for method in METHODS}
    notes = ["data: " + ", ".join(f"{name} {count:,}" for name, count in snapshot.counts().items())]
    fairness_rows: list[dict[str, Any]] = []
    for task in tasks:
        edges, negatives = edges_of[task]
        if not edges["test"].size(1):
            notes.append(f"{task} task: no test interactions, not evaluated ('-' in the table)")
            continue
        known = torch.cat([edges[name] for name in ("train", "valid", "test")], 1)
        if config.protocol == "sampled":
            candidates = sampled_candidates(edges["test"], negatives["test"], known, num_items,
                                            config.num_negatives, config.seed)
            notes.append(f"{task} task: {candidates.describe()}")
        else:
            seen = torch.cat([edges["train"], edges["valid"]], 1)
            test_groups = torch.unique(edges["test"][0])
            judge = MemberScorer("average", users.users, users.items, members)
        for method in tqdm([m for m in TASK_METHODS[task] if m in scorers[task]], desc=f"evaluate {task}",
                           disable=not progress):
            score = scorers[task][method]
            if config.protocol == "sampled":
                found = sampled_metrics(score, candidates, config.ks)
            else:
                found = full_metrics(score, num_items, seen, edges["test"], config.full_ks)
                found = {name: value for name, value in found.items() if name.split("@")[0] in ("recall", "ndcg")}
                if task == "group":
                    low, spread = member_satisfaction(score, judge, test_groups, seen, num_items, config.fairness_k)
                    found |= {f"fair_min@{config.fairness_k}": low.mean().item(),
                              f"fair_spread@{config.fairness_k}": spread.mean().item()}
                    fairness_rows += [{"method": method, "group": int(snapshot.group_ids[g]), "min": m, "spread": s}
                                      for g, m, s in zip(test_groups.tolist(), low.tolist(), spread.tolist())]
            results[method] |= {f"{task} {name}": value for name, value in found.items()}
    seconds["evaluate"] = time.perf_counter() - tick
    if "group" in tasks:
        test_rows = snapshot.group_interactions["test"][0]
        fallback = int((~combined.has_history[test_rows]).sum()) if test_rows.numel() else 0
        notes.append(f"combined: {fallback} of {test_rows.numel()} group test rows are of groups without train "
                     "interactions of their own, scored by the member average (fallback)")
        notes.append(f"combined: learned group weight alpha = {combined.group_weight:.4f}"
                     if train_config.group_weight is None else
                     f"combined: fixed group weight alpha = {combined.group_weight:.4f}")
    if config.protocol == "sampled":
        notes.append("ties broken pessimistically: the held-out item ranks below every negative with an equal "
                     "score")
    else:
        notes.append("full ranking over every item, train and valid items excluded; ties in the top-K broken by "
                     "torch.topk")
    seconds["total"] = time.perf_counter() - started
    columns = list(dict.fromkeys(k for row in results.values() for k in row))
    report = {"protocol": config.protocol, "task": config.task, "columns": columns,
              "rows": [{"method": method, **results[method]} for method in METHODS if results[method]],
              "notes": notes, "group_weight": combined.group_weight if combined else None, "seconds": seconds,
              "config": {"evaluate": asdict(config), "train": asdict(train_config)}}
    save_report(report, fairness_rows, run_dir)
    return report


def _ordered(edges: dict[str, Tensor], negatives: dict[str, Tensor],
             num_items: int) -> tuple[dict[str, Tensor], dict[str, Tensor]]:
    """Every split's rows sorted by (source, item), the negatives' rows alongside: the export's order of a
    source's interactions is the server's, and the hold-out, the batches and the drawn negatives depend on
    the order, so this makes a run repeatable on the same data."""
    ordered: tuple[dict[str, Tensor], dict[str, Tensor]] = ({}, {})
    for split, rows in edges.items():
        order = torch.argsort(rows[0] * num_items + rows[1])
        ordered[0][split] = rows[:, order]
        stored = negatives.get(split)
        ordered[1][split] = stored[order] if stored is not None and stored.size(0) == rows.size(1) else stored
    return ordered


def _split(edges: dict[str, Tensor], seed: int, early_stopping: bool) -> tuple[Tensor, Tensor]:
    """(train, valid) for training: without early stopping, all train interactions and no valid ones; with it,
    the `valid` split, or one train interaction per source held out."""
    if not early_stopping:
        return edges["train"], edges["train"][:, :0]
    if edges["valid"].size(1):
        return edges["train"], edges["valid"]
    return holdout(edges["train"], seed)


def format_report(report: dict[str, Any]) -> str:
    """The report as text: the notes, then one aligned table (4 decimals, '-' where not applicable)."""
    columns = report["columns"]
    cells = [["method", *columns]] + [
        [row["method"], *(f"{row[c]:.4f}" if c in row else "-" for c in columns)] for row in report["rows"]]
    widths = [max(len(line[k]) for line in cells) for k in range(len(cells[0]))]
    lines = [f"protocol: {report['protocol']}, task: {report['task']}", *(f"  {note}" for note in report["notes"])]
    lines += [" | ".join(cell.ljust(w) for cell, w in zip(line, widths)) for line in cells[:1]]
    lines.append("-+-".join("-" * w for w in widths))
    lines += [" | ".join(cell.ljust(w) for cell, w in zip(line, widths)) for line in cells[1:]]
    lines.append("seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in report["seconds"].items()))
    return "\n".join(lines)


def save_report(report: dict[str, Any], fairness_rows: list[dict[str, Any]], run_dir: Path) -> None:
    """`evaluation.json`, `evaluation.csv`, `evaluation.png` and (when given) `fairness.csv` in `run_dir`."""
    (run_dir / "evaluation.json").write_text(json.dumps(report, indent=2) + "\n")
    with open(run_dir / "evaluation.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, ["method", *report["columns"]])
        writer.writeheader()
        writer.writerows(report["rows"])
    if fairness_rows:
        with open(run_dir / "fairness.csv", "w", newline="") as handle:
            writer = csv.DictWriter(handle, ["method", "group", "min", "spread"])
            writer.writeheader()
            writer.writerows(fairness_rows)
    plot_report(report, run_dir / "evaluation.png")


def plot_report(report: dict[str, Any], path: Path) -> None:
    """One bar per method for each column of the table (a missing value: no bar)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    columns, rows = report["columns"], report["rows"]
    fig, axis = plt.subplots(figsize=(max(6.0, 1.1 * len(columns) + 2), 4))
    width = 0.8 / max(len(rows), 1)
    for k, row in enumerate(rows):
        xs = [c + (k - (len(rows) - 1) / 2) * width for c, name in enumerate(columns) if name in row]
        axis.bar(xs, [row[name] for name in columns if name in row], width, label=row["method"])
    axis.set_xticks(range(len(columns)), columns, rotation=30, ha="right", fontsize=8)
    axis.set(title=f"graphrec evaluate: {report['protocol']} protocol", ylabel="value")
    axis.legend(fontsize=7, ncol=2)
    axis.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
