"""A training run: configuration, the epoch loop, checkpoints, early stopping and the run's record.

A run trains `graphrec.model.LightGCN` on a snapshot's train interactions (users × items), or, given a
`GroupTask`, `graphrec.model.GroupLightGCN` on users, items and groups (user-item and group-item
interactions, memberships; see `graphrec.model.group`), evaluates by full ranking every `eval_every` epochs on
the validation split given (metrics of the group task prefixed `group_`), keeps the best model, stops after
`patience` evaluations without improvement, and writes into its folder:

    checkpoint.pt   the last epoch's model, optimiser, random states and history (`resume=True` continues it)
    best.pt         the model of the best evaluation
    metrics.json    the configuration, the history of losses and metrics, the best epoch and its metrics
    curves.png      the loss and the monitored metric per epoch

Under `torch.distributed` (several processes, `graphrec.model.distributed`) the run is data-parallel: every
process holds the whole graph and the model inside DistributedDataParallel, draws the same BPR triples from the
seed and trains on its share of each batch, so the parameters follow the one-process run with the same
`batch_size` (the global batch). Process 0 alone evaluates, decides early stopping, `max_minutes` and the
learning rate's elapsed time, and broadcasts them after every epoch; it alone writes the files, and every
process resumes from its `checkpoint.pt` (the folder must be shared).
"""

from __future__ import annotations

import json
import math
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from graphrec.model import (
    GroupLightGCN,
    LightGCN,
    NegativeSampler,
    evaluate,
    group_train_epoch,
    member_matrix,
    normalized_adjacency,
    train_epoch,
    tripartite_adjacency,
)
from graphrec.model.bpr import SAMPLINGS, BPRObjective, GroupBPRObjective, make_sparse
from graphrec.model.distributed import World, local_device, world
from graphrec.model.filters import spectral_embeddings
from graphrec.progress import say

VALIDATIONS = ("auto", "holdout", "none")
INITS = ("normal", "spectral")
SCHEDULES = ("constant", "cosine")


@dataclass
class TrainConfig:
    """Hyper-parameters and run settings. Defaults are the LightGCN paper's unless noted.

    Attributes:
        embedding_dim: 64. num_layers: 3 (layer weights 1/(L+1)). lr: Adam, 0.001. reg: L2 on the
        batch's layer-0 embeddings, 1e-4. batch_size: positives per step (2048 when neither it nor
        `steps_per_epoch` is given). steps_per_epoch: instead of `batch_size`, the steps an epoch takes, each
        of ⌈E / steps_per_epoch⌉ of the E positives: the batch grows with the data. A LightGCN step
        propagates the whole graph (cost ∝ E), so with a fixed batch an epoch costs ∝ E² / batch; with fixed
        steps it costs ∝ E. epochs: 1000 at most.
        eval_every: 1 (epochs between evaluations). patience: 10 evaluations without improvement of
        `monitor` (default `recall@20`) stop the run. max_minutes: a time budget for training; the epoch
        that crosses it is evaluated and ends the run (0, the default: no budget). ks: cut-offs evaluated,
        (20,). seed: 2020.
        device: `auto` (CUDA when available, else CPU). threads: CPU threads, 0 = torch's default.
        validation: what early stopping watches: `auto` (default: the `valid` split when the data has one,
        else the `test` split, as the LightGCN paper reports on Gowalla), `holdout` (one train interaction
        per user and per group with at least two, held out with `seed`), or `none` (train `epochs` and keep
        the last). group_weight: alpha of the combined group score of `GroupLightGCN`, fixed in [0, 1];
        absent (None, the default): learned. group_loss_weight: weight of the groups' BPR term against the
        users', 1.0. The monitor may name a group metric (`group_ndcg@10`) when the run has groups.
        init: the layer-0 embeddings: `normal` (default: N(0, 0.1^2), as the official code) or `spectral`
        (`graphrec.model.filters.spectral_embeddings`: the top singular vectors of the normalised user–item
        matrix, i.e. LightGCN started from a low-pass graph filter; user–item graphs only).
        negatives: uniform negatives per positive in the BPR loss, 1 (the paper's; user–item graphs only).
        More add gathers, not propagations: 4 cost 33 % more per step on Gowalla at batch 32,768.
        lr_schedule: `constant` (default: `lr` throughout) or `cosine` (`scheduled_lr`: from `lr` down to 0
        over the run's budget, whichever of `epochs` and `max_minutes` ends first).
        sampling: how an epoch draws its positives (`graphrec.model.train_epoch`): `interaction` (default:
        each training interaction once) or `user` (the LightGCN paper's code: a user uniformly, then one of
        the user's items; user–item graphs only).
        `embedding_dim`, `num_layers`, `group_weight` and `init` are the model's (the `[model]` table); the
        rest is the `[train]` table of a run configuration.
    """

    embedding_dim: int = 64
    num_layers: int = 3
    lr: float = 0.001
    reg: float = 1e-4
    batch_size: int | None = None
    steps_per_epoch: int | None = None
    epochs: int = 1000
    eval_every: int = 1
    patience: int = 10
    monitor: str = "recall@20"
    max_minutes: float = 0.0
    ks: tuple[int, ...] = (20,)
    seed: int = 2020
    device: str = "auto"
    threads: int = 0
    validation: str = "auto"
    group_weight: float | None = None
    group_loss_weight: float = 1.0
    init: str = "normal"
    lr_schedule: str = "constant"
    negatives: int = 1
    sampling: str = "interaction"

    def __post_init__(self) -> None:
        self.ks = tuple(self.ks)
        if self.batch_size is not None and self.steps_per_epoch is not None:
            raise ValueError("give batch_size or steps_per_epoch, not both")
        for name in ("batch_size", "steps_per_epoch"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise ValueError(f"{name} must be a positive integer, not {value!r}")
        if self.steps_per_epoch is None and self.batch_size is None:
            self.batch_size = 2048
        if self.sampling not in SAMPLINGS:
            raise ValueError(f"sampling must be one of {SAMPLINGS}, not {self.sampling!r}")
        if isinstance(self.negatives, bool) or not isinstance(self.negatives, int) or self.negatives < 1:
            raise ValueError(f"negatives must be a positive integer, not {self.negatives!r}")
        if self.lr_schedule not in SCHEDULES:
            raise ValueError(f"lr_schedule must be one of {SCHEDULES}, not {self.lr_schedule!r}")
        if self.init not in INITS:
            raise ValueError(f"init must be one of {INITS}, not {self.init!r}")
        if self.validation not in VALIDATIONS:
            raise ValueError(f"validation must be one of {VALIDATIONS}, not {self.validation!r}")
        name, _, k = self.monitor.removeprefix("group_").partition("@")
        if name not in {"recall", "ndcg", "precision", "hr"} or not k.isdigit() or int(k) not in self.ks:
            raise ValueError(f"monitor {self.monitor!r} must be [group_]recall|ndcg|precision|hr@K with K in ks")

    def batch(self, positives: int) -> int:
        """Positives per step in an epoch of `positives`: `batch_size`, or ⌈positives / steps_per_epoch⌉."""
        if self.steps_per_epoch is not None:
            return max(1, -(-positives // self.steps_per_epoch))
        assert self.batch_size is not None
        return self.batch_size

    def resolved_device(self) -> torch.device:
        if self.device == "auto":
            return torch.device("cuda" if torch.cuda.is_available() else "cpu")
        return torch.device(self.device)


@dataclass
class GroupTask:
    """The group side of a run: `train` and `valid` are (2, F) [group index, item index] interactions,
    `memberships` (2, M) [user index, group index]."""

    num_groups: int
    train: Tensor
    valid: Tensor
    memberships: Tensor


@dataclass
class Embeddings:
    """Final embeddings of a trained model (float32 tensors on the CPU).

    `groups` are the groups' own final embeddings e_g, `group_vectors` the combined v_g = alpha e_g +
    (1 - alpha) mean of members' e_m (the member mean alone where `has_history` is false: groups without
    train interactions of their own), `group_weight` is alpha; all None for a user-item model.
    """

    users: Tensor
    items: Tensor
    groups: Tensor | None = None
    group_vectors: Tensor | None = None
    has_history: Tensor | None = None
    group_weight: float | None = None


@dataclass
class TrainResult:
    model: LightGCN
    best_epoch: int
    best_metrics: dict[str, float]
    history: list[dict[str, Any]]
    seconds: float
    embeddings: Embeddings


def fit(
    num_users: int,
    num_items: int,
    train: Tensor,
    valid: Tensor,
    config: TrainConfig,
    run_dir: str | Path,
    *,
    groups: GroupTask | None = None,
    resume: bool = False,
    progress: bool = True,
) -> TrainResult:
    """Train LightGCN on `train` ((2, E) user and item indices), early-stopping on `valid`; with `groups`,
    GroupLightGCN on users, items and groups, early-stopping on `valid` and `groups.valid`.

    Returns the best model (by `config.monitor`) with its epoch, metrics, history and final embeddings.
    """
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    ranks = world()
    progress = progress and ranks.is_main
    device = local_device(config.resolved_device())
    if config.threads:
        torch.set_num_threads(config.threads)
    _seed(config.seed)
    graph = _Graph(num_users, num_items, train, valid, groups, config, device)
    model = graph.model
    optimizer = make_sparse(model, config.lr) or torch.optim.Adam(model.parameters(), lr=config.lr)
    generator = torch.Generator(device=device).manual_seed(config.seed)
    history: list[dict[str, Any]] = []
    best = {"epoch": 0, "metrics": {}, "value": -1.0}
    start_epoch = 1
    checkpoint_path = run_dir / "checkpoint.pt"
    if resume:
        if not checkpoint_path.exists():
            raise FileNotFoundError(f"nothing to resume: no {checkpoint_path}")
        state = torch.load(checkpoint_path, weights_only=False, map_location=device)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        generator.set_state(state["generator"])
        torch.set_rng_state(state["torch_rng"])
        history, best, start_epoch = state["history"], state["best"], state["epoch"] + 1
    graph.objective = ranks.wrap(graph.objective, find_unused_parameters=_maybe_unused(model))

    started = time.perf_counter()
    elapsed = 0.0  # rank 0's clock at the end of the last epoch: the learning rate's and max_minutes' time
    stale = sum(1 for row in history if "metrics" in row and row["epoch"] > best["epoch"])
    for epoch in range(start_epoch, config.epochs + 1):
        tick = time.perf_counter()
        lr = scheduled_lr(config, epoch, elapsed)
        for param_group in optimizer.param_groups:
            param_group["lr"] = lr
        loss = graph.train_epoch(optimizer, config, progress, generator, ranks)
        row: dict[str, Any] = {"epoch": epoch, "loss": loss, "lr": lr, "train_seconds": time.perf_counter() - tick}
        if groups is not None:
            row["group_weight"] = model.group_weight().item()
        stop = False
        if ranks.is_main:
            out_of_time = bool(config.max_minutes) and time.perf_counter() - started > 60 * config.max_minutes
            if epoch % config.eval_every == 0 or epoch == config.epochs or out_of_time:
                row["metrics"] = graph.evaluate(config.ks)
                value = row["metrics"][config.monitor]
                if value > best["value"]:
                    best = {"epoch": epoch, "metrics": row["metrics"], "value": value}
                    torch.save(model.state_dict(), run_dir / "best.pt")
                    stale = 0
                else:
                    stale += 1
            torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                        "generator": generator.get_state(), "torch_rng": torch.get_rng_state(),
                        "history": [*history, row], "best": best, "epoch": epoch}, checkpoint_path)
            stop = stale >= config.patience or out_of_time
        history.append(row)
        if progress:
            shown = f" {config.monitor} {row['metrics'][config.monitor]:.4f}" if "metrics" in row else ""
            say(f"epoch {epoch}: loss {loss:.4f}{shown} (best {best['value']:.4f} @ {best['epoch']})")
        stop, elapsed = ranks.broadcast((stop, time.perf_counter() - started))
        if stop:
            break
    if (run_dir / "best.pt").exists():
        model.load_state_dict(torch.load(run_dir / "best.pt", map_location=device))
    result = TrainResult(model, best["epoch"], best["metrics"], history, time.perf_counter() - started,
                         graph.embeddings())
    if ranks.is_main:
        save_record(run_dir, config, result)
    return result


def _maybe_unused(model: LightGCN) -> bool:
    """Whether a step may leave a parameter without a gradient: GroupLightGCN's learned group weight, on a
    step (or a rank's share) without group triples. DDP must then look for unused parameters."""
    return "weight_logit" in model._parameters


def scheduled_lr(config: TrainConfig, epoch: int, elapsed: float) -> float:
    r"""The learning rate of `epoch` (1-based), started `elapsed` seconds into the run.

    `constant`: `config.lr`. `cosine`: :math:`\eta = \eta_0 \cdot \tfrac12 (1 + \cos \pi f)` with the
    budget's spent fraction :math:`f = \max\big(\frac{epoch - 1}{epochs}, \frac{elapsed}{60\,max\_minutes}\big)`
    (the time term only with a budget), capped at 1: the rate falls to 0 as the first budget runs out.
    """
    if config.lr_schedule == "constant":
        return config.lr
    spent = (epoch - 1) / config.epochs
    if config.max_minutes:
        spent = max(spent, elapsed / (60 * config.max_minutes))
    return config.lr * 0.5 * (1 + math.cos(math.pi * min(spent, 1.0)))


class _Graph:
    """The model, its propagation graph and its training and validation interactions, on `device`."""

    def __init__(self, num_users: int, num_items: int, train: Tensor, valid: Tensor, groups: GroupTask | None,
                 config: TrainConfig, device: torch.device) -> None:
        if groups is None and config.monitor.startswith("group_"):
            raise ValueError(f"monitor {config.monitor!r} needs groups with train interactions; the data has none")
        self.train, self.valid, self.groups = train.to(device), valid.to(device), groups
        self.sampler = NegativeSampler(self.train, num_items)
        if groups is None:
            self.model: LightGCN = LightGCN(num_users, num_items, config.embedding_dim, config.num_layers)
            self.adj = normalized_adjacency(num_users, num_items, train[0], train[1])
            if config.init == "spectral":
                with torch.no_grad():
                    self.model.embedding.weight.copy_(spectral_embeddings(
                        num_users, num_items, train[0], train[1], config.embedding_dim, seed=config.seed))
        else:
            if config.init != "normal":
                raise ValueError(f"init {config.init!r} is for user–item graphs; a graph with groups starts normal")
            if config.negatives != 1:
                raise ValueError("negatives > 1 is for user–item graphs; a graph with groups trains with one")
            if config.sampling != "interaction":
                raise ValueError(f"sampling {config.sampling!r} is for user–item graphs; a graph with groups "
                                 "samples interactions")
            self.model = GroupLightGCN(num_users, num_items, groups.num_groups, config.embedding_dim,
                                       config.num_layers, config.group_weight)
            self.adj = tripartite_adjacency(num_users, num_items, groups.num_groups, train, groups.train,
                                            groups.memberships)
            self.members = tuple(t.to(device) for t in member_matrix(groups.memberships, groups.num_groups,
                                                                     num_users))
            self.group_train, self.group_valid = groups.train.to(device), groups.valid.to(device)
            self.group_sampler = NegativeSampler(self.group_train, num_items)
            self.has_history = torch.bincount(self.group_train[0], minlength=groups.num_groups) > 0
        self.model.to(device)
        self.adj = self.adj.to(device)
        self.objective: torch.nn.Module = (BPRObjective(self.model) if groups is None
                                           else GroupBPRObjective(self.model))

    def train_epoch(self, optimizer: torch.optim.Optimizer, config: TrainConfig, progress: bool,
                    generator: torch.Generator, ranks: World) -> float:
        positives = self.train.size(1)
        if self.groups is not None and not positives:
            positives = self.group_train.size(1)  # group_train_epoch's steps: the users', else the groups'
        batch_size = config.batch(positives)
        if self.groups is None:
            return train_epoch(self.model, self.adj, self.train, self.sampler, optimizer, batch_size,
                               config.reg, progress=progress, generator=generator, negatives=config.negatives,
                               sampling=config.sampling, objective=self.objective, world=ranks)
        return group_train_epoch(self.model, self.adj, self.members, self.train, self.group_train,
                                 (self.sampler, self.group_sampler), optimizer, batch_size, config.reg,
                                 config.group_loss_weight, progress=progress, generator=generator,
                                 objective=self.objective, world=ranks)

    @torch.no_grad()
    def evaluate(self, ks: tuple[int, ...]) -> dict[str, float]:
        """Full-ranking metrics on the validation interactions (users, and groups prefixed `group_`)."""
        final = self._final()
        metrics = evaluate(final.users, final.items, self.train, self.valid, ks)
        if final.group_vectors is not None:
            found = evaluate(final.group_vectors, final.items, self.group_train, self.group_valid, ks)
            metrics |= {f"group_{name}": value for name, value in found.items()}
        return metrics

    def _final(self) -> Embeddings:
        self.model.eval()
        if self.groups is None:
            return Embeddings(*self.model.user_item_embeddings(self.adj))
        users, items, groups = self.model.split_embeddings(self.adj)
        vectors = self.model.group_vectors(groups, users, self.members, self.has_history)
        return Embeddings(users, items, groups, vectors, self.has_history, self.model.group_weight().item())

    @torch.no_grad()
    def embeddings(self) -> Embeddings:
        """The final embeddings, on the CPU."""
        final = self._final()
        return Embeddings(**{name: value.detach().cpu() if isinstance(value, Tensor) else value
                             for name, value in vars(final).items()})


def _seed(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def save_record(run_dir: Path, config: TrainConfig, result: TrainResult, **extra: Any) -> None:
    """Write `metrics.json` and `curves.png` for the run."""
    record = {"config": asdict(config), "best_epoch": result.best_epoch, "best_metrics": result.best_metrics,
              "train_seconds": result.seconds, "history": result.history, **extra}
    (run_dir / "metrics.json").write_text(json.dumps(record, indent=2))
    plot_curves(result.history, config.monitor, run_dir / "curves.png")


def plot_curves(history: list[dict[str, Any]], monitor: str, path: Path) -> None:
    """Loss per epoch (left) and the monitored metric per evaluation (right), as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
    left.plot([r["epoch"] for r in history], [r["loss"] for r in history], marker=".")
    left.set(xlabel="epoch", ylabel="BPR loss", title="training loss")
    evaluated = [r for r in history if "metrics" in r]
    right.plot([r["epoch"] for r in evaluated], [r["metrics"][monitor] for r in evaluated], marker=".", color="C1")
    right.set(xlabel="epoch", ylabel=monitor, title=f"validation {monitor}")
    for axis in (left, right):
        axis.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
